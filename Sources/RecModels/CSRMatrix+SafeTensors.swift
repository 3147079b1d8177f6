import RecData
import Tensors

/// A sparse matrix in a checkpoint: the four arrays of its CSR form under one prefix.
extension CSRMatrix {
    /// The names ``tensors(prefix:)`` saves the matrix under.
    static func keys(prefix: String) -> Set<String> {
        Set(["indptr", "indices", "values", "shape"].map { "\(prefix).\($0)" })
    }

    /// The matrix as `PREFIX.indptr` (I64), `PREFIX.indices` (I32), `PREFIX.values` (F32) and
    /// `PREFIX.shape` (I64, `[rows, columns]`), as scipy.sparse's CSR arrays are named.
    func tensors(prefix: String) -> [String: SafeTensor] {
        [
            "\(prefix).indptr": SafeTensor(rowPointers.map(Int64.init)),
            "\(prefix).indices": SafeTensor(columnIndices),
            "\(prefix).values": SafeTensor(values),
            "\(prefix).shape": SafeTensor([Int64(rows), Int64(columns)]),
        ]
    }

    /// A matrix saved as `PREFIX.indptr`, `PREFIX.indices`, `PREFIX.values`, `PREFIX.shape`, validated.
    init(loading weights: [String: SafeTensor], prefix: String) throws {
        let shape = try weights["\(prefix).shape"]?.int64s(key: "\(prefix).shape") ?? []
        let pointers = try weights["\(prefix).indptr"]?.int64s(key: "\(prefix).indptr").map(Int.init) ?? []
        let indices = try weights["\(prefix).indices"]?.int32s(key: "\(prefix).indices") ?? []
        let values = try weights["\(prefix).values"]?.floats(key: "\(prefix).values") ?? []
        guard shape.count == 2, pointers.count == Int(shape[0]) + 1, pointers.first == 0,
            pointers.last == indices.count, indices.count == values.count,
            zip(pointers, pointers.dropFirst()).allSatisfy({ $0 <= $1 }),
            indices.allSatisfy({ $0 >= 0 && Int64($0) < shape[1] })
        else {
            throw CheckpointError.mismatch(key: prefix, expected: "a valid CSR matrix", found: "inconsistent arrays")
        }
        self.init(
            rows: Int(shape[0]), columns: Int(shape[1]), rowPointers: pointers, columnIndices: indices, values: values)
    }
}

import Tensors

extension Matrix where Scalar == Float {
    /// A matrix from a saved 2-D F32 tensor with `columns` columns.
    init(loading tensor: SafeTensor?, key: String, columns: Int) throws {
        guard let tensor, tensor.shape.count == 2, tensor.shape[1] == columns else {
            throw CheckpointError.mismatch(
                key: key, expected: "(rows, \(columns))", found: "\(tensor?.shape.description ?? "nothing")")
        }
        self.init(rows: tensor.shape[0], columns: columns, storage: try tensor.floats(key: key))
    }
}

import RecData
import Tensors

/// Embarrassingly Shallow Autoencoder (Steck 2019): an item–item weight matrix `B` with a zero
/// diagonal, in closed form, `P = (XᵀX + λI)⁻¹`, `B_ij = -P_ij / P_jj` for `i ≠ j`.
///
/// A user's score is `x · B`, the history vector times `B`. The inverse runs in Float64 through
/// LAPACK (Cholesky); `B` is kept in Float32.
///
/// Parameters:
/// - `lambda` (default 250, RecBole's `reg_weight`): L2 regularization on `B`. Larger values
///   favour popular items less sharply; Steck reports 200–1000 for MovieLens-sized data.
///
/// - Complexity: fit O(Σ_u n_u² + I³) time and O(I²) memory; scoring O(|history| · I).
public struct EASE: Recommender {
    public static let kind = ModelKind.ease
    public let lambda: Double
    /// `B`, `(items, items)`.
    public private(set) var itemWeights = Matrix<Float>(rows: 0, columns: 0)

    public init(parameters: [String: String] = [:]) throws {
        var reader = ParameterReader(model: Self.kind, parameters)
        lambda = try reader.double("lambda", default: 250, in: 1e-9...1e12)
        try reader.finish()
    }

    public var parameters: [String: String] { ["lambda": String(lambda)] }
    public var itemCount: Int { itemWeights.rows }

    public mutating func fit(_ data: TrainingData, progress: ProgressHandler? = nil) throws {
        let items = data.itemCount
        guard items > 0 else { throw ModelError.unsuitableData("ease needs at least one item") }
        try MemoryGuard.check(
            MemoryGuard.matrixBytes(items, items, scalarBytes: 12), model: "ease",
            what: "its \(items) × \(items) item matrices (the Gram matrix in Float64, the weights in Float32)",
            control: data.control)
        var gram = Matrix<Double>(rows: items, columns: items)
        gram.storage.withUnsafeMutableBufferPointer { gram in
            Cooccurrence.forEachRow(of: data.matrix) { i, row, _ in
                for j in 0..<items { gram[i * items + j] = Double(row[j]) }
            }
        }
        for i in 0..<items { gram[i, i] += lambda }
        progress?("ease: inverting", 1, 2)
        try LAPACK.invertSymmetricPositiveDefinite(&gram)
        var weights = Matrix<Float>(rows: items, columns: items)
        for i in 0..<items {
            for j in 0..<items where i != j {
                weights.storage[i * items + j] = Float(-gram.storage[i * items + j] / gram.storage[j * items + j])
            }
        }
        guard weights.storage.allSatisfy(\.isFinite) else { throw ModelError.nonFinite("in B") }
        progress?("ease: inverting", 2, 2)
        itemWeights = weights
    }

    public func score(_ context: ScoringContext, into scores: inout [Float]) throws {
        let items = itemCount
        guard items > 0 else { throw ModelError.notFitted }
        if scores.count != items { scores = [Float](repeating: 0, count: items) }
        let history = try context.historyCounts(items: items)
        itemWeights.storage.withUnsafeBufferPointer { b in
            scores.withUnsafeMutableBufferPointer { s in
                guard let weights = b.baseAddress, let out = s.baseAddress else { return }
                out.update(repeating: 0, count: items)
                for (item, count) in history {
                    FactorKernels.axpy(count, weights + Int(item) * items, out, items)
                }
            }
        }
    }

    /// Dense `X_batch · B` through one GEMM.
    public func scoreBatch(_ contexts: [ScoringContext]) throws -> Matrix<Float> {
        let items = itemCount
        guard items > 0 else { throw ModelError.notFitted }
        var histories = Matrix<Float>(rows: contexts.count, columns: items)
        for (r, context) in contexts.enumerated() {
            for (item, count) in try context.historyCounts(items: items) { histories[r, Int(item)] += count }
        }
        return BLAS.matmul(histories, itemWeights)
    }

    public func similarItems(to item: Int32, count: Int) throws -> [ScoredItem] {
        guard itemCount > 0 else { throw ModelError.notFitted }
        guard item >= 0 && Int(item) < itemCount else { throw ModelError.unknownItem(item) }
        return TopK.select(count, from: Array(itemWeights.row(Int(item)))) { $0 != item }
    }

    public func explain(_ context: ScoringContext, item: Int32, count: Int) throws -> [Contribution] {
        guard itemCount > 0 else { throw ModelError.notFitted }
        guard item >= 0 && Int(item) < itemCount else { throw ModelError.unknownItem(item) }
        let contributions = try context.historyCounts(items: itemCount).map {
            Contribution(item: $0.item, weight: $0.count * itemWeights[Int($0.item), Int(item)])
        }
        return Array(contributions.filter { $0.weight != 0 }.sorted { $0.weight > $1.weight }.prefix(count))
    }

    public func weights() throws -> [String: SafeTensor] {
        guard itemCount > 0 else { throw ModelError.notFitted }
        return ["B": SafeTensor(itemWeights.storage, shape: [itemCount, itemCount])]
    }

    public mutating func load(weights: [String: SafeTensor]) throws {
        try SafeTensors.requireExactKeys(weights, expected: ["B"])
        guard let b = weights["B"], b.shape.count == 2, b.shape[0] == b.shape[1] else {
            throw CheckpointError.mismatch(key: "B", expected: "a square matrix", found: "\(weights["B"]?.shape ?? [])")
        }
        itemWeights = Matrix(rows: b.shape[0], columns: b.shape[1], storage: try b.floats(key: "B"))
    }
}

import RecData
import Tensors

/// A model that scores by a dot product: a user vector (stored or folded in) against one row
/// per item. ALS, BPR and the hybrid share their scoring through it.
protocol FactorScoring: Recommender {
    /// One row per item, as wide as ``userVector(_:)``'s result.
    var scoringItems: Matrix<Float> { get }
    /// The vector of the context's user: their stored factor, or one folded in from the history.
    func userVector(_ context: ScoringContext) throws -> [Float]
}

extension FactorScoring {
    public func score(_ context: ScoringContext, into scores: inout [Float]) throws {
        let items = scoringItems
        guard items.rows > 0 else { throw ModelError.notFitted }
        let user = try userVector(context)
        precondition(user.count == items.columns, "factor scoring: user vector \(user.count), items \(items.columns)")
        if scores.count != items.rows { scores = [Float](repeating: 0, count: items.rows) }
        user.withUnsafeBufferPointer { u in
            items.storage.withUnsafeBufferPointer { y in
                guard let u = u.baseAddress, let y = y.baseAddress else { return }
                for i in 0..<items.rows { scores[i] = FactorKernels.dot(u, y + i * items.columns, items.columns) }
            }
        }
    }

    /// The contexts' user vectors times the item rows, in one GEMM.
    public func scoreBatch(_ contexts: [ScoringContext]) throws -> Matrix<Float> {
        let items = scoringItems
        guard items.rows > 0 else { throw ModelError.notFitted }
        var users = Matrix<Float>(rows: contexts.count, columns: items.columns)
        for (r, context) in contexts.enumerated() {
            let vector = try userVector(context)
            for k in 0..<items.columns { users[r, k] = vector[k] }
        }
        return BLAS.matmul(users, items, transposeB: true)
    }
}

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
        checkArgument(user.count == items.columns, "factor scoring: user vector \(user.count), items \(items.columns)")
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
        let users = try FactorState.rows(contexts, columns: items.columns, vector: userVector)
        return BLAS.matmul(users, items, transposeB: true)
    }
}

/// The saved state of a matrix-factorization model (ALS, BPR): `user_factors`, `item_factors`
/// and `trained_users` (1 for users with training events), loaded strictly.
enum FactorState {
    /// One row per context, `vector(context)` (of `columns` values) each: the user vectors that
    /// factor-style models score, as a matrix.
    static func rows(
        _ contexts: [ScoringContext], columns: Int, vector: (ScoringContext) throws -> [Float]
    ) throws -> Matrix<Float> {
        var rows = Matrix<Float>(rows: contexts.count, columns: columns)
        for (r, context) in contexts.enumerated() {
            let values = try vector(context)
            for k in 0..<columns { rows[r, k] = values[k] }
        }
        return rows
    }

    static func weights(users: Matrix<Float>, trainedUsers: [Bool], items: Matrix<Float>) -> [String: SafeTensor] {
        [
            "user_factors": SafeTensor(users.storage, shape: [users.rows, users.columns]),
            "trained_users": SafeTensor(trainedUsers.map { Int32($0 ? 1 : 0) }),
            "item_factors": SafeTensor(items.storage, shape: [items.rows, items.columns]),
        ]
    }

    /// The three tensors, checked: exact keys, `columns` wide, one flag per user.
    static func load(
        _ weights: [String: SafeTensor], columns: Int
    ) throws -> (users: Matrix<Float>, trainedUsers: [Bool], items: Matrix<Float>) {
        try SafeTensors.requireExactKeys(weights, expected: ["user_factors", "item_factors", "trained_users"])
        let trained = try (weights["trained_users"]?.int32s(key: "trained_users") ?? []).map { $0 != 0 }
        let users = try Matrix(loading: weights["user_factors"], key: "user_factors", columns: columns)
        guard trained.count == users.rows else {
            throw CheckpointError.mismatch(
                key: "trained_users", expected: "\(users.rows) users", found: "\(trained.count)")
        }
        let items = try Matrix(loading: weights["item_factors"], key: "item_factors", columns: columns)
        return (users, trained, items)
    }

    /// Items whose rows of `items` have the highest cosine similarity with `item`'s.
    static func similarItems(to item: Int32, count: Int, in items: Matrix<Float>) throws -> [ScoredItem] {
        guard items.rows > 0 else { throw ModelError.notFitted }
        guard item >= 0 && Int(item) < items.rows else { throw ModelError.unknownItem(item) }
        return TopK.select(count, from: items.cosineSimilarities(to: Int(item))) { $0 != item }
    }
}

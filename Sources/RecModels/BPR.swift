import Foundation
import RecData
import Tensors

/// Bayesian personalized ranking matrix factorization (Rendle et al. 2009), trained by SGD on
/// (user, liked item, uniformly drawn item) triples, as implicit's `BayesianPersonalizedRanking`.
///
/// Each step raises `σ(x_uᵀ(y_i − y_j))` for a liked `i` and a sampled `j` the user has not
/// liked; `j` is drawn uniformly from the catalogue, or in proportion to popularity (one draw of
/// a random training pair's item, implicit 0.7's sampler) with `negatives=popularity`. Item factors carry one extra column, a bias, matched by a constant 1 in every user
/// factor. Each epoch draws as many triples as there are training pairs; threads update the
/// factors without locks (Hogwild), so only a one-thread run repeats exactly for a seed.
///
/// Parameters:
/// - `factors` (default 64): latent dimensions (plus the bias column).
/// - `learning_rate` (default 0.01), `regularization` (default 0.01): SGD step and L2 weight.
/// - `iterations` (default 100): epochs.
/// - `seed` (default 2020): initial factors and sampling.
/// - `negatives` (default `uniform`): `uniform` or `popularity`.
///
/// A user the model never saw is folded in by the same SGD on their factor alone, item factors fixed.
public struct BPR: Recommender, FactorScoring {
    public static let kind = ModelKind.bpr
    public let factors: Int
    public let learningRate: Float
    public let regularization: Float
    public let iterations: Int
    public let seed: UInt64
    /// Draw negatives by popularity instead of uniformly.
    public let popularityNegatives: Bool
    /// `(users, factors + 1)`; the last column is 1.
    public private(set) var userFactors = Matrix<Float>(rows: 0, columns: 0)
    /// `(items, factors + 1)`; the last column is the item bias.
    public private(set) var itemFactors = Matrix<Float>(rows: 0, columns: 0)
    /// Whether each user had training events; the others are folded in from their history.
    private var trainedUsers: [Bool] = []

    public init(parameters: [String: String] = [:]) throws {
        var reader = ParameterReader(model: Self.kind, parameters)
        factors = try reader.int("factors", default: 64, in: 1...4096)
        learningRate = Float(try reader.double("learning_rate", default: 0.01, in: 1e-9...100))
        regularization = Float(try reader.double("regularization", default: 0.01, in: 0...1e6))
        iterations = try reader.int("iterations", default: 100, in: 1...100_000)
        seed = try reader.uint64("seed", default: 2020)
        popularityNegatives =
            try reader.choice("negatives", default: "uniform", in: ["uniform", "popularity"]) == "popularity"
        try reader.finish()
    }

    public var parameters: [String: String] {
        [
            "factors": String(factors), "learning_rate": String(learningRate),
            "regularization": String(regularization), "iterations": String(iterations), "seed": String(seed),
            "negatives": popularityNegatives ? "popularity" : "uniform",
        ]
    }

    public var itemCount: Int { itemFactors.rows }
    var scoringItems: Matrix<Float> { itemFactors }
    private var width: Int { factors + 1 }

    public mutating func fit(_ data: TrainingData, progress: ProgressHandler? = nil) throws {
        let matrix = data.matrix
        guard matrix.nonzeroCount > 0, data.itemCount > 1 else {
            throw ModelError.unsuitableData("bpr needs interactions")
        }
        let width = self.width
        var generator = SeededGenerator(seed: seed)
        var users = Matrix<Float>(rows: data.userCount, columns: width)
        var items = Matrix<Float>(rows: data.itemCount, columns: width)
        for k in users.storage.indices { users.storage[k] = Float((generator.nextUnit() - 0.5) / Double(factors)) }
        for k in items.storage.indices { items.storage[k] = Float((generator.nextUnit() - 0.5) / Double(factors)) }
        for u in 0..<users.rows { users[u, factors] = 1 }
        // A warm start continues from the previous model's factors (and item biases), for fewer epochs.
        var iterations = iterations
        if let warm = data.warmStart, let previous = warm.factors(columns: width) {
            WarmStart.copyRows(previous.users, warm.userIDs, into: &users, data.log.userIDs)
            WarmStart.copyRows(previous.items, warm.itemIDs, into: &items, data.log.itemIDs)
            iterations = warm.iterations
        }
        // Rows of the matrix are sorted so that "has the user liked j" is a binary search.
        let sorted = matrix.sortedRows()
        var owners = [Int32](repeating: 0, count: sorted.nonzeroCount)
        for u in 0..<sorted.rows { for k in sorted.rowPointers[u]..<sorted.rowPointers[u + 1] { owners[k] = Int32(u) } }
        let chunks = Parallel.threadCount
        let identity = FactorCheckpoint.Identity(model: Self.kind, parameters: parameters, data: data)
        let start = try FactorCheckpoint.resume(identity, data: data, epochs: iterations, users: &users, items: &items)
        for epoch in start..<iterations {
            users.storage.withUnsafeMutableBufferPointer { us in
                items.storage.withUnsafeMutableBufferPointer { its in
                    guard let ub = us.baseAddress, let ib = its.baseAddress else { return }
                    Parallel.forEachChunk(of: 0..<chunks) { range in
                        for chunk in range {
                            var rng = SeededGenerator(seed: mixHash(mixHash(seed, UInt64(epoch)), UInt64(chunk)))
                            let samples = sorted.nonzeroCount / chunks + (chunk < sorted.nonzeroCount % chunks ? 1 : 0)
                            Self.sgd(
                                samples: samples, matrix: sorted, owners: owners, users: ub, items: ib, width: width,
                                learningRate: learningRate, regularization: regularization,
                                popularityNegatives: popularityNegatives, rng: &rng)
                        }
                    }
                }
            }
            guard users.storage.allSatisfy(\.isFinite), items.storage.allSatisfy(\.isFinite) else {
                throw ModelError.nonFinite("in the factors after epoch \(epoch + 1)")
            }
            try FactorCheckpoint.save(identity, data: data, epoch: epoch + 1, users: users, items: items)
            progress?("bpr", epoch + 1, iterations)
        }
        userFactors = users
        itemFactors = items
        trainedUsers = (0..<data.matrix.rows).map { data.matrix.rowPointers[$0 + 1] > data.matrix.rowPointers[$0] }
    }

    /// `samples` SGD steps on random (user, liked, not liked) triples; the user's bias column
    /// stays 1.
    static func sgd(
        samples: Int, matrix: CSRMatrix, owners: [Int32], users: UnsafeMutablePointer<Float>,
        items: UnsafeMutablePointer<Float>, width: Int, learningRate: Float, regularization: Float,
        popularityNegatives: Bool, rng: inout SeededGenerator
    ) {
        let itemTotal = matrix.columns
        let nonzero = matrix.nonzeroCount
        let factors = width - 1
        for _ in 0..<samples {
            let liked = rng.nextInt(below: nonzero)
            let u = Int(owners[liked])
            let i = Int(matrix.columnIndices[liked])
            let j =
                popularityNegatives
                ? Int(matrix.columnIndices[rng.nextInt(below: nonzero)]) : rng.nextInt(below: itemTotal)
            if matrix.rowContains(u, Int32(j)) { continue }
            let pu = users + u * width
            let qi = items + i * width
            let qj = items + j * width
            let x = FactorKernels.dot(pu, qi, width) - FactorKernels.dot(pu, qj, width)
            let z = 1 / (1 + exp(x))  // σ(−x): the gradient weight of log σ(x)
            for k in 0..<factors {
                let user = pu[k]
                let item = qi[k]
                let other = qj[k]
                pu[k] += learningRate * (z * (item - other) - regularization * user)
                qi[k] += learningRate * (z * user - regularization * item)
                qj[k] += learningRate * (-z * user - regularization * other)
            }
            qi[factors] += learningRate * (z - regularization * qi[factors])
            qj[factors] += learningRate * (-z - regularization * qj[factors])
        }
    }

    /// A factor for an unseen user: `epochs` SGD passes over their items with item factors fixed,
    /// seeded by the history so repeated calls agree.
    func foldIn(_ history: [(item: Int32, count: Float)], epochs: Int = 30) -> [Float] {
        var user = [Float](repeating: 0, count: width)
        user[factors] = 1
        guard !history.isEmpty else { return user }
        let liked = Set(history.map(\.item))
        var rng = SeededGenerator(seed: history.reduce(seed) { mixHash($0, UInt64(UInt32(bitPattern: $1.item))) })
        itemFactors.storage.withUnsafeBufferPointer { items in
            user.withUnsafeMutableBufferPointer { pu in
                guard let items = items.baseAddress, let pu = pu.baseAddress else { return }
                for _ in 0..<epochs {
                    for _ in history {
                        let i = Int(history[rng.nextInt(below: history.count)].item)
                        let j = rng.nextInt(below: itemCount)
                        if liked.contains(Int32(j)) { continue }
                        let qi = items + i * width
                        let qj = items + j * width
                        let z = 1 / (1 + exp(FactorKernels.dot(pu, qi, width) - FactorKernels.dot(pu, qj, width)))
                        for k in 0..<factors {
                            pu[k] += learningRate * 10 * (z * (qi[k] - qj[k]) - regularization * pu[k])
                        }
                    }
                }
            }
        }
        return user
    }

    func userVector(_ context: ScoringContext) throws -> [Float] {
        if let user = context.user, Int(user) < userFactors.rows, trainedUsers[Int(user)] {
            return Array(userFactors.row(Int(user)))
        }
        return foldIn(try context.historyCounts(items: itemCount))
    }

    public func similarItems(to item: Int32, count: Int) throws -> [ScoredItem] {
        try FactorState.similarItems(to: item, count: count, in: itemFactors)
    }

    /// The score `x_uᵀ y_i` has no per-item decomposition; the reasons are the history items whose
    /// factors point most in the direction of `y_i` (cosine), weighted by that similarity.
    public func explain(_ context: ScoringContext, item: Int32, count: Int) throws -> [Contribution] {
        guard itemCount > 0 else { throw ModelError.notFitted }
        guard item >= 0 && Int(item) < itemCount else { throw ModelError.unknownItem(item) }
        let similarity = itemFactors.cosineSimilarities(to: Int(item))
        return try Contribution.bySimilarity(of: context, items: itemCount, similarity: similarity, count: count)
    }

    public func weights() throws -> [String: SafeTensor] {
        guard itemCount > 0 else { throw ModelError.notFitted }
        return FactorState.weights(users: userFactors, trainedUsers: trainedUsers, items: itemFactors)
    }

    public mutating func load(weights: [String: SafeTensor]) throws {
        (userFactors, trainedUsers, itemFactors) = try FactorState.load(weights, columns: width)
    }
}

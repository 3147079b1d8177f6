import Foundation
import RecData
import Tensors

/// A LightFM-style hybrid factorization (Kula 2015): a user's representation is the mean of the
/// embeddings of their features — their own id plus attributes such as age, gender, occupation —
/// and an item's is the mean over its id, genres, decade and title words; the score is their dot
/// product plus the item's bias (the mean of its features' biases).
///
/// Trained by SGD with Adagrad on (user, liked item, sampled item) triples, with the BPR loss
/// `−ln σ(s_ui − s_uj)` or the WARP loss (Weston et al. 2011: sample until an item violates the
/// margin, weight by the log of the implied rank). A user or item without training events is
/// represented by its features alone; an unseen user with some events also gets a vector fitted
/// to those events with everything else fixed (fold-in).
///
/// Parameters:
/// - `factors` (default 64), `epochs` (default 10), `learning_rate` (default 0.05, Adagrad).
/// - `loss` (default `warp`): `warp` or `bpr`.
/// - `regularization` (default 1e-6): L2 weight on the rows a step touches.
/// - `max_sampled` (default 10): WARP's negative draws per positive.
/// - `seed` (default 2020).
/// - `onboarding` (default 0): a user's first `n` distinct items, oldest first, become features of
///   the user (`first:<item>`, one embedding per item, apart from the item's own), and training
///   predicts the user's later events from them. A new user is then served from their first `n`
///   events as well as their attributes. The first events of a sign-up differ from the rest (on
///   ml-100k mostly that season's releases), so what they predict has to be learned from other
///   users' sign-ups, not from co-occurrence over whole histories.
/// - `fold_in_epochs` (default 10), `fold_in_rate` (default 0.03): the SGD that fits an unseen
///   user's offset to their events; more of either overfits a handful of events (measured on
///   ml-100k `cold-user`: 40 epochs at 0.1 fell below the features-only score).
public struct Hybrid: Recommender, FactorScoring {
    public static let kind = ModelKind.hybrid
    public let factors: Int
    public let epochs: Int
    public let learningRate: Float
    public let warp: Bool
    public let regularization: Float
    public let maxSampled: Int
    public let seed: UInt64
    public let foldInEpochs: Int
    public let foldInRate: Float
    public let onboarding: Int

    /// Feature rows of every user and item: `(users, userTokens)` and `(items, itemTokens)`, each
    /// row's weights summing to 1. A trained user's row includes their id token.
    private var userFeatures = CSRMatrix(rows: 0, columns: 0, rowPointers: [0], columnIndices: [], values: [])
    private var itemFeatures = CSRMatrix(rows: 0, columns: 0, rowPointers: [0], columnIndices: [], values: [])
    /// Embeddings per token, `(tokens, factors)`, and item biases per item token.
    private var userEmbeddings = Matrix<Float>(rows: 0, columns: 0)
    private(set) var itemEmbeddings = Matrix<Float>(rows: 0, columns: 0)
    private(set) var itemBiases: [Float] = []
    /// Representations of every item, `(items, factors + 1)` with the bias last, cached after fitting.
    private(set) var itemVectors = Matrix<Float>(rows: 0, columns: 0)
    /// Whether each user had training events.
    private var trainedUsers: [Bool] = []
    /// Per item, the user-feature token `first:<item>`, or −1 where no user began with the item.
    private var onboardingTokens: [Int32] = []
    /// The names of the attribute tokens, in token order after the identity tokens (a warm start
    /// matches them by name).
    private(set) var userTokenNames: [String] = []
    private(set) var itemTokenNames: [String] = []

    public init(parameters: [String: String] = [:]) throws {
        var reader = ParameterReader(model: Self.kind, parameters)
        factors = try reader.int("factors", default: 64, in: 1...4096)
        epochs = try reader.int("epochs", default: 10, in: 1...100_000)
        learningRate = Float(try reader.double("learning_rate", default: 0.05, in: 1e-9...100))
        warp = try reader.choice("loss", default: "warp", in: ["warp", "bpr"]) == "warp"
        regularization = Float(try reader.double("regularization", default: 1e-6, in: 0...1e6))
        maxSampled = try reader.int("max_sampled", default: 10, in: 1...100_000)
        seed = try reader.uint64("seed", default: 2020)
        foldInEpochs = try reader.int("fold_in_epochs", default: 10, in: 0...100_000)
        foldInRate = Float(try reader.double("fold_in_rate", default: 0.03, in: 0...100))
        onboarding = try reader.int("onboarding", default: 0, in: 0...10_000)
        try reader.finish()
    }

    public var parameters: [String: String] {
        [
            "fold_in_epochs": String(foldInEpochs), "fold_in_rate": String(foldInRate),
            "factors": String(factors), "epochs": String(epochs), "learning_rate": String(learningRate),
            "loss": warp ? "warp" : "bpr", "regularization": String(regularization),
            "max_sampled": String(maxSampled), "seed": String(seed), "onboarding": String(onboarding),
        ]
    }

    public var itemCount: Int { itemVectors.rows }
    var scoringItems: Matrix<Float> { itemVectors }

    /// A row-normalized feature matrix: `identity` tokens for rows that get one, then the tokens of
    /// `table` and `extra`; with the vocabulary of the named tokens.
    static func featureMatrix(
        rows: Int, identity: [Bool], table: FeatureTable?, extra: [[String]] = []
    ) -> (matrix: CSRMatrix, vocabulary: [String: Int32]) {
        var attributeTokens = table.map { FeatureTokens.tokens(of: $0) } ?? [[String]](repeating: [], count: rows)
        for (row, tokens) in extra.enumerated() { attributeTokens[row] += tokens }
        var vocabulary: [String: Int32] = [:]
        var next = Int32(rows)  // ids 0..<rows are the identity tokens
        var pointers = [0]
        var columns: [Int32] = []
        var values: [Float] = []
        for r in 0..<rows {
            var tokens: [Int32] = identity[r] ? [Int32(r)] : []
            for token in Set(attributeTokens[r]).sorted() {
                if let id = vocabulary[token] {
                    tokens.append(id)
                } else {
                    vocabulary[token] = next
                    tokens.append(next)
                    next += 1
                }
            }
            let weight = tokens.isEmpty ? 0 : 1 / Float(tokens.count)
            columns += tokens
            values += [Float](repeating: weight, count: tokens.count)
            pointers.append(columns.count)
        }
        let matrix = CSRMatrix(
            rows: rows, columns: Int(next), rowPointers: pointers, columnIndices: columns, values: values)
        return (matrix, vocabulary)
    }

    /// Each user's first `onboarding` distinct items, oldest first, for the users with more than
    /// that many (the others keep every event as a training target and get no such features).
    func onboardingItems(_ log: InteractionLog) -> [[Int32]] {
        var result = [[Int32]](repeating: [], count: log.userCount)
        guard onboarding > 0 else { return result }
        for (user, events) in log.chronologicalEventsByUser().enumerated() {
            var distinct: [Int32] = []
            var seen = Set<Int32>()
            for event in events where seen.insert(log.items[event]).inserted { distinct.append(log.items[event]) }
            if distinct.count > onboarding { result[user] = Array(distinct.prefix(onboarding)) }
        }
        return result
    }

    public mutating func fit(_ data: TrainingData, progress: ProgressHandler? = nil) throws {
        let matrix = data.matrix.sortedRows()
        guard matrix.nonzeroCount > 0, data.itemCount > 1 else {
            throw ModelError.unsuitableData("hybrid needs interactions")
        }
        let userCounts = (0..<matrix.rows).map { matrix.rowPointers[$0 + 1] - matrix.rowPointers[$0] }
        var itemTrained = [Bool](repeating: false, count: data.itemCount)
        for c in matrix.columnIndices { itemTrained[Int(c)] = true }
        trainedUsers = userCounts.map { $0 > 0 }
        let firstItems = onboardingItems(data.log)
        let users = Self.featureMatrix(
            rows: data.userCount, identity: trainedUsers, table: data.userFeatures,
            extra: firstItems.map { $0.map { "first:\($0)" } })
        userFeatures = users.matrix
        onboardingTokens = onboarding > 0 ? (0..<data.itemCount).map { users.vocabulary["first:\($0)"] ?? -1 } : []
        let items = Self.featureMatrix(rows: data.itemCount, identity: itemTrained, table: data.itemFeatures)
        itemFeatures = items.matrix
        userTokenNames = Self.names(users.vocabulary, after: data.userCount)
        itemTokenNames = Self.names(items.vocabulary, after: data.itemCount)
        var generator = SeededGenerator(seed: seed)
        var state = TrainingState(
            factors: factors, userTokens: userFeatures.columns, itemTokens: itemFeatures.columns, generator: &generator)
        // A warm start continues from the previous model's embeddings, for its own number of epochs.
        var epochs = epochs
        if let warm = data.warmStart, start(&state, from: warm, log: data.log) { epochs = warm.iterations }
        var pairs: [(Int32, Int32)] = []
        for u in 0..<matrix.rows {
            let features = Set(firstItems[u])  // features of the user, not targets
            for k in matrix.rowPointers[u]..<matrix.rowPointers[u + 1] where !features.contains(matrix.columnIndices[k])
            {
                pairs.append((Int32(u), matrix.columnIndices[k]))
            }
        }
        for epoch in 0..<epochs {
            generator.shuffle(&pairs)
            for (u, i) in pairs {
                state.step(
                    user: Int(u), liked: Int(i), matrix: matrix, userFeatures: userFeatures, itemFeatures: itemFeatures,
                    model: self, generator: &generator)
            }
            guard state.userEmbeddings.storage.allSatisfy(\.isFinite),
                state.itemEmbeddings.storage.allSatisfy(\.isFinite)
            else { throw ModelError.nonFinite("in the embeddings after epoch \(epoch + 1)") }
            progress?("hybrid", epoch + 1, epochs)
        }
        userEmbeddings = state.userEmbeddings
        itemEmbeddings = state.itemEmbeddings
        itemBiases = state.itemBiases
        cacheItemVectors()
    }

    private mutating func cacheItemVectors() {
        var vectors = Matrix<Float>(rows: itemFeatures.rows, columns: factors + 1)
        for i in 0..<itemFeatures.rows {
            let (vector, bias) = Self.represent(
                i, features: itemFeatures, embeddings: itemEmbeddings, biases: itemBiases)
            for k in 0..<factors { vectors[i, k] = vector[k] }
            vectors[i, factors] = bias
        }
        itemVectors = vectors
    }

    /// `Σ_f w_f E[f]` (and `Σ_f w_f b_f`) over the features of row `r`.
    static func represent(
        _ r: Int, features: CSRMatrix, embeddings: Matrix<Float>, biases: [Float]?
    ) -> (vector: [Float], bias: Float) {
        var vector = [Float](repeating: 0, count: embeddings.columns)
        var bias: Float = 0
        for k in features.rowPointers[r]..<features.rowPointers[r + 1] {
            let token = Int(features.columnIndices[k])
            let weight = features.values[k]
            for d in 0..<embeddings.columns { vector[d] += weight * embeddings.storage[token * embeddings.columns + d] }
            if let biases { bias += weight * biases[token] }
        }
        return (vector, bias)
    }

    /// The user's vector: features (with the id for trained users), plus a fold-in vector fitted
    /// to the history when the user had no training events.
    func userVector(_ context: ScoringContext) throws -> [Float] {
        if let user = context.user, Int(user) < userFeatures.rows, trainedUsers[Int(user)] {
            return Self.represent(Int(user), features: userFeatures, embeddings: userEmbeddings, biases: nil).vector
                + [1]
        }
        let history = try context.historyCounts(items: itemCount)
        var vector = newUserVector(user: context.user, firstItems: history.prefix(onboarding).map(\.item))
        if !history.isEmpty { foldIn(&vector, history: history) }
        return vector + [1]
    }

    /// The mean embedding of a new user's attributes (if the user is known) and of the onboarding
    /// tokens of their first items; without onboarding tokens, the user's feature row as
    /// `represent` reads it.
    func newUserVector(user: Int32?, firstItems: [Int32]) -> [Float] {
        var tokens: [Int] = []
        if let user, Int(user) < userFeatures.rows {
            tokens += (userFeatures.rowPointers[Int(user)]..<userFeatures.rowPointers[Int(user) + 1]).map {
                Int(userFeatures.columnIndices[$0])
            }
        }
        tokens += firstItems.map { Int(onboardingTokens[Int($0)]) }.filter { $0 >= 0 }
        var vector = [Float](repeating: 0, count: factors)
        guard !tokens.isEmpty else { return vector }
        let weight = 1 / Float(tokens.count)
        for token in tokens {
            for d in 0..<factors { vector[d] += weight * userEmbeddings.storage[token * factors + d] }
        }
        return vector
    }

    /// BPR steps on a free offset added to `vector`, item representations fixed.
    func foldIn(_ vector: inout [Float], history: [(item: Int32, count: Float)]) {
        let epochs = foldInEpochs
        let rate = foldInRate
        let liked = Set(history.map(\.item))
        var rng = SeededGenerator(seed: history.reduce(seed) { mixHash($0, UInt64(UInt32(bitPattern: $1.item))) })
        let width = factors + 1
        itemVectors.storage.withUnsafeBufferPointer { items in
            guard let items = items.baseAddress else { return }
            for _ in 0..<epochs {
                for _ in history {
                    let i = Int(history[rng.nextInt(below: history.count)].item)
                    let j = rng.nextInt(below: itemCount)
                    if liked.contains(Int32(j)) { continue }
                    var x: Float = items[i * width + factors] - items[j * width + factors]
                    for k in 0..<factors { x += vector[k] * (items[i * width + k] - items[j * width + k]) }
                    let z = 1 / (1 + exp(x))
                    for k in 0..<factors {
                        vector[k] += rate * (z * (items[i * width + k] - items[j * width + k]) - 0.01 * vector[k])
                    }
                }
            }
        }
    }

    public func similarItems(to item: Int32, count: Int) throws -> [ScoredItem] {
        guard itemCount > 0 else { throw ModelError.notFitted }
        guard item >= 0 && Int(item) < itemCount else { throw ModelError.unknownItem(item) }
        var vectors = itemVectors
        for i in 0..<itemCount { vectors[i, factors] = 0 }  // compare directions, not biases
        return TopK.select(count, from: vectors.cosineSimilarities(to: Int(item))) { $0 != item }
    }

    /// History items whose representations point most in the direction of the item's.
    public func explain(_ context: ScoringContext, item: Int32, count: Int) throws -> [Contribution] {
        let similar = try similarItems(to: item, count: itemCount)
        var similarity = [Float](repeating: 0, count: itemCount)
        for entry in similar { similarity[Int(entry.item)] = entry.score }
        return try Contribution.bySimilarity(of: context, items: itemCount, similarity: similarity, count: count)
    }

    public func weights() throws -> [String: SafeTensor] {
        guard itemCount > 0 else { throw ModelError.notFitted }
        var result: [String: SafeTensor] = [
            "user_embeddings": SafeTensor(userEmbeddings.storage, shape: [userEmbeddings.rows, factors]),
            "item_embeddings": SafeTensor(itemEmbeddings.storage, shape: [itemEmbeddings.rows, factors]),
            "item_biases": SafeTensor(itemBiases),
            "trained_users": SafeTensor(trainedUsers.map { Int32($0 ? 1 : 0) }),
        ]
        if onboarding > 0 { result["onboarding_tokens"] = SafeTensor(onboardingTokens) }
        result["user_tokens"] = SafeTensor(strings: userTokenNames)
        result["item_tokens"] = SafeTensor(strings: itemTokenNames)
        for (prefix, matrix) in [("user_features", userFeatures), ("item_features", itemFeatures)] {
            result.merge(matrix.tensors(prefix: prefix)) { _, new in new }
        }
        return result
    }

    public mutating func load(weights: [String: SafeTensor]) throws {
        var keys: Set<String> = ["user_embeddings", "item_embeddings", "item_biases", "trained_users"]
        if onboarding > 0 { keys.insert("onboarding_tokens") }
        // Token names were added later: a model saved without them loads, and warm-starts by id only.
        for key in ["user_tokens", "item_tokens"] where weights[key] != nil { keys.insert(key) }
        for prefix in ["user_features", "item_features"] { keys.formUnion(CSRMatrix.keys(prefix: prefix)) }
        try SafeTensors.requireExactKeys(weights, expected: keys)
        userFeatures = try CSRMatrix(loading: weights, prefix: "user_features")
        itemFeatures = try CSRMatrix(loading: weights, prefix: "item_features")
        userEmbeddings = try Matrix(loading: weights["user_embeddings"], key: "user_embeddings", columns: factors)
        itemEmbeddings = try Matrix(loading: weights["item_embeddings"], key: "item_embeddings", columns: factors)
        itemBiases = try weights["item_biases"]?.floats(key: "item_biases") ?? []
        trainedUsers = try (weights["trained_users"]?.int32s(key: "trained_users") ?? []).map { $0 != 0 }
        onboardingTokens = try weights["onboarding_tokens"]?.int32s(key: "onboarding_tokens") ?? []
        userTokenNames = try weights["user_tokens"]?.strings(key: "user_tokens") ?? []
        itemTokenNames = try weights["item_tokens"]?.strings(key: "item_tokens") ?? []
        guard userEmbeddings.rows == userFeatures.columns, itemEmbeddings.rows == itemFeatures.columns,
            itemBiases.count == itemFeatures.columns, trainedUsers.count == userFeatures.rows,
            onboarding == 0 || onboardingTokens.count == itemFeatures.rows,
            onboardingTokens.allSatisfy({ $0 >= -1 && Int($0) < userFeatures.columns })
        else {
            throw CheckpointError.mismatch(key: "hybrid", expected: "consistent shapes", found: "mismatched arrays")
        }
        cacheItemVectors()
    }
}

/// Embeddings and Adagrad accumulators while the hybrid trains.
struct TrainingState {
    var userEmbeddings: Matrix<Float>
    var itemEmbeddings: Matrix<Float>
    var itemBiases: [Float]
    var userSquares: Matrix<Float>
    var itemSquares: Matrix<Float>
    var biasSquares: [Float]

    init(factors: Int, userTokens: Int, itemTokens: Int, generator: inout SeededGenerator) {
        func random(_ rows: Int) -> Matrix<Float> {
            var m = Matrix<Float>(rows: rows, columns: factors)
            for k in m.storage.indices { m.storage[k] = Float((generator.nextUnit() - 0.5) / Double(factors)) }
            return m
        }
        userEmbeddings = random(userTokens)
        itemEmbeddings = random(itemTokens)
        itemBiases = [Float](repeating: 0, count: itemTokens)
        userSquares = Matrix(rows: userTokens, columns: factors, repeating: 1)
        itemSquares = Matrix(rows: itemTokens, columns: factors, repeating: 1)
        biasSquares = [Float](repeating: 1, count: itemTokens)
    }

    func represent(_ r: Int, _ features: CSRMatrix, _ embeddings: Matrix<Float>, _ biases: [Float]?) -> ([Float], Float)
    {
        Hybrid.represent(r, features: features, embeddings: embeddings, biases: biases)
    }

    /// One positive pair: draw negatives (one for BPR; for WARP until one violates the margin),
    /// then an Adagrad step on every feature row involved.
    mutating func step(
        user: Int, liked: Int, matrix: CSRMatrix, userFeatures: CSRMatrix, itemFeatures: CSRMatrix, model: Hybrid,
        generator: inout SeededGenerator
    ) {
        let (u, _) = represent(user, userFeatures, userEmbeddings, nil)
        let (positive, positiveBias) = represent(liked, itemFeatures, itemEmbeddings, itemBiases)
        let positiveScore = zip(u, positive).reduce(positiveBias) { $0 + $1.0 * $1.1 }
        let items = matrix.columns
        var negative = -1
        var negativeVector: [Float] = []
        var weight: Float = 0
        var trials = 0
        while trials < (model.warp ? model.maxSampled : 1) {
            trials += 1
            let j = generator.nextInt(below: items)
            if matrix.rowContains(user, Int32(j)) { continue }
            let (vector, bias) = represent(j, itemFeatures, itemEmbeddings, itemBiases)
            let score = zip(u, vector).reduce(bias) { $0 + $1.0 * $1.1 }
            if model.warp {
                if score > positiveScore - 1 {
                    negative = j
                    negativeVector = vector
                    weight = log(max(1, Float((items - 1) / trials)))
                    break
                }
            } else {
                negative = j
                negativeVector = vector
                weight = 1 / (1 + exp(positiveScore - score))  // σ(s_j − s_i)
                break
            }
        }
        guard negative >= 0, weight > 0 else { return }
        // d loss / d s_i = −weight, d loss / d s_j = +weight.
        let gradientUser = (0..<u.count).map { weight * (negativeVector[$0] - positive[$0]) }
        let gradientPositive = u.map { -weight * $0 }
        let gradientNegative = u.map { weight * $0 }
        Self.apply(
            gradientUser, to: user, features: userFeatures, embeddings: &userEmbeddings, squares: &userSquares,
            model: model)
        Self.apply(
            gradientPositive, to: liked, features: itemFeatures, embeddings: &itemEmbeddings, squares: &itemSquares,
            model: model)
        Self.apply(
            gradientNegative, to: negative, features: itemFeatures, embeddings: &itemEmbeddings, squares: &itemSquares,
            model: model)
        for (row, sign) in [(liked, Float(-1)), (negative, Float(1))] {
            for k in itemFeatures.rowPointers[row]..<itemFeatures.rowPointers[row + 1] {
                let token = Int(itemFeatures.columnIndices[k])
                let g = sign * weight * itemFeatures.values[k] + model.regularization * itemBiases[token]
                biasSquares[token] += g * g
                itemBiases[token] -= model.learningRate * g / biasSquares[token].squareRoot()
            }
        }
    }

    private static func apply(
        _ gradient: [Float], to row: Int, features: CSRMatrix, embeddings: inout Matrix<Float>,
        squares: inout Matrix<Float>, model: Hybrid
    ) {
        let width = embeddings.columns
        for k in features.rowPointers[row]..<features.rowPointers[row + 1] {
            let base = Int(features.columnIndices[k]) * width
            let w = features.values[k]
            for d in 0..<width {
                let g = w * gradient[d] + model.regularization * embeddings.storage[base + d]
                squares.storage[base + d] += g * g
                embeddings.storage[base + d] -= model.learningRate * g / squares.storage[base + d].squareRoot()
            }
        }
    }
}

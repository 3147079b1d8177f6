import Foundation
import NeuralNet
import RecData
import Tensors

/// A content encoder for items (Kim 2014's TextCNN over the words of the title and other text
/// fields, beside the mean embedding of the item's categorical attributes) that places every
/// item, including one nobody has touched, where a collaborative model would.
///
/// Ways to train it (`mode`):
/// - `regress` (ConvMF-style): fit ALS on the interactions, then train the encoder
///   to reproduce ALS's item factors (mean squared error) for the items that have interactions.
///   A user is ALS's user vector (fold-in for a new one); an item's vector blends its ALS
///   factors and its content vector by how many interactions it has, `n / (n + blend)`.
/// - `twotower`: a user tower (the mean id embedding of the user's newest 50 items, then a linear
///   layer) against the content tower, trained with in-batch sampled softmax on the log; items
///   are their content vectors.
/// - `profile`: as `twotower`, but a user is the projected mean *content* vector of their newest
///   50 items, so both sides are described by content.
/// - `svd` (the default): regress onto PureSVD's item factors (Cremonesi et al. 2010: the top
///   eigenvectors of the item–item cosine matrix, i.e. of `X D^{-1/2}` for the binary
///   user × item matrix `X` and item counts `D`). A user is PureSVD's `Σ_{j ∈ history} v_j`; an
///   item blends its factors with its content vector scaled to unit length (the mean length of
///   the factors) by how many interactions it has, so a new item competes on the direction of
///   its content alone.
///
/// Parameters: `mode` [svd], `factors` [64], `word_size` [32], `filters` [32] per width,
/// `widths` [1,2,3], `max_words` [16], `epochs` [60 for svd and regress, 5 otherwise],
/// `learning_rate` [0.003], `batch_size` [128], `blend` [10], `seed` [2020], `patience` [3] (the
/// regression modes' early stopping on held-out items).
public struct TextCNN: Recommender, ContentDescribing {
    public static let kind = ModelKind.textCNN
    /// How the encoder is trained and users are represented.
    public enum Mode: String, Sendable, CaseIterable {
        /// Regress onto ALS's item factors; users are ALS user vectors.
        case regress
        /// In-batch softmax against a user tower over the id embeddings of the user's items.
        case twoTower = "twotower"
        /// In-batch softmax against the user's content profile: the projected mean content
        /// vector of their items, so users too are described by content.
        case profile
        /// Regress onto PureSVD's item factors; users are the sums of their items' factors.
        case pureSVD = "svd"
    }
    public let mode: Mode
    public let factors: Int
    public let wordSize: Int
    public let filters: Int
    public let widths: [Int]
    public let maxWords: Int
    public let epochCount: Int
    public let learningRate: Float
    public let batchSize: Int
    public let blend: Float
    public let patience: Int
    public let seed: UInt64

    private var encoder: Encoder?
    private var userTower: UserTower?
    private var profileProjection: Linear<Float>?
    private var vocabulary = Vocabulary()
    private(set) var itemTokens = ItemTokens()
    private var collaborative: ALS?
    /// `(items, factors)`: PureSVD's item factors (`svd` mode).
    private var svdFactors: Matrix<Float>?
    private(set) var itemCounts: [Int] = []
    /// `(items, factors)`: the content vector of every item.
    public private(set) var contentVectors = Matrix<Float>(rows: 0, columns: 0)
    /// `(items, factors)`: what users are scored against (blended in `regress` mode).
    var scoringVectors = Matrix<Float>(rows: 0, columns: 0)

    public init(parameters: [String: String] = [:]) throws {
        var reader = ParameterReader(model: Self.kind, parameters)
        mode =
            Mode(rawValue: try reader.choice("mode", default: "svd", in: Mode.allCases.map(\.rawValue))) ?? .pureSVD
        factors = try reader.int("factors", default: 64, in: 1...1024)
        wordSize = try reader.int("word_size", default: 32, in: 1...1024)
        filters = try reader.int("filters", default: 32, in: 1...1024)
        let widthText = reader.string("widths", default: "1,2,3")
        let parsed = widthText.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parsed.isEmpty, parsed.allSatisfy({ ($0 ?? 0) > 0 }) else {
            throw ModelError.invalidParameter(
                model: Self.kind.rawValue, key: "widths", value: widthText,
                reason: "needs positive integers, e.g. 1,2,3")
        }
        widths = parsed.compactMap { $0 }
        maxWords = try reader.int("max_words", default: 16, in: 1...1024)
        guard let widest = widths.max(), widest <= maxWords else {
            throw ModelError.invalidParameter(
                model: Self.kind.rawValue, key: "widths", value: widthText, reason: "widths must not exceed max_words")
        }
        let regression = mode == .regress || mode == .pureSVD
        epochCount = try reader.int("epochs", default: regression ? 60 : 5, in: 0...100_000)
        learningRate = Float(try reader.double("learning_rate", default: 0.003, in: 1e-9...100))
        batchSize = try reader.int("batch_size", default: 128, in: 1...1_000_000)
        blend = Float(try reader.double("blend", default: 10, in: 0...1e9))
        patience = try reader.int("patience", default: 3, in: 1...100_000)
        seed = try reader.uint64("seed", default: 2020)
        try reader.finish()
    }

    public var parameters: [String: String] {
        [
            "mode": mode.rawValue, "factors": String(factors), "word_size": String(wordSize),
            "filters": String(filters), "widths": widths.map(String.init).joined(separator: ","),
            "max_words": String(maxWords), "epochs": String(epochCount), "learning_rate": String(learningRate),
            "batch_size": String(batchSize), "blend": String(blend), "seed": String(seed),
            "patience": String(patience),
        ]
    }

    public var itemCount: Int { scoringVectors.rows }

    // MARK: Training

    public mutating func fit(_ data: TrainingData, progress: ProgressHandler? = nil) throws {
        guard let table = data.itemFeatures else { throw ModelError.unsuitableData("textcnn needs item features") }
        guard data.log.count > 0 else { throw ModelError.unsuitableData("textcnn needs interactions") }
        let tokens = FeatureTokens.tokens(of: table.aligned(to: data.log.itemIDs))
        vocabulary = Vocabulary(tokens: tokens)
        itemTokens = ItemTokens(tokens: tokens, vocabulary: vocabulary, maxWords: maxWords)
        itemCounts = data.log.itemCounts()
        MemoryTuning.keepFreedBuffers()
        var generator = SplitMix64(seed: seed)
        let fresh = Encoder(
            words: vocabulary.words.count, attributes: vocabulary.attributes.count, wordSize: wordSize,
            filters: filters, widths: widths, factors: factors, generator: &generator)
        if mode == .twoTower {
            let tower = UserTower(items: data.itemCount, factors: factors, generator: &generator)
            try trainTwoTower(fresh, tower, data: data, progress: progress)
            userTower = tower
        } else if mode == .profile {
            let projection = Linear<Float>(inputSize: factors, outputSize: factors, using: &generator)
            try trainProfile(fresh, projection, data: data, progress: progress)
            profileProjection = projection
        } else if mode == .pureSVD {
            let targets = try PureSVD.itemFactors(
                data.matrix, factors: factors, model: "textcnn (mode=svd)", control: data.control)
            try trainRegression(fresh, targets: targets, control: data.control, progress: progress)
            svdFactors = targets
        } else {
            var als = try ALS(parameters: ["factors": String(factors)])
            try als.fit(data, progress: progress)
            try trainRegression(fresh, targets: als.scoringItems, control: data.control, progress: progress)
            collaborative = als
        }
        encoder = fresh
        refreshVectors()
    }

    /// Recomputes the content vectors of every item and the vectors users are scored against.
    private mutating func refreshVectors() {
        guard let encoder else { return }
        let (items, factors, tokens) = (itemTokens.count, factors, itemTokens)
        // The encoder's products round by OpenBLAS's thread count: held steady, so that the
        // vectors a load recomputes equal those of training while other threads train.
        let content = BLAS.withSteadyKernelThreads {
            var content = Matrix<Float>(rows: items, columns: factors)
            let tape = Tape<Float>(recording: false)
            for start in stride(from: 0, to: items, by: 512) {
                let batch = (start..<min(items, start + 512)).map(Int32.init)
                let vectors = encoder(batch, tokens: tokens, on: tape).value.scalars
                for (r, item) in batch.enumerated() {
                    for k in 0..<factors { content[Int(item), k] = vectors[r * factors + k] }
                }
            }
            return content
        }
        contentVectors = content
        // Items blend the collaborative factors (PureSVD's or ALS's) with their content vector by
        // how many interactions they have; in `twotower` and `profile` they are their content.
        guard let collaborativeFactors = svdFactors ?? collaborative?.scoringItems else {
            scoringVectors = content
            return
        }
        var blended = content
        for item in 0..<items {
            let n = Float(item < itemCounts.count ? itemCounts[item] : 0)
            let weight = n + blend > 0 ? n / (n + blend) : 1
            let own = scoredContent(Array(content.storage[(item * factors)..<((item + 1) * factors)]))
            for k in 0..<factors {
                blended[item, k] = weight * collaborativeFactors[item, k] + (1 - weight) * own[k]
            }
        }
        scoringVectors = blended
    }

    // MARK: Scoring

    func userVector(_ context: ScoringContext) throws -> [Float] {
        guard encoder != nil else { throw ModelError.notFitted }
        for item in context.history where item < 0 || Int(item) >= itemCount { throw ModelError.unknownItem(item) }
        if let userTower {
            let tape = Tape<Float>(recording: false)
            return userTower([Array(context.history.suffix(50))], on: tape).value.scalars
        }
        if let profileProjection {
            let recent = context.history.suffix(50)
            var mean = [Float](repeating: 0, count: factors)
            for item in recent {
                for k in 0..<factors { mean[k] += contentVectors[Int(item), k] / Float(recent.count) }
            }
            let tape = Tape<Float>(recording: false)
            return profileProjection(tape.constant(Tensor(shape: [1, factors], scalars: mean))).value.scalars
        }
        if let svdFactors {
            var user = [Float](repeating: 0, count: factors)
            var seen = Set<Int32>()
            for item in context.history where seen.insert(item).inserted {  // in history order: sums repeat exactly
                for k in 0..<factors { user[k] += svdFactors[Int(item), k] }
            }
            return user
        }
        guard let collaborative else { throw ModelError.notFitted }
        return try collaborative.userVector(context)
    }

    public func score(_ context: ScoringContext, into scores: inout [Float]) throws {
        let user = try userVector(context)
        scores = (0..<itemCount).map { item in
            var dot: Float = 0
            for k in 0..<factors { dot += user[k] * scoringVectors[item, k] }
            return dot
        }
    }

    public func similarItems(to item: Int32, count: Int) throws -> [ScoredItem] {
        guard encoder != nil else { throw ModelError.notFitted }
        guard item >= 0, Int(item) < itemCount else { throw ModelError.unknownItem(item) }
        return TopK.select(count, from: contentVectors.cosineSimilarities(to: Int(item))) { $0 != item }
    }

    /// The history items whose content is closest to `item` (cosine of content vectors).
    public func explain(_ context: ScoringContext, item: Int32, count: Int) throws -> [Contribution] {
        guard encoder != nil else { throw ModelError.notFitted }
        guard item >= 0, Int(item) < itemCount else { throw ModelError.unknownItem(item) }
        let similarity = contentVectors.cosineSimilarities(to: Int(item))
        var seen = Set<Int32>()
        return context.history.filter { seen.insert($0).inserted && $0 != item }
            .map { Contribution(item: $0, weight: similarity[Int($0)]) }
            .sorted { $0.weight > $1.weight }.prefix(count).map { $0 }
    }

    // MARK: New items

    /// The content vector of an item described only by its fields (column name → text, e.g.
    /// `["movie_title": "Heat (1995)", "class": "Action Crime"]`), with no retraining: words
    /// and attributes the model never saw are left out.
    public func contentVector(fields: [String: String]) throws -> [Float] {
        guard let encoder else { throw ModelError.notFitted }
        let table = FeatureTable(
            keyField: "item_id", keys: ["new"],
            columns: fields.sorted { $0.key < $1.key }.map {
                FeatureColumn(name: $0.key, type: .token, values: .token([$0.value]))
            })
        let tokens = ItemTokens(tokens: FeatureTokens.tokens(of: table), vocabulary: vocabulary, maxWords: maxWords)
        return encoder([0], tokens: tokens, on: Tape<Float>(recording: false)).value.scalars
    }

    /// The catalogue items whose content is closest to a described item.
    public func similarItems(toFields fields: [String: String], count: Int) throws -> [ScoredItem] {
        let scores = contentVectors.cosineSimilarities(toVector: try contentVector(fields: fields))
        return TopK.select(count, from: scores)
    }

    /// A user's score for a described item (its content vector: it has no interactions).
    public func contentScore(fields: [String: String], context: ScoringContext) throws -> Float {
        let vector = scoredContent(try contentVector(fields: fields))
        let user = try userVector(context)
        return zip(user, vector).reduce(0) { $0 + $1.0 * $1.1 }
    }

    /// A new item's scoring vector from the store's fields: the title goes to the training data's
    /// first title-like column, the categories to its first genre-like one (by the vocabulary's
    /// token prefixes; `title` and `genre` when it has none).
    public func scoringVector(title: String, categories: [String]) throws -> [Float] {
        func column(of tokens: [String], where isKind: (String) -> Bool, default name: String) -> String {
            tokens.lazy.compactMap { $0.split(separator: ":", maxSplits: 1).first.map(String.init) }
                .first(where: isKind) ?? name
        }
        let titleColumn = column(of: vocabulary.words, where: FeatureTokens.isTextColumn, default: "title")
        let listColumn = column(of: vocabulary.attributes, where: FeatureTokens.isListColumn, default: "genre")
        return scoredContent(
            try contentVector(fields: [titleColumn: title, listColumn: categories.joined(separator: " ")]))
    }

    /// A content vector as users are scored against it: scaled to unit length against PureSVD's
    /// factors (whose mean length is 1), as it is otherwise.
    func scoredContent(_ vector: [Float]) -> [Float] { svdFactors == nil ? vector : Self.unitLength(vector) }

    /// `v / |v|`, or `v` when it is zero.
    static func unitLength(_ v: [Float]) -> [Float] {
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return norm > 0 ? v.map { $0 / norm } : v
    }

    // MARK: Saving

    public func weights() throws -> [String: SafeTensor] {
        guard let encoder else { throw ModelError.notFitted }
        var result: [String: SafeTensor] = [:]
        for (key, value) in StateDict.tensors(of: encoder) { result["encoder." + key] = value }
        if let userTower {
            for (key, value) in StateDict.tensors(of: userTower) { result["user_tower." + key] = value }
        }
        if let profileProjection {
            for (key, value) in StateDict.tensors(of: profileProjection) { result["profile." + key] = value }
        }
        if let collaborative {
            for (key, value) in try collaborative.weights() { result["als." + key] = value }
        }
        if let svdFactors {
            result["svd.item_factors"] = SafeTensor(svdFactors.storage, shape: [svdFactors.rows, factors])
        }
        result.merge(vocabulary.tensors()) { $1 }
        result.merge(itemTokens.tensors()) { $1 }
        result["item_counts"] = SafeTensor(itemCounts.map(Int64.init))
        return result
    }

    public mutating func load(weights: [String: SafeTensor]) throws {
        func part(_ prefix: String) -> [String: SafeTensor] {
            var result: [String: SafeTensor] = [:]
            for (key, value) in weights where key.hasPrefix(prefix) {
                result[String(key.dropFirst(prefix.count))] = value
            }
            return result
        }
        let loadedVocabulary = try Vocabulary(tensors: weights)
        let loadedTokens = try ItemTokens(tensors: weights)
        guard let counts = try weights["item_counts"]?.int64s(key: "item_counts"), counts.count == loadedTokens.count
        else { throw CheckpointError.missingKeys(["item_counts"]) }
        var generator = SplitMix64(seed: seed)
        let loaded = Encoder(
            words: loadedVocabulary.words.count, attributes: loadedVocabulary.attributes.count, wordSize: wordSize,
            filters: filters, widths: widths, factors: factors, generator: &generator)
        try StateDict.load(part("encoder."), into: loaded)
        if mode == .twoTower {
            let tower = UserTower(items: loadedTokens.count, factors: factors, generator: &generator)
            try StateDict.load(part("user_tower."), into: tower)
            userTower = tower
        } else if mode == .profile {
            let projection = Linear<Float>(inputSize: factors, outputSize: factors, using: &generator)
            try StateDict.load(part("profile."), into: projection)
            profileProjection = projection
        } else if mode == .pureSVD {
            svdFactors = try Matrix(loading: weights["svd.item_factors"], key: "svd.item_factors", columns: factors)
            guard svdFactors?.rows == loadedTokens.count else {
                throw CheckpointError.mismatch(
                    key: "svd.item_factors", expected: "\(loadedTokens.count) rows",
                    found: "\(svdFactors?.rows ?? 0)")
            }
        } else {
            var als = try ALS(parameters: ["factors": String(factors)])
            try als.load(weights: part("als."))
            collaborative = als
        }
        (vocabulary, itemTokens, itemCounts, encoder) = (loadedVocabulary, loadedTokens, counts.map(Int.init), loaded)
        refreshVectors()
    }
}

import Foundation
import NeuralNet
import RecData
import Tensors

/// A model that places an item from its description alone: an item added a minute ago, with
/// only a title and genres, gets similar items and a score for a user.
public protocol ContentDescribing: Recommender {
    /// Catalogue items closest to the described item; `fields` maps item columns to text.
    func similarItems(toFields fields: [String: String], count: Int) throws -> [ScoredItem]
    /// The user's score for the described item.
    func contentScore(fields: [String: String], context: ScoringContext) throws -> Float
}

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
    private var itemTokens = ItemTokens()
    private var collaborative: ALS?
    /// `(items, factors)`: PureSVD's item factors (`svd` mode).
    private var svdFactors: Matrix<Float>?
    private var itemCounts: [Int] = []
    /// `(items, factors)`: the content vector of every item.
    public private(set) var contentVectors = Matrix<Float>(rows: 0, columns: 0)
    /// `(items, factors)`: what users are scored against (blended in `regress` mode).
    private var scoringVectors = Matrix<Float>(rows: 0, columns: 0)

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
            let targets = try Self.pureSVDFactors(data.matrix, factors: factors)
            try trainRegression(fresh, targets: targets, progress: progress)
            svdFactors = targets
        } else {
            var als = try ALS(parameters: ["factors": String(factors)])
            try als.fit(data, progress: progress)
            try trainRegression(fresh, targets: als.scoringItems, progress: progress)
            collaborative = als
        }
        encoder = fresh
        refreshVectors()
    }

    /// PureSVD's item factors on the binary user × item matrix with item-normalized columns:
    /// the top `factors` eigenvectors of `G[i, j] = c_ij / √(n_i n_j)` (`c_ij` users with both
    /// items, `n_i` users with `i`), as the rows of an `(items, factors)` matrix scaled so that the
    /// mean squared row length is 1. Items without events get zero rows.
    static func pureSVDFactors(_ matrix: CSRMatrix, factors: Int) throws -> Matrix<Float> {
        let items = matrix.columns
        let binary = CSRMatrix(
            rows: matrix.rows, columns: items, rowPointers: matrix.rowPointers,
            columnIndices: matrix.columnIndices, values: [Float](repeating: 1, count: matrix.columnIndices.count))
        var counts = [Double](repeating: 0, count: items)
        for item in matrix.columnIndices { counts[Int(item)] += 1 }
        var gram = Matrix<Double>(rows: items, columns: items)
        gram.storage.withUnsafeMutableBufferPointer { gram in
            Cooccurrence.forEachRow(of: binary) { i, row in
                guard counts[i] > 0 else { return }
                for j in 0..<items where counts[j] > 0 {
                    gram[i * items + j] = Double(row[j]) / (counts[i] * counts[j]).squareRoot()
                }
            }
        }
        let rank = min(factors, items)
        let (_, vectors) = try LAPACK.largestEigenpairs(&gram, count: rank)
        let scale = (Double(items) / Double(rank)).squareRoot()
        var result = Matrix<Float>(rows: items, columns: factors)
        for k in 0..<rank {
            for i in 0..<items { result[i, k] = Float(vectors[k, i] * scale) }
        }
        return result
    }

    /// Trains the encoder to reproduce `targets` (mean squared error) for the items that have
    /// interactions. A seeded tenth of them (when there are 100 or more) is held out: after each
    /// epoch the mean cosine between their predicted and target vectors is measured, the best
    /// epoch's weights are kept, and training stops after `patience` epochs without a better one
    /// — the encoder overfits a few thousand titles within a few epochs.
    private func trainRegression(_ encoder: Encoder, targets: Matrix<Float>, progress: ProgressHandler?) throws {
        var warm = itemCounts.indices.filter { itemCounts[$0] > 0 }.map(Int32.init)
        guard !warm.isEmpty else { return }
        var splitter = SplitMix64(seed: seed ^ 0x5EED)
        warm.shuffle(using: &splitter)
        // A tenth of a few dozen items is too few to measure: small catalogues train every epoch.
        let heldOut = warm.count >= 100 ? Array(warm.prefix(warm.count / 10)) : []
        let fitted = Array(warm.dropFirst(heldOut.count))
        var optimizer = Adam(parameters: encoder.parameters, learningRate: learningRate)
        var best = (score: -Float.infinity, epoch: 0, weights: StateDict.tensors(of: encoder))
        for epoch in 0..<epochCount {
            var generator = SplitMix64(seed: seed ^ UInt64(epoch + 1) &* 0x9E37_79B9_7F4A_7C15)
            var order = fitted
            order.shuffle(using: &generator)
            for start in stride(from: 0, to: order.count, by: batchSize) {
                let batch = Array(order[start..<min(order.count, start + batchSize)])
                let tape = Tape<Float>()
                let predicted = encoder(batch, tokens: itemTokens, on: tape)
                var target = [Float](repeating: 0, count: batch.count * factors)
                for (r, item) in batch.enumerated() {
                    for k in 0..<factors { target[r * factors + k] = targets[Int(item), k] }
                }
                let difference = predicted - tape.constant(Tensor(shape: [batch.count, factors], scalars: target))
                let loss = (difference * difference).mean()
                guard loss.value.scalar.isFinite else {
                    throw ModelError.nonFinite("in the textcnn loss at epoch \(epoch + 1)")
                }
                tape.backward(loss)
                optimizer.step()
                optimizer.zeroGradients()
            }
            progress?("textcnn (regress onto \(mode == .pureSVD ? "PureSVD" : "ALS"))", epoch + 1, epochCount)
            guard !heldOut.isEmpty else { continue }
            let predicted = encoder(heldOut, tokens: itemTokens, on: Tape<Float>(recording: false)).value.scalars
            var cosine: Float = 0
            for (r, item) in heldOut.enumerated() {
                let p = Self.unitLength(Array(predicted[(r * factors)..<((r + 1) * factors)]))
                let t = Self.unitLength((0..<factors).map { targets[Int(item), $0] })
                cosine += zip(p, t).reduce(0) { $0 + $1.0 * $1.1 } / Float(heldOut.count)
            }
            if cosine > best.score {
                best = (cosine, epoch, StateDict.tensors(of: encoder))
            } else if epoch - best.epoch >= patience {
                break
            }
        }
        if !heldOut.isEmpty { try StateDict.load(best.weights, into: encoder) }
    }

    private func trainTwoTower(_ encoder: Encoder, _ tower: UserTower, data: TrainingData, progress: ProgressHandler?)
        throws
    {
        let log = data.log
        let histories = log.chronologicalEventsByUser().map { $0.map { log.items[$0] } }
        var pairs: [(user: Int32, position: Int32)] = []
        for (user, history) in histories.enumerated() {
            for position in history.indices { pairs.append((Int32(user), Int32(position))) }
        }
        let counts = log.itemCounts()
        var optimizer = Adam(parameters: encoder.parameters + tower.parameters, learningRate: learningRate)
        for epoch in 0..<epochCount {
            var generator = SplitMix64(seed: seed ^ UInt64(epoch + 1) &* 0x9E37_79B9_7F4A_7C15)
            pairs.shuffle(using: &generator)
            for start in stride(from: 0, to: pairs.count, by: batchSize) {
                let batch = pairs[start..<min(pairs.count, start + batchSize)]
                // The user's newest 50 other items describe them; the held item is the positive.
                let contexts = batch.map { pair -> [Int32] in
                    var history = histories[Int(pair.user)]
                    history.remove(at: Int(pair.position))
                    return Array(history.suffix(50))
                }
                let positives = batch.map { histories[Int($0.user)][Int($0.position)] }
                let tape = Tape<Float>()
                let users = tower(contexts, on: tape)
                let items = encoder(positives, tokens: itemTokens, on: tape)
                // logQ correction (Yi et al. 2019): in-batch negatives are drawn in proportion to
                // popularity, so subtract log(frequency) from each column; the model then learns
                // the full softmax, popularity included, instead of a popularity-discounted one.
                let correction = positives.map { -Float(Foundation.log(Double(max(1, counts[Int($0)])))) }
                let logits =
                    users.matmul(items, transposeOther: true)
                    + tape.constant(Tensor(shape: [1, batch.count], scalars: correction))
                let loss = logits.crossEntropy(targets: (0..<Int32(batch.count)).map { $0 })
                guard loss.value.scalar.isFinite else {
                    throw ModelError.nonFinite("in the textcnn loss at epoch \(epoch + 1)")
                }
                tape.backward(loss)
                optimizer.step()
                optimizer.zeroGradients()
                progress?("textcnn (two-tower) epoch \(epoch + 1)/\(epochCount)", start + batch.count, pairs.count)
            }
        }
    }

    private func trainProfile(
        _ encoder: Encoder, _ projection: Linear<Float>, data: TrainingData, progress: ProgressHandler?
    )
        throws
    {
        let log = data.log
        let histories = log.chronologicalEventsByUser().map { $0.map { log.items[$0] } }
        var pairs: [(user: Int32, position: Int32)] = []
        for (user, history) in histories.enumerated() where history.count > 1 {
            for position in history.indices { pairs.append((Int32(user), Int32(position))) }
        }
        let allItems = (0..<Int32(itemTokens.count)).map { $0 }
        var optimizer = Adam(parameters: encoder.parameters + projection.parameters, learningRate: learningRate)
        for epoch in 0..<epochCount {
            var generator = SplitMix64(seed: seed ^ UInt64(epoch + 1) &* 0x9E37_79B9_7F4A_7C15)
            pairs.shuffle(using: &generator)
            for start in stride(from: 0, to: pairs.count, by: batchSize) {
                let batch = pairs[start..<min(pairs.count, start + batchSize)]
                let tape = Tape<Float>()
                // Every item's content vector once per step (the catalogue is small); users and
                // positives are rows of it, so the gradient reaches the encoder through both.
                let content = encoder(allItems, tokens: itemTokens, on: tape)
                var profileIndices: [Int] = []
                var scale = [Float](repeating: 0, count: batch.count * factors)
                let width = 50
                for (r, pair) in batch.enumerated() {
                    var history = histories[Int(pair.user)]
                    history.remove(at: Int(pair.position))
                    let recent = history.suffix(width)
                    for slot in 0..<width {
                        let item = slot < recent.count ? Int(recent[recent.startIndex + slot]) : -1
                        for k in 0..<factors { profileIndices.append(item < 0 ? -1 : item * factors + k) }
                    }
                    for k in 0..<factors { scale[r * factors + k] = 1 / Float(max(1, recent.count)) }
                }
                let profiles =
                    content.gatherElements(profileIndices, shape: [batch.count, width, factors]).sum(alongAxes: [1])
                    * tape.constant(Tensor(shape: [batch.count, factors], scalars: scale))
                let positives = batch.map { histories[Int($0.user)][Int($0.position)] }
                let items = content.gatherElements(
                    positives.flatMap { item in (0..<factors).map { Int(item) * factors + $0 } },
                    shape: [batch.count, factors])
                let logits = projection(profiles).matmul(items, transposeOther: true)
                let loss = logits.crossEntropy(targets: (0..<Int32(batch.count)).map { $0 })
                guard loss.value.scalar.isFinite else {
                    throw ModelError.nonFinite("in the textcnn loss at epoch \(epoch + 1)")
                }
                tape.backward(loss)
                optimizer.step()
                optimizer.zeroGradients()
                progress?(
                    "textcnn (content profile) epoch \(epoch + 1)/\(epochCount)", start + batch.count, pairs.count)
            }
        }
    }

    /// Recomputes the content vectors of every item and the vectors users are scored against.
    private mutating func refreshVectors() {
        guard let encoder else { return }
        let items = itemTokens.count
        var content = Matrix<Float>(rows: items, columns: factors)
        let tape = Tape<Float>(recording: false)
        for start in stride(from: 0, to: items, by: 512) {
            let batch = (start..<min(items, start + 512)).map(Int32.init)
            let vectors = encoder(batch, tokens: itemTokens, on: tape).value.scalars
            for (r, item) in batch.enumerated() {
                for k in 0..<factors { content[Int(item), k] = vectors[r * factors + k] }
            }
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

    private func userVector(_ context: ScoringContext) throws -> [Float] {
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
        let vector = try contentVector(fields: fields)
        var scores = [Float](repeating: 0, count: itemCount)
        let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
        for item in 0..<itemCount {
            var dot: Float = 0
            var other: Float = 0
            for k in 0..<factors {
                dot += vector[k] * contentVectors[item, k]
                other += contentVectors[item, k] * contentVectors[item, k]
            }
            scores[item] = norm > 0 && other > 0 ? dot / (norm * other.squareRoot()) : 0
        }
        return TopK.select(count, from: scores)
    }

    /// A user's score for a described item (its content vector: it has no interactions).
    public func contentScore(fields: [String: String], context: ScoringContext) throws -> Float {
        let vector = scoredContent(try contentVector(fields: fields))
        let user = try userVector(context)
        return zip(user, vector).reduce(0) { $0 + $1.0 * $1.1 }
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

extension TextCNN {
    /// Word tokens (from title-like columns, in order) and attribute tokens (everything else).
    struct Vocabulary: Equatable {
        var words: [String] = []
        var attributes: [String] = []
        var wordIndex: [String: Int32] = [:]
        var attributeIndex: [String: Int32] = [:]

        init() {}

        init(tokens: [[String]]) {
            for row in tokens {
                for token in row {
                    if Self.isWord(token) {
                        if wordIndex[token] == nil {
                            words.append(token)
                            wordIndex[token] = Int32(words.count)  // 0 is padding
                        }
                    } else if attributeIndex[token] == nil {
                        attributes.append(token)
                        attributeIndex[token] = Int32(attributes.count)
                    }
                }
            }
        }

        static func isWord(_ token: String) -> Bool {
            token.split(separator: ":", maxSplits: 1).first.map { FeatureTokens.isTextColumn(String($0)) } ?? false
        }

        func tensors() -> [String: SafeTensor] {
            func pack(_ strings: [String], _ name: String) -> [String: SafeTensor] {
                var bytes: [Int32] = []
                var offsets: [Int64] = [0]
                for string in strings {
                    bytes += string.utf8.map { Int32($0) }
                    offsets.append(Int64(bytes.count))
                }
                return [
                    "vocabulary.\(name).bytes": SafeTensor(bytes), "vocabulary.\(name).offsets": SafeTensor(offsets),
                ]
            }
            return pack(words, "words").merging(pack(attributes, "attributes")) { $1 }
        }

        init(tensors: [String: SafeTensor]) throws {
            func unpack(_ name: String) throws -> [String] {
                let bytesKey = "vocabulary.\(name).bytes"
                let offsetsKey = "vocabulary.\(name).offsets"
                guard let bytes = try tensors[bytesKey]?.int32s(key: bytesKey),
                    let offsets = try tensors[offsetsKey]?.int64s(key: offsetsKey), offsets.first == 0,
                    offsets.last == Int64(bytes.count), zip(offsets, offsets.dropFirst()).allSatisfy({ $0 <= $1 })
                else { throw CheckpointError.missingKeys([bytesKey, offsetsKey]) }
                return (0..<(offsets.count - 1)).map { i in
                    String(
                        decoding: bytes[Int(offsets[i])..<Int(offsets[i + 1])].map { UInt8(truncatingIfNeeded: $0) },
                        as: UTF8.self)
                }
            }
            self.init()
            words = try unpack("words")
            attributes = try unpack("attributes")
            for (i, word) in words.enumerated() { wordIndex[word] = Int32(i + 1) }
            for (i, attribute) in attributes.enumerated() { attributeIndex[attribute] = Int32(i + 1) }
        }
    }

    /// Each item's word ids (padded to `maxWords` with 0) and attribute ids (a ragged list).
    struct ItemTokens: Equatable {
        var maxWords = 1
        var words: [[Int32]] = []
        var attributes: [[Int32]] = []
        var count: Int { words.count }

        init() {}

        init(tokens: [[String]], vocabulary: Vocabulary, maxWords: Int) {
            self.maxWords = maxWords
            words = tokens.map { row in Array(row.compactMap { vocabulary.wordIndex[$0] }.prefix(maxWords)) }
            attributes = tokens.map { row in Array(Set(row.compactMap { vocabulary.attributeIndex[$0] })).sorted() }
        }

        func tensors() -> [String: SafeTensor] {
            func pack(_ rows: [[Int32]], _ name: String) -> [String: SafeTensor] {
                var offsets: [Int64] = [0]
                for row in rows { offsets.append(offsets[offsets.count - 1] + Int64(row.count)) }
                return [
                    "items.\(name).indices": SafeTensor(rows.flatMap { $0 }),
                    "items.\(name).offsets": SafeTensor(offsets),
                ]
            }
            var result = pack(words, "words").merging(pack(attributes, "attributes")) { $1 }
            result["items.max_words"] = SafeTensor([Int64(maxWords)])
            return result
        }

        init(tensors: [String: SafeTensor]) throws {
            func unpack(_ name: String) throws -> [[Int32]] {
                let (indicesKey, offsetsKey) = ("items.\(name).indices", "items.\(name).offsets")
                guard let indices = try tensors[indicesKey]?.int32s(key: indicesKey),
                    let offsets = try tensors[offsetsKey]?.int64s(key: offsetsKey), offsets.first == 0,
                    offsets.last == Int64(indices.count), zip(offsets, offsets.dropFirst()).allSatisfy({ $0 <= $1 })
                else { throw CheckpointError.missingKeys([indicesKey, offsetsKey]) }
                return (0..<(offsets.count - 1)).map { Array(indices[Int(offsets[$0])..<Int(offsets[$0 + 1])]) }
            }
            self.init()
            words = try unpack("words")
            attributes = try unpack("attributes")
            guard words.count == attributes.count, let width = try tensors["items.max_words"]?.int64s().first,
                width > 0
            else { throw CheckpointError.missingKeys(["items.max_words"]) }
            maxWords = Int(width)
        }
    }

    /// Word embeddings → parallel convolutions → max over time, beside the mean attribute
    /// embedding, → a linear layer to `factors`.
    struct Encoder: Layer {
        typealias Scalar = Float
        let wordEmbedding: Embedding<Float>
        let attributeEmbedding: Embedding<Float>
        let convolutions: [Conv1d<Float>]
        let projection: Linear<Float>

        init(
            words: Int, attributes: Int, wordSize: Int, filters: Int, widths: [Int], factors: Int,
            generator: inout SplitMix64
        ) {
            wordEmbedding = Embedding(
                count: words + 1, dimension: wordSize, paddingIndex: 0, standardDeviation: 0.1, using: &generator)
            attributeEmbedding = Embedding(
                count: attributes + 1, dimension: wordSize, paddingIndex: 0, standardDeviation: 0.1, using: &generator)
            convolutions = widths.map {
                Conv1d(inputChannels: wordSize, outputChannels: filters, kernelSize: $0, using: &generator)
            }
            projection = Linear(inputSize: filters * widths.count + wordSize, outputSize: factors, using: &generator)
        }

        var namedParameters: [(name: String, parameter: Parameter<Float>)] {
            wordEmbedding.namedParameters(prefix: "word_embedding")
                + attributeEmbedding.namedParameters(prefix: "attribute_embedding")
                + convolutions.enumerated().flatMap { $0.element.namedParameters(prefix: "convs.\($0.offset)") }
                + projection.namedParameters(prefix: "projection")
        }

        /// `(items, factors)` content vectors for `items` (indices into `tokens`).
        func callAsFunction(_ items: [Int32], tokens: ItemTokens, on tape: Tape<Float>) -> Variable<Float> {
            let n = items.count
            let width = tokens.maxWords
            var wordIDs = [Int32](repeating: 0, count: n * width)
            for (r, item) in items.enumerated() {
                for (t, word) in tokens.words[Int(item)].enumerated() { wordIDs[r * width + t] = word }
            }
            let text = wordEmbedding(wordIDs, shape: [n, width], on: tape).permuted([0, 2, 1])  // (N, E, T)
            let pooled = convolutions.map { conv -> Variable<Float> in
                let extent = width - conv.weight.shape[2] + 1
                return conv(text).relu().maxPool1d(kernel: extent).reshaped([n, conv.weight.shape[0]])
            }
            let longest = max(1, items.map { tokens.attributes[Int($0)].count }.max() ?? 1)
            var attributeIDs = [Int32](repeating: 0, count: n * longest)
            var scale = [Float](repeating: 0, count: n)
            for (r, item) in items.enumerated() {
                let row = tokens.attributes[Int(item)]
                for (t, attribute) in row.enumerated() { attributeIDs[r * longest + t] = attribute }
                scale[r] = row.isEmpty ? 0 : 1 / Float(row.count)
            }
            let attributes =
                attributeEmbedding(attributeIDs, shape: [n, longest], on: tape).sum(alongAxes: [1])
                * tape.constant(Tensor(shape: [n, 1], scalars: scale))
            return projection(Variable.concatenate(pooled + [attributes], axis: 1))
        }
    }

    /// The mean id embedding of a user's items, then a linear layer.
    struct UserTower: Layer {
        typealias Scalar = Float
        let itemEmbedding: Embedding<Float>
        let projection: Linear<Float>

        init(items: Int, factors: Int, generator: inout SplitMix64) {
            itemEmbedding = Embedding(
                count: items + 1, dimension: factors, paddingIndex: 0, standardDeviation: 0.1, using: &generator)
            projection = Linear(inputSize: factors, outputSize: factors, using: &generator)
        }

        var namedParameters: [(name: String, parameter: Parameter<Float>)] {
            itemEmbedding.namedParameters(prefix: "item_embedding") + projection.namedParameters(prefix: "projection")
        }

        func callAsFunction(_ histories: [[Int32]], on tape: Tape<Float>) -> Variable<Float> {
            let n = histories.count
            let longest = max(1, histories.map(\.count).max() ?? 1)
            var ids = [Int32](repeating: 0, count: n * longest)
            var scale = [Float](repeating: 0, count: n)
            for (r, history) in histories.enumerated() {
                for (t, item) in history.enumerated() { ids[r * longest + t] = item + 1 }
                scale[r] = history.isEmpty ? 0 : 1 / Float(history.count)
            }
            let mean =
                itemEmbedding(ids, shape: [n, longest], on: tape).sum(alongAxes: [1])
                * tape.constant(Tensor(shape: [n, 1], scalars: scale))
            return projection(mean)
        }
    }
}

import Foundation
import RecData
import Tensors

/// What a model is asked to score for: a known user and/or a history of items.
///
/// A sequence model reads ``history`` (oldest first), so a brand-new user is served after one
/// click; a collaborative model reads ``history`` too, and uses ``user`` only where it keeps
/// per-user state.
public struct ScoringContext: Sendable, Equatable {
    /// The user's dense index in the training data, or `nil` for a user the model never saw.
    public var user: Int32?
    /// Items the user interacted with, oldest first (dense indices; repeats allowed).
    public var history: [Int32]
    /// The basket (order, session) of each history event, numbered from the oldest and never
    /// decreasing, when known; `nil`: each event is a basket of its own. Models that decay by
    /// baskets (`repeat`, `tifuknn`) read it; the others ignore it.
    public var baskets: [Int32]?

    public init(user: Int32? = nil, history: [Int32], baskets: [Int32]? = nil) {
        precondition(
            baskets.map { $0.count == history.count } ?? true,
            "context: \(baskets?.count ?? 0) baskets for \(history.count) history events")
        self.user = user
        self.history = history
        self.baskets = baskets
    }

    /// The history grouped into baskets, oldest first (each event its own basket without
    /// ``baskets``).
    public var historyBaskets: [[Int32]] {
        guard let baskets, !history.isEmpty else { return history.map { [$0] } }
        var grouped: [[Int32]] = [[history[0]]]
        for index in 1..<history.count {
            if baskets[index] != baskets[index - 1] { grouped.append([]) }
            grouped[grouped.count - 1].append(history[index])
        }
        return grouped
    }
}

/// An item with its score.
public struct ScoredItem: Sendable, Equatable, Codable {
    public var item: Int32
    public var score: Float

    public init(item: Int32, score: Float) {
        self.item = item
        self.score = score
    }
}

/// One reason for a recommendation: a history item, or a named feature, and how much of the
/// score it produced.
public struct Contribution: Sendable, Equatable, Codable {
    /// The history item that contributed, if the reason is an item.
    public var item: Int32?
    /// A readable reason that is not an item (`"popular: 583 events"`).
    public var feature: String?
    /// The share of the score this reason produced (same unit as the score).
    public var weight: Float

    public init(item: Int32? = nil, feature: String? = nil, weight: Float) {
        self.item = item
        self.feature = feature
        self.weight = weight
    }
}

/// Training input: the events to learn from, with the views models need.
public struct TrainingData: Sendable {
    /// The training events; its id maps span every user and item of the data set.
    public let log: InteractionLog
    /// The user × item matrix of ``log`` (repeated events add up).
    public let matrix: CSRMatrix
    /// Item features aligned to the item indices, if any.
    public let itemFeatures: FeatureTable?
    /// User features aligned to the user indices, if any.
    public let userFeatures: FeatureTable?
    /// The protocol's validation cases, for models that stop early (the neural ones); others
    /// ignore them.
    public var validation: [ValidationCase] = []
    /// Where a long training run keeps its checkpoint and epoch log.
    public var control = TrainingControl()
    /// Factors to continue from (the served model's), for models that support a warm start.
    public var warmStart: WarmStart?

    public init(log: InteractionLog, itemFeatures: FeatureTable? = nil, userFeatures: FeatureTable? = nil) {
        self.log = log
        self.matrix = CSRMatrix(log: log)
        self.itemFeatures = itemFeatures
        self.userFeatures = userFeatures
    }

    /// The training part of a split, with the data set's features.
    public init(split: DataSplit, dataset: Dataset? = nil) {
        self.init(log: split.trainingLog(), itemFeatures: dataset?.itemFeatures, userFeatures: dataset?.userFeatures)
    }

    public var userCount: Int { log.userCount }
    public var itemCount: Int { log.itemCount }
}

/// One validation user: the history the model sees, the items it should rank first, and the
/// items left out of the ranking (the training items under `gen-rs`; none under `seq-loo`).
public struct ValidationCase: Sendable, Equatable {
    public var user: Int32
    public var history: [Int32]
    public var targets: [Int32]
    public var mask: [Int32]
    /// The basket number of each history event, when known (``ScoringContext/baskets``).
    public var baskets: [Int32]?

    public init(user: Int32, history: [Int32], targets: [Int32], mask: [Int32] = [], baskets: [Int32]? = nil) {
        self.user = user
        self.history = history
        self.targets = targets
        self.mask = mask
        self.baskets = baskets
    }
}

/// How a training run may run: files it writes besides the model, and the memory it may use.
public struct TrainingControl: Sendable, Equatable {
    /// A checkpoint written after every epoch; when the file exists at the start, training
    /// resumes from it.
    public var checkpoint: URL?
    /// A JSON-lines file with one ``EpochRecord`` per epoch.
    public var epochLog: URL?
    /// Bytes a model may allocate for its largest blocks (``MemoryGuard``); `nil`: the machine's
    /// available memory.
    public var memoryLimit: Int?

    public init(checkpoint: URL? = nil, epochLog: URL? = nil, memoryLimit: Int? = nil) {
        self.checkpoint = checkpoint
        self.epochLog = epochLog
        self.memoryLimit = memoryLimit
    }
}

/// One training epoch of a neural model: what a report plots.
public struct EpochRecord: Sendable, Equatable, Codable {
    public var epoch: Int
    public var loss: Double
    public var validation: [String: Double]
    public var seconds: Double
    public var examplesPerSecond: Double

    public init(epoch: Int, loss: Double, validation: [String: Double], seconds: Double, examplesPerSecond: Double) {
        self.epoch = epoch
        self.loss = loss
        self.validation = validation
        self.seconds = seconds
        self.examplesPerSecond = examplesPerSecond
    }
}

/// The one protocol every model conforms to, so evaluation, the CLI and the server work for all.
///
/// A model is a value: ``fit(_:progress:)`` fills it, after which scoring is read-only and safe
/// to call from several threads at once.
public protocol Recommender: Sendable {
    /// The model's kind, as `--model` and `model.json` name it.
    static var kind: ModelKind { get }

    /// A model with the given hyper-parameters (every key optional; defaults documented per model).
    ///
    /// - Throws: ``ModelError/unknownParameter(model:key:known:)`` or
    ///   ``ModelError/invalidParameter(model:key:value:reason:)``.
    init(parameters: [String: String]) throws

    /// Every hyper-parameter with its value, defaults included, for model cards and `model.json`.
    var parameters: [String: String] { get }

    /// Number of items the model scores (0 before fitting).
    var itemCount: Int { get }

    /// Learns from `data`, replacing what was learned before.
    mutating func fit(_ data: TrainingData, progress: ProgressHandler?) throws

    /// Writes one score per item into `scores` (`itemCount` of them), higher is better.
    /// Items are not masked: the caller removes what it must not recommend.
    ///
    /// - Throws: ``ModelError/notFitted``.
    func score(_ context: ScoringContext, into scores: inout [Float]) throws

    /// Scores several contexts at once, row `r` for `contexts[r]`; equal to calling ``score``
    /// for each. The default runs them on all cores; models with a faster batch path override it.
    func scoreBatch(_ contexts: [ScoringContext]) throws -> Matrix<Float>

    /// The items most similar to `item`, best first, without `item` itself.
    func similarItems(to item: Int32, count: Int) throws -> [ScoredItem]

    /// Why `item` scores what it does for `context`: the contributions that weigh most, largest first.
    func explain(_ context: ScoringContext, item: Int32, count: Int) throws -> [Contribution]

    /// The learned state, as named tensors for `weights.safetensors`.
    func weights() throws -> [String: SafeTensor]

    /// Restores the learned state written by ``weights()``; strict about keys and shapes.
    mutating func load(weights: [String: SafeTensor]) throws

    /// One record per training epoch, for the models that train in epochs and report them
    /// (empty for the others).
    var epochs: [EpochRecord] { get }
}

extension Recommender {
    public var epochs: [EpochRecord] { [] }

    public func scoreBatch(_ contexts: [ScoringContext]) throws -> Matrix<Float> {
        let columns = itemCount
        guard columns > 0 else { throw ModelError.notFitted }
        var result = Matrix<Float>(rows: contexts.count, columns: columns)
        var failure: Error?
        let lock = NSLock()
        result.storage.withUnsafeMutableBufferPointer { output in
            Parallel.forEachChunk(of: 0..<contexts.count) { range in
                var row = [Float](repeating: 0, count: columns)
                for r in range {
                    do {
                        try score(contexts[r], into: &row)
                    } catch {
                        lock.lock()
                        failure = error
                        lock.unlock()
                        return
                    }
                    for c in 0..<columns { output[r * columns + c] = row[c] }
                }
            }
        }
        if let failure { throw failure }
        return result
    }

    /// The `count` best items for `context`, skipping `excluded` items.
    public func recommend(_ context: ScoringContext, count: Int, excluding excluded: Set<Int32> = []) throws
        -> [ScoredItem]
    {
        var scores = [Float](repeating: 0, count: itemCount)
        try score(context, into: &scores)
        return TopK.select(count, from: scores) { !excluded.contains($0) }
    }
}

/// Reports progress of long steps: `(step, done, total)`.
public typealias ProgressHandler = @Sendable (_ step: String, _ done: Int, _ total: Int) -> Void

/// A warm start: a previous model's weights, with its users and items by external identifier,
/// and how many iterations (epochs) to run from them. Users and items the previous model knew
/// start from their rows; new ones start as a cold fit would (rows appended). A model whose
/// shapes differ from the previous one's (other hyper-parameters) trains cold.
public struct WarmStart: Sendable {
    public var userIDs: IDMap
    public var itemIDs: IDMap
    /// The previous model's weights, as ``Recommender/weights()`` gives them.
    public var weights: [String: SafeTensor]
    public var iterations: Int

    public init(userIDs: IDMap, itemIDs: IDMap, weights: [String: SafeTensor], iterations: Int) {
        self.userIDs = userIDs
        self.itemIDs = itemIDs
        self.weights = weights
        self.iterations = iterations
    }

    /// A warm start from a factor model's user and item factors (ALS, BPR).
    public init(userIDs: IDMap, userFactors: Matrix<Float>, itemIDs: IDMap, itemFactors: Matrix<Float>, iterations: Int)
    {
        let trained = [Bool](repeating: true, count: userFactors.rows)
        self.init(
            userIDs: userIDs, itemIDs: itemIDs,
            weights: FactorState.weights(users: userFactors, trainedUsers: trained, items: itemFactors),
            iterations: iterations)
    }

    /// The previous user and item factors, when they are `columns` wide.
    func factors(columns: Int) -> (users: Matrix<Float>, items: Matrix<Float>)? {
        guard let state = try? FactorState.load(weights, columns: columns) else { return nil }
        return (state.users, state.items)
    }

    /// Copies the rows of `previous` (under `previousIDs`) into `rows` (under `ids`) for every
    /// identifier both know; returns how many were copied.
    @discardableResult
    static func copyRows(_ previous: Matrix<Float>, _ previousIDs: IDMap, into rows: inout Matrix<Float>, _ ids: IDMap)
        -> Int
    {
        guard previous.columns == rows.columns else { return 0 }
        return copyRows(
            previous.storage, previousIDs, into: &rows.storage, ids, width: rows.columns, offset: 0)
    }

    /// Copies row `offset + old` of `previous` into row `offset + new` of `rows` (both row-major,
    /// `width` wide) for every identifier known as `old` before and `new` now.
    @discardableResult
    static func copyRows(
        _ previous: [Float], _ previousIDs: IDMap, into rows: inout [Float], _ ids: IDMap, width: Int, offset: Int
    ) -> Int {
        var copied = 0
        for (index, id) in ids.externalIDs.enumerated() {
            guard let old = previousIDs.index(of: id) else { continue }
            let (from, to) = ((offset + Int(old)) * width, (offset + index) * width)
            guard from + width <= previous.count, to + width <= rows.count else { continue }
            for c in 0..<width { rows[to + c] = previous[from + c] }
            copied += 1
        }
        return copied
    }
}

import RecData
import Tensors

/// Recommends what most users interacted with: the score of an item is its number of training
/// events, the same for everyone.
///
/// Every event counts once (RecBole's `Pop` counts an item once per training batch instead,
/// which undercounts; see issue 2). No parameters.
public struct Popularity: Recommender {
    public static let kind = ModelKind.popularity
    /// Training events per item.
    public private(set) var counts: [Float] = []

    public init(parameters: [String: String] = [:]) throws {
        try ParameterReader(model: Self.kind, parameters).finish()
    }

    public var parameters: [String: String] { [:] }
    public var itemCount: Int { counts.count }

    public mutating func fit(_ data: TrainingData, progress: ProgressHandler? = nil) throws {
        counts = [Float](repeating: 0, count: data.itemCount)
        for item in data.log.items { counts[Int(item)] += 1 }
    }

    public func score(_ context: ScoringContext, into scores: inout [Float]) throws {
        guard !counts.isEmpty else { throw ModelError.notFitted }
        scores = counts
    }

    public func similarItems(to item: Int32, count: Int) throws -> [ScoredItem] {
        guard !counts.isEmpty else { throw ModelError.notFitted }
        guard item >= 0 && Int(item) < counts.count else { throw ModelError.unknownItem(item) }
        return TopK.select(count, from: counts) { $0 != item }
    }

    public func explain(_ context: ScoringContext, item: Int32, count: Int) throws -> [Contribution] {
        guard !counts.isEmpty else { throw ModelError.notFitted }
        guard item >= 0 && Int(item) < counts.count else { throw ModelError.unknownItem(item) }
        return [Contribution(feature: "popular: \(Int(counts[Int(item)])) events", weight: counts[Int(item)])]
    }

    public func weights() throws -> [String: SafeTensor] {
        guard !counts.isEmpty else { throw ModelError.notFitted }
        return ["counts": SafeTensor(counts)]
    }

    public mutating func load(weights: [String: SafeTensor]) throws {
        try SafeTensors.requireExactKeys(weights, expected: ["counts"])
        counts = try weights["counts"]?.floats(key: "counts") ?? []
    }
}

/// Scores every item with a deterministic pseudo-random number: the floor any model must beat.
///
/// The score of an item depends only on the seed, the context (user, or history when the user
/// is unknown) and the item, so repeated and batched calls agree.
/// - `seed` (default 2020): changes every score.
public struct RandomRecommender: Recommender {
    public static let kind = ModelKind.random
    public let seed: UInt64
    public private(set) var itemCount = 0

    public init(parameters: [String: String] = [:]) throws {
        var reader = ParameterReader(model: Self.kind, parameters)
        seed = try reader.uint64("seed", default: 2020)
        try reader.finish()
    }

    public var parameters: [String: String] { ["seed": String(seed)] }

    public mutating func fit(_ data: TrainingData, progress: ProgressHandler? = nil) throws {
        itemCount = data.itemCount
    }

    private func contextKey(_ context: ScoringContext) -> UInt64 {
        if let user = context.user { return UInt64(UInt32(bitPattern: user)) }
        return context.history.reduce(0xCBF2_9CE4_8422_2325) { mixHash($0, UInt64(UInt32(bitPattern: $1))) }
    }

    public func score(_ context: ScoringContext, into scores: inout [Float]) throws {
        guard itemCount > 0 else { throw ModelError.notFitted }
        let key = mixHash(seed, contextKey(context))
        if scores.count != itemCount { scores = [Float](repeating: 0, count: itemCount) }
        for item in 0..<itemCount { scores[item] = Float(mixHash(key, UInt64(item)) >> 40) * 0x1.0p-24 }
    }

    public func similarItems(to item: Int32, count: Int) throws -> [ScoredItem] {
        guard item >= 0 && Int(item) < itemCount else { throw ModelError.unknownItem(item) }
        var scores: [Float] = []
        try score(ScoringContext(history: [item]), into: &scores)
        return TopK.select(count, from: scores) { $0 != item }
    }

    public func explain(_ context: ScoringContext, item: Int32, count: Int) throws -> [Contribution] {
        [Contribution(feature: "random", weight: 0)]
    }

    public func weights() throws -> [String: SafeTensor] {
        guard itemCount > 0 else { throw ModelError.notFitted }
        return ["item_count": SafeTensor([Int64(itemCount)])]
    }

    public mutating func load(weights: [String: SafeTensor]) throws {
        try SafeTensors.requireExactKeys(weights, expected: ["item_count"])
        itemCount = Int(try weights["item_count"]?.int64s(key: "item_count").first ?? 0)
    }
}

import Foundation
import RecData
import Tensors

/// Popularity inside each genre: an item scores the mean training popularity of the items that
/// share its genres (the mean over its genres). It needs no interaction with the item itself, so
/// it ranks new items too; the `cold-item` protocol's baseline.
///
/// Genres are the tokens of the item columns named like genre, class, category or tag (see
/// ``FeatureTokens``). Items without a genre score the catalogue's mean popularity.
public struct GenrePopularity: Recommender {
    public static let kind = ModelKind.genrePopularity
    public private(set) var itemScores: [Float] = []

    public init(parameters: [String: String] = [:]) throws {
        try ParameterReader(model: Self.kind, parameters).finish()
    }

    public var parameters: [String: String] { [:] }
    public var itemCount: Int { itemScores.count }

    public mutating func fit(_ data: TrainingData, progress: ProgressHandler? = nil) throws {
        guard let table = data.itemFeatures else {
            throw ModelError.unsuitableData("genrepop needs item features with a genre column")
        }
        let genres = Self.genres(of: table)
        guard genres.contains(where: { !$0.isEmpty }) else {
            throw ModelError.unsuitableData(
                "genrepop found no genre, class, category or tag column in the item features")
        }
        let counts = data.log.itemCounts()
        var total: [String: (events: Double, items: Double)] = [:]
        for (item, tokens) in genres.enumerated() where item < counts.count {
            for genre in Set(tokens) {
                total[genre, default: (0, 0)].events += Double(counts[item])
                total[genre, default: (0, 0)].items += 1
            }
        }
        let mean = Float(counts.reduce(0, +)) / Float(max(1, counts.count))
        itemScores = (0..<data.itemCount).map { item in
            let tokens = item < genres.count ? Set(genres[item]) : []
            guard !tokens.isEmpty else { return mean }
            let sum = tokens.reduce(0.0) { sum, genre in
                let entry = total[genre] ?? (0, 1)
                return sum + entry.events / max(1, entry.items)
            }
            return Float(sum / Double(tokens.count))
        }
    }

    static func genres(of table: FeatureTable) -> [[String]] {
        let listColumns = table.columns.filter { FeatureTokens.isListColumn($0.name) }
        let narrowed = FeatureTable(keyField: table.keyField, keys: table.keys, columns: listColumns)
        return FeatureTokens.tokens(of: narrowed)
    }

    public func score(_ context: ScoringContext, into scores: inout [Float]) throws {
        guard !itemScores.isEmpty else { throw ModelError.notFitted }
        for item in context.history where item < 0 || Int(item) >= itemScores.count {
            throw ModelError.unknownItem(item)
        }
        scores = itemScores
    }

    public func similarItems(to item: Int32, count: Int) throws -> [ScoredItem] {
        guard !itemScores.isEmpty else { throw ModelError.notFitted }
        guard item >= 0, Int(item) < itemScores.count else { throw ModelError.unknownItem(item) }
        return []
    }

    public func explain(_ context: ScoringContext, item: Int32, count: Int) throws -> [Contribution] {
        guard item >= 0, Int(item) < itemScores.count else { throw ModelError.unknownItem(item) }
        return [Contribution(feature: "genre popularity", weight: itemScores[Int(item)])]
    }

    public func weights() throws -> [String: SafeTensor] {
        guard !itemScores.isEmpty else { throw ModelError.notFitted }
        return ["item_scores": SafeTensor(itemScores)]
    }

    public mutating func load(weights: [String: SafeTensor]) throws {
        try SafeTensors.requireExactKeys(weights, expected: ["item_scores"])
        itemScores = try weights["item_scores"]?.floats(key: "item_scores") ?? []
    }
}

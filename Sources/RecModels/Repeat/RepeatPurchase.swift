import Foundation
import RecData
import Tensors

/// What the user bought before, by how often and how lately: personal frequency with an
/// exponential recency decay, the "buy it again" list of grocery and retail.
///
/// The score of an item is `Σ 0.5^(age / halfLife)` over the user's purchases of it, where `age`
/// is how many baskets (or events) ago the purchase was, counted from the newest basket (age 0).
/// Items the user never bought are ranked after the bought ones, by training popularity (a
/// weight of at most 1e-30, below any purchase younger than 99 half-lives), so a list is always
/// full and a new user gets the popular items.
///
/// - `half_life` (default 4): the age at which a purchase counts half; the default is the best of
///   2, 4, 8, 16 and 32 on the Instacart development sample's validation baskets (`next-basket`),
///   see docs/results.md.
/// - `unit` (default `baskets`): `baskets` counts age in baskets (the context's
///   ``ScoringContext/baskets``, one per event without them), `events` in events.
/// - `open_basket` (default `false`): the newest basket is still being filled (next-item
///   prediction inside an order, `seq-loo`; a cart while the user shops), so its items, already
///   in it, are ranked last; ages still count from it. `false` suits `next-basket`, where the
///   newest basket is a finished order whose items are often bought again.
public struct RepeatPurchase: Recommender {
    public static let kind = ModelKind.repeatPurchase
    public let halfLife: Double
    public let unit: String
    public let openBasket: Bool
    /// Training events per item: the order of the items the user never bought.
    public private(set) var popularity: [Float] = []

    public init(parameters: [String: String] = [:]) throws {
        var reader = ParameterReader(model: Self.kind, parameters)
        halfLife = try reader.double("half_life", default: 4, in: 0.01...1e6)
        unit = try reader.choice("unit", default: "baskets", in: ["baskets", "events"])
        openBasket = try reader.choice("open_basket", default: "false", in: ["true", "false"]) == "true"
        try reader.finish()
    }

    public var parameters: [String: String] {
        ["half_life": String(halfLife), "unit": unit, "open_basket": String(openBasket)]
    }

    public var itemCount: Int { popularity.count }

    public mutating func fit(_ data: TrainingData, progress: ProgressHandler? = nil) throws {
        var counts = [Float](repeating: 0, count: data.itemCount)
        for item in data.log.items { counts[Int(item)] += 1 }
        popularity = counts
    }

    /// Each history event's age (0 for the newest basket or event).
    func ages(_ context: ScoringContext) -> [Int] {
        let history = context.history
        guard !history.isEmpty else { return [] }
        if unit == "baskets", let baskets = context.baskets, let newest = baskets.last {
            return baskets.map { Int(newest - $0) }
        }
        return (0..<history.count).map { history.count - 1 - $0 }
    }

    /// The weight of a purchase `age` baskets (or events) ago.
    func decay(_ age: Int) -> Float { Float(pow(0.5, Double(age) / halfLife)) }

    /// The popularity part of a score, per training event: at most 1e-30 in all.
    var popularityScale: Float { 1e-30 / max(1, popularity.max() ?? 1) }

    public func score(_ context: ScoringContext, into scores: inout [Float]) throws {
        guard !popularity.isEmpty else { throw ModelError.notFitted }
        let scale = popularityScale
        if scores.count != popularity.count { scores = [Float](repeating: 0, count: popularity.count) }
        for item in 0..<popularity.count { scores[item] = popularity[item] * scale }
        let ages = ages(context)
        for (item, age) in zip(context.history, ages) where Int(item) < scores.count {
            scores[Int(item)] += decay(age)
        }
        if openBasket, context.baskets != nil {
            for (item, age) in zip(context.history, ages) where age == 0 && Int(item) < scores.count {
                scores[Int(item)] = 0
            }
        }
    }

    public func similarItems(to item: Int32, count: Int) throws -> [ScoredItem] {
        guard !popularity.isEmpty else { throw ModelError.notFitted }
        guard item >= 0 && Int(item) < popularity.count else { throw ModelError.unknownItem(item) }
        return TopK.select(count, from: popularity) { $0 != item }
    }

    /// One reason: `bought 5 times, last 2 baskets ago`, weighing the item's whole repeat score;
    /// or its popularity for an item the user never bought.
    public func explain(_ context: ScoringContext, item: Int32, count: Int) throws -> [Contribution] {
        guard !popularity.isEmpty else { throw ModelError.notFitted }
        guard item >= 0 && Int(item) < popularity.count else { throw ModelError.unknownItem(item) }
        let purchases = zip(context.history, ages(context)).filter { $0.0 == item }
        guard let newest = purchases.map(\.1).min() else {
            let events = Int(popularity[Int(item)])
            return [Contribution(feature: "popular: \(events) events", weight: popularity[Int(item)] * popularityScale)]
        }
        let weight = purchases.reduce(Float(0)) { $0 + decay($1.1) }
        let noun = unit == "baskets" ? "basket" : "event"
        let last = newest == 0 ? "in the last \(noun)" : "last \(newest) \(noun)\(newest == 1 ? "" : "s") ago"
        let times = purchases.count == 1 ? "once" : "\(purchases.count) times"
        return [Contribution(item: item, feature: "bought \(times), \(last)", weight: weight)]
    }

    public func weights() throws -> [String: SafeTensor] {
        guard !popularity.isEmpty else { throw ModelError.notFitted }
        return ["popularity": SafeTensor(popularity)]
    }

    public mutating func load(weights: [String: SafeTensor]) throws {
        try SafeTensors.requireExactKeys(weights, expected: ["popularity"])
        popularity = try weights["popularity"]?.floats(key: "popularity") ?? []
    }
}

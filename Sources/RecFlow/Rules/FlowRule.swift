import Foundation

/// A rule applied after ranking (`[[recommend.rules]]`): it filters, caps or reorders the
/// ranked list. Rules run in the configuration's order.
public protocol FlowRule: Sendable {
    func apply(_ items: [FlowItem], _ request: FlowRequest, catalog: Catalog) -> [FlowItem]
    /// For a rule that decides item by item in list order (a filter or a cap), the decision as a
    /// function called once per item in order, so that the flow can stop once its answer is full;
    /// nil (the default) for a rule that needs the whole list. Called on every item, in order, it
    /// keeps exactly what ``apply(_:_:catalog:)`` keeps.
    func filter(_ request: FlowRequest, catalog: Catalog) -> ((FlowItem) -> Bool)?
}

extension FlowRule {
    public func filter(_ request: FlowRequest, catalog: Catalog) -> ((FlowItem) -> Bool)? { nil }
}

/// A rule that keeps or drops each item by the items kept before it: its ``FlowRule/apply(_:_:catalog:)``
/// is its ``FlowRule/filter(_:catalog:)`` over the list.
public protocol FilterRule: FlowRule {}

extension FilterRule {
    public func apply(_ items: [FlowItem], _ request: FlowRequest, catalog: Catalog) -> [FlowItem] {
        guard let keeps = filter(request, catalog: catalog) else { return items }
        return items.filter(keeps)
    }
}

/// Keeps only items of at least one of `categories`.
public struct CategoryFilter: FilterRule {
    public let categories: Set<String>

    public init(categories: Set<String>) { self.categories = categories }

    public func filter(_ request: FlowRequest, catalog: Catalog) -> ((FlowItem) -> Bool)? {
        { !categories.isDisjoint(with: catalog[$0.itemID]?.categories ?? []) }
    }
}

/// At most `maximum` items of any one category, in list order: an item is skipped when one of
/// its categories is full. Items without categories are never capped.
public struct CategoryCap: FilterRule {
    public let maximum: Int

    public init(maximum: Int) { self.maximum = maximum }

    public func filter(_ request: FlowRequest, catalog: Catalog) -> ((FlowItem) -> Bool)? {
        var counts: [String: Int] = [:]
        return { item in
            guard let categories = catalog[item.itemID]?.categories, !categories.isEmpty else { return true }
            guard categories.allSatisfy({ counts[$0, default: 0] < maximum }) else { return false }
            // A category listed twice counts once.
            for (index, category) in categories.enumerated() where !categories[..<index].contains(category) {
                counts[category, default: 0] += 1
            }
            return true
        }
    }
}

/// Leaves out items whose labels hold `label` (``Catalog/Item/labels``).
public struct HideLabel: FilterRule {
    public let label: String

    public init(label: String) { self.label = label }

    public func filter(_ request: FlowRequest, catalog: Catalog) -> ((FlowItem) -> Bool)? {
        { catalog[$0.itemID]?.labels.contains(label) != true }
    }
}

/// Multiplies the score of items younger than `age` seconds at the request's time by `boost`,
/// then re-sorts (equal scores keep their order).
public struct Freshness: FlowRule {
    public let age: Double
    public let boost: Float

    public init(age: Double, boost: Float) {
        self.age = age
        self.boost = boost
    }

    public func apply(_ items: [FlowItem], _ request: FlowRequest, catalog: Catalog) -> [FlowItem] {
        let now = request.now.timeIntervalSince1970
        let boosted = items.map { item -> FlowItem in
            guard let time = catalog[item.itemID]?.time, now - time < age, time <= now else { return item }
            var fresh = item
            fresh.score *= boost
            return fresh
        }
        return Merge.stableSorted(boosted)
    }
}

/// Maximal marginal relevance (Carbonell & Goldstein 1998): the list is rebuilt greedily, each
/// step taking the item that maximises `λ · relevance − (1 − λ) · max cosine to the items taken`,
/// relevance being the score scaled to [0, 1] over the list. Cosines are of a model's item
/// vectors; an item the model does not know has cosine 0 to every other. Only the first
/// `window` items are re-ranked (the rest follow in their order). Scores are left as they were,
/// so a later rule that sorts by score (`freshness`) undoes the new order: put `mmr` last.
public struct MaximalMarginalRelevance: FlowRule {
    public let lambda: Float
    /// Unit item vectors by item id.
    public let vectors: [String: [Float]]
    public let window: Int

    public init(lambda: Float, vectors: [String: [Float]], window: Int = 200) {
        self.lambda = lambda
        self.vectors = vectors
        self.window = window
    }

    public func apply(_ items: [FlowItem], _ request: FlowRequest, catalog: Catalog) -> [FlowItem] {
        let head = Array(items.prefix(window))
        guard head.count > 1, let low = head.map(\.score).min(), let high = head.map(\.score).max() else {
            return items
        }
        let relevance = head.map { high > low ? ($0.score - low) / (high - low) : 1 }
        let unit = head.map { vectors[$0.itemID] }
        var closest = [Float](repeating: 0, count: head.count)
        var remaining = Array(head.indices)
        var order: [Int] = []
        while !remaining.isEmpty {
            var best = 0
            var bestValue = -Float.infinity
            for (slot, index) in remaining.enumerated() {
                let value = lambda * relevance[index] - (1 - lambda) * closest[index]
                if value > bestValue {
                    bestValue = value
                    best = slot
                }
            }
            let taken = remaining.remove(at: best)
            order.append(taken)
            guard let vector = unit[taken] else { continue }
            for index in remaining {
                guard let other = unit[index] else { continue }
                var dot: Float = 0
                for k in 0..<min(vector.count, other.count) { dot += vector[k] * other[k] }
                closest[index] = max(closest[index], dot)
            }
        }
        return order.map { head[$0] } + items.dropFirst(window)
    }
}

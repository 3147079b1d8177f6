import Foundation

/// A source of candidates for the flow (`[[recommend.sources]]`): given a request, up to
/// `limit` items, best first, each with the source's score and reason.
public protocol CandidateSource: Sendable {
    var name: String { get }
    /// Proposals for `request`, best first, at most `limit`, none that `isExcluded` refuses.
    func propose(_ request: FlowRequest, limit: Int, excluding isExcluded: (String) -> Bool) async throws
        -> [Proposal]
}

/// Whether a source proposes items the user has already touched (`repeat`): those pass the
/// seen filter when replacement is on.
protocol ProposesSeenItems {}

/// What the user bought before, scored by recency in baskets: a purchase `a` baskets before the
/// newest weighs `0.5^(a / half_life)`, summed over the item's purchases (the `repeat` model's
/// rule, over the live history).
struct RepeatSource: CandidateSource, ProposesSeenItems {
    let name: String
    let halfLife: Double

    func propose(_ request: FlowRequest, limit: Int, excluding isExcluded: (String) -> Bool) async throws
        -> [Proposal]
    {
        guard let newest = request.baskets.last else { return [] }
        var score: [String: (weight: Double, times: Int, last: Int32)] = [:]
        for (item, basket) in zip(request.history, request.baskets) where !isExcluded(item) {
            let weight = pow(0.5, Double(newest - basket) / halfLife)
            let previous = score[item] ?? (0, 0, basket)
            score[item] = (previous.weight + weight, previous.times + 1, max(previous.last, basket))
        }
        return score.sorted { ($0.value.weight, $1.key) > ($1.value.weight, $0.key) }.prefix(limit).map { item, entry in
            Proposal(
                itemID: item, score: Float(entry.weight),
                reason: .bought(times: entry.times, basketsAgo: Int(newest - entry.last)))
        }
    }
}

/// The most popular items (by positive feedback, over a window), optionally only those of the
/// request's category or, without one, of the categories of the user's newest items.
struct PopularSource: CandidateSource {
    let name: String
    let popular: PopularItems
    let perCategory: Bool
    let catalog: Refreshing<Catalog>?
    let windowText: String

    func propose(_ request: FlowRequest, limit: Int, excluding isExcluded: (String) -> Bool) async throws
        -> [Proposal]
    {
        var categories: Set<String>?
        if perCategory, let catalog = try await catalog?.get() {
            categories =
                request.category.map { [$0] } ?? Set(request.recentItems(5).flatMap { catalog[$0]?.categories ?? [] })
            if categories?.isEmpty == true { categories = nil }
            let scope = categories.map { " in \($0.sorted().joined(separator: ", "))" } ?? ""
            let depth = popular.depth
            return try await popular.top(depth).filter { entry in
                !isExcluded(entry.itemID)
                    && (categories.map { !$0.isDisjoint(with: catalog[entry.itemID]?.categories ?? []) } ?? true)
            }.prefix(limit).map { proposal($0, scope: scope) }
        }
        // At most the cached depth: a user who has seen most popular items gets fewer of them
        // rather than a scan of the whole log per request.
        let depth = min(popular.depth, limit + request.touched.count + request.hidden.count)
        return try await popular.top(depth).filter { !isExcluded($0.itemID) }.prefix(limit).map {
            proposal($0, scope: "")
        }
    }

    private func proposal(_ entry: PopularItems.Entry, scope: String) -> Proposal {
        Proposal(
            itemID: entry.itemID, score: Float(entry.count),
            reason: .popular(count: entry.count, scope: scope, window: windowText))
    }
}

/// The newest items by their time in the store.
struct LatestSource: CandidateSource {
    let name: String
    let latest: Refreshing<[(itemID: String, timestamp: String)]>

    func propose(_ request: FlowRequest, limit: Int, excluding isExcluded: (String) -> Bool) async throws
        -> [Proposal]
    {
        let items = try await latest.get()
        return items.filter { !isExcluded($0.itemID) }.prefix(limit).enumerated().map { rank, entry in
            Proposal(itemID: entry.itemID, score: Float(limit - rank), reason: .new(entry.timestamp))
        }
    }
}

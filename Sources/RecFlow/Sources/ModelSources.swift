import Foundation
import RecData
import RecModels
import RecRetrieval
import Synchronization

/// A trained model directory served through its retriever (exact scoring or an ANN index), as
/// the one-model server serves it.
public struct ModelSource: CandidateSource {
    public let name: String
    public let bundle: ModelBundle
    public let retriever: Retriever

    public init(name: String, bundle: ModelBundle, retriever: Retriever) {
        self.name = name
        self.bundle = bundle
        self.retriever = retriever
    }

    /// The model's context for a request: the history items it knows, with their baskets; nil
    /// when it knows none of them.
    public func context(_ request: FlowRequest) -> ScoringContext? {
        bundle.context(history: request.history, baskets: request.baskets)
    }

    public func propose(_ request: FlowRequest, limit: Int, excluding isExcluded: (String) -> Bool) async throws
        -> [Proposal]
    {
        guard let context = context(request) else { return [] }
        var blocked = Set<Int32>()
        for item in request.touched.keys where isExcluded(item) {
            if let index = bundle.itemIndex(ItemID(item)) { blocked.insert(index) }
        }
        for item in request.hidden {
            if let index = bundle.itemIndex(ItemID(item)) { blocked.insert(index) }
        }
        let top: [ScoredItem]
        if let allowed = request.allowed {
            let candidates = allowed.compactMap { bundle.itemIndex(ItemID($0)) }.filter { !blocked.contains($0) }
            top = try retriever.recommend(context, among: candidates, count: limit)
        } else {
            top = try retriever.recommend(context, count: limit, excluding: blocked) { !blocked.contains($0) }
        }
        return top.map {
            Proposal(
                itemID: bundle.itemIDs[$0.item], score: $0.score, reason: .score(source: name, score: $0.score))
        }
    }
}

/// Neighbours of the user's newest items under a model: each candidate scored by its best
/// similarity to one of them. An item's neighbours are computed once per flow (a model's
/// similarities do not change while it serves) and kept for up to `cacheLimit` items.
struct ItemToItemSource: CandidateSource {
    let name: String
    let model: ModelSource
    let recent: Int
    let neighbours = NeighbourCache(limit: 100_000)

    /// Neighbour lists by item, computed on first use; when full, new lists are not kept.
    final class NeighbourCache: Sendable {
        let limit: Int
        private let lists = Mutex<[Int32: [ScoredItem]]>([:])

        init(limit: Int) { self.limit = limit }

        func neighbours(of item: Int32, count: Int, _ compute: () throws -> [ScoredItem]) rethrows -> [ScoredItem] {
            if let cached = lists.withLock({ $0[item] }), cached.count >= count { return cached }
            let computed = try compute()
            lists.withLock { if $0.count < limit { $0[item] = computed } }
            return computed
        }
    }

    func propose(_ request: FlowRequest, limit: Int, excluding isExcluded: (String) -> Bool) async throws
        -> [Proposal]
    {
        let bundle = model.bundle
        var best: [String: (score: Float, seed: Int32)] = [:]
        for seed in request.recentItems(recent).compactMap({ bundle.itemIndex(ItemID($0)) }) {
            let found = try neighbours.neighbours(of: seed, count: limit) {
                try model.retriever.similarItems(to: seed, count: limit)
            }
            for neighbour in found.prefix(limit) {
                let id = bundle.itemIDs[neighbour.item]
                guard !isExcluded(id), neighbour.score > (best[id]?.score ?? -.infinity) else { continue }
                best[id] = (neighbour.score, seed)
            }
        }
        return best.sorted { ($0.value.score, $1.key) > ($1.value.score, $0.key) }.prefix(limit).map { id, entry in
            let title = bundle.itemTitles[Int(entry.seed)]
            let seed = title.isEmpty ? bundle.itemIDs[entry.seed] : title
            return Proposal(itemID: id, score: entry.score, reason: .like(seed))
        }
    }
}

/// Neighbours of the user's newest items by what the catalog says of them: each candidate
/// scored by the Jaccard overlap of its categories (or label words) with theirs.
struct SharedTagSource: CandidateSource {
    let name: String
    let catalog: Refreshing<Catalog>
    let byLabels: Bool
    let recent: Int

    func propose(_ request: FlowRequest, limit: Int, excluding isExcluded: (String) -> Bool) async throws
        -> [Proposal]
    {
        let catalog = try await catalog.get()
        let tags = { (item: String) -> Set<String> in
            guard let entry = catalog[item] else { return [] }
            return byLabels ? entry.labels : Set(entry.categories)
        }
        let seeds = request.recentItems(recent)
        let wanted = seeds.reduce(into: Set<String>()) { $0.formUnion(tags($1)) }
        var scored: [String: Float] = [:]
        for tag in wanted.sorted() {
            for item in (byLabels ? catalog.byLabel[tag] : catalog.byCategory[tag]) ?? []
            where scored[item] == nil && !isExcluded(item) {
                let mine = tags(item)
                scored[item] = Float(mine.intersection(wanted).count) / Float(mine.union(wanted).count)
            }
        }
        let noun = byLabels ? "labels" : "categories"
        return scored.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(limit).map { item, score in
            let shared = tags(item).intersection(wanted).sorted().prefix(3).joined(separator: ", ")
            return Proposal(itemID: item, score: score, reason: .text("shares \(noun) \(shared) with what you liked"))
        }
    }
}

/// Items of the users most like this one: users who share the most of the request's newest
/// items (cosine over item sets, from the histories a model was trained on), their items scored
/// by the sum of their similarities. The user's own training history is not a neighbour.
struct UserToUserSource: CandidateSource {
    let name: String
    let histories: [[Int32]]
    let usersOfItem: [[Int32]]
    let itemIDs: IDMap
    let userIDs: IDMap
    let neighbours = 20
    let recent = 50

    init(name: String, bundle: ModelBundle) {
        self.name = name
        histories = bundle.histories.map { Array(Set($0)).sorted() }
        var users = [[Int32]](repeating: [], count: bundle.itemIDs.count)
        for (user, items) in histories.enumerated() {
            for item in items where Int(item) < users.count { users[Int(item)].append(Int32(user)) }
        }
        usersOfItem = users
        itemIDs = bundle.itemIDs
        userIDs = bundle.userIDs
    }

    func propose(_ request: FlowRequest, limit: Int, excluding isExcluded: (String) -> Bool) async throws
        -> [Proposal]
    {
        let mine = request.recentItems(recent).compactMap { itemIDs.index(of: $0) }
        guard !mine.isEmpty else { return [] }
        let me = request.user.flatMap { userIDs.index(of: $0) }
        var overlap: [Int32: Int] = [:]
        for item in mine {
            for user in usersOfItem[Int(item)] where user != me { overlap[user, default: 0] += 1 }
        }
        let similar = overlap.map { user, shared in
            (user, Float(shared) / (Float(mine.count) * Float(histories[Int(user)].count)).squareRoot())
        }.sorted { ($0.1, $1.0) > ($1.1, $0.0) }.prefix(neighbours)
        var scores: [Int32: (score: Float, users: Int)] = [:]
        for (user, similarity) in similar {
            for item in histories[Int(user)] {
                let previous = scores[item] ?? (0, 0)
                scores[item] = (previous.score + similarity, previous.users + 1)
            }
        }
        return scores.map { (id: self.itemIDs[$0.key], entry: $0.value) }.filter { !isExcluded($0.id) }
            .sorted { ($0.entry.score, $1.id) > ($1.entry.score, $0.id) }.prefix(limit).map {
                Proposal(
                    itemID: $0.id, score: $0.entry.score,
                    reason: .similarUsers(users: $0.entry.users, of: similar.count))
            }
    }
}

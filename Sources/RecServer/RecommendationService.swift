import Foundation
import RecData
import RecFlow
import RecModels
import RecRetrieval
import RecStore

/// The server's logic, apart from HTTP: reads the store, scores with the model in use, filters.
public struct RecommendationService: Sendable {
    public let store: any EventStore
    public let registry: ModelRegistry
    /// Feedback types that count as a positive signal; empty means every type does.
    public let positiveTypes: Set<String>
    /// Whether the server is not ready until a model is loaded (it was given one, or follows the
    /// models published in the store); without, popular items are its answer.
    public let expectsModel: Bool
    /// The cold-start answer, read from the store at most once per `popularTTL`.
    let popularItems: PopularItems
    /// Whether and how seen items may come back (`--replacement`); `nil`: never (the default).
    public let replacement: Replacement?
    /// The recommendation flow (`reckit serve --config`), which then answers recommendations
    /// instead of the one model.
    public let flow: FlowHolder?
    /// The flow's source failures, counted.
    public let flowFailures = FlowFailures()

    /// Seen items may be recommended again, their scores multiplied by a decay (Gorse's
    /// `enable_replacement`, `positive_replacement_decay` and `read_replacement_decay`): "buy it
    /// again" for grocery, music or news.
    public struct Replacement: Sendable, Equatable {
        /// The factor for an item the user gave positive feedback (Gorse's default 0.8).
        public var positiveDecay: Float
        /// The factor for an item the user only touched otherwise (read, viewed; Gorse's 0.6).
        public var readDecay: Float

        public init(positiveDecay: Float = 0.8, readDecay: Float = 0.6) {
            self.positiveDecay = positiveDecay
            self.readDecay = readDecay
        }
    }

    /// A `popularTTL` above zero serves the popular items (the cold-start answer and
    /// `/api/popular`) from one store read per interval; zero reads them for every request.
    public init(
        store: any EventStore, registry: ModelRegistry, positiveTypes: Set<String> = [], expectsModel: Bool = false,
        popularTTL: Duration = .zero, replacement: Replacement? = nil, flow: FlowHolder? = nil
    ) {
        self.flow = flow
        self.store = store
        self.registry = registry
        self.positiveTypes = positiveTypes
        self.expectsModel = expectsModel
        self.replacement = replacement
        popularItems = PopularItems(store: store, types: positiveTypes.sorted(), ttl: popularTTL)
    }

    func isPositive(_ type: String) -> Bool { positiveTypes.isEmpty || positiveTypes.contains(type) }

    /// A scored item in external identifiers.
    public struct Scored: Sendable, Equatable {
        public var itemID: String
        public var score: Float
        /// Under a flow, the sources that proposed the item.
        public var origins: [FlowItem.Origin] = []
    }

    struct Request {
        var history: [String]
        /// The basket number of each history item: rows with one timestamp share a basket.
        var baskets: [Int32]
        /// Items never to recommend: the hidden ones, and the seen ones unless replaced.
        var excluded: Set<String>
        /// With ``replacement``, each seen item's score factor.
        var decay: [String: Float] = [:]
        var category: String?
        var count: Int
        var offset: Int
    }

    /// A user's ranking request from one store read: their positive items (oldest first, in
    /// baskets), with the hidden items and, unless replaced, every item they touched excluded.
    ///
    /// Rows timestamped after now (written back with a delay) are left out by the store; their
    /// times are read only when `snapshot`'s model reads baskets.
    func request(
        user: String, count: Int, offset: Int, category: String?, for snapshot: ModelRegistry.Snapshot?
    ) async throws -> Request {
        let (feedback, hidden) = try await store.rankingInputs(
            ofUser: user, asOf: StoreTimestamp.text(unixSeconds: Date().timeIntervalSince1970),
            times: snapshot.map { type(of: $0.bundle.model).kind.readsBaskets } ?? false)
        let positive = feedback.filter { isPositive($0.type) }
        var request = Request(
            history: positive.map(\.itemID), baskets: FlowRequest.basketNumbers(positive.map(\.timestamp)),
            excluded: hidden, category: category, count: count, offset: offset)
        if let replacement {
            for row in feedback {
                let factor = isPositive(row.type) ? replacement.positiveDecay : replacement.readDecay
                request.decay[row.itemID] = max(request.decay[row.itemID] ?? 0, factor)
            }
        } else {
            request.excluded.formUnion(feedback.map(\.itemID))
        }
        return request
    }

    /// Recommendations for a user: their newest history from the store, so the next request
    /// reflects every acknowledged event; seen and hidden items never appear.
    public func recommend(user: String, count: Int, offset: Int = 0, category: String? = nil) async throws -> [Scored] {
        if let flow = flow?.current().flow {
            return try await recommend(user: user, count: count, offset: offset, category: category, flow: flow)
        }
        let snapshot = await registry.current()
        let request = try await request(
            user: user, count: count, offset: offset, category: category, for: snapshot)
        return try await rank(request, with: snapshot)
    }

    /// Recommendations for an anonymous session from the feedback it sent.
    public func recommend(session feedback: [StoredFeedback], count: Int, offset: Int = 0) async throws -> [Scored] {
        if let flow = flow?.current().flow {
            return try await recommend(session: feedback, count: count, offset: offset, flow: flow)
        }
        let positive = feedback.filter { isPositive($0.feedbackType) }
        let request = Request(
            history: positive.map(\.itemID), baskets: FlowRequest.basketNumbers(positive.map(\.timestamp)),
            excluded: Set(feedback.map(\.itemID)).union(try await store.hiddenItems()), category: nil, count: count,
            offset: offset)
        return try await rank(request, with: await registry.current())
    }

    /// Ranks with `snapshot` (taken once by the caller), or by popularity without a model or
    /// without a history the model knows. Seen and hidden items are filtered inside retrieval, so
    /// an ANN index fetches past them; a category is ranked exactly over its own items.
    func rank(_ request: Request, with snapshot: ModelRegistry.Snapshot?) async throws -> [Scored] {
        var allowedCategory: Set<String>?
        if let category = request.category { allowedCategory = try await store.items(inCategory: category) }
        let wanted = request.count + request.offset
        if let snapshot, let context = Self.context(request, snapshot.bundle) {
            var blocked = Set<Int32>()
            for item in request.excluded {
                if let index = snapshot.label(of: item) { blocked.insert(index) }
            }
            // Replaced items may fall below others once decayed: fetch enough to re-rank.
            let fetched = wanted + request.decay.count
            let top: [ScoredItem]
            if let allowedCategory {
                let candidates = allowedCategory.compactMap { snapshot.label(of: $0) }.filter { !blocked.contains($0) }
                top = try snapshot.retriever.recommend(context, among: candidates, count: fetched)
            } else {
                top = try snapshot.retriever.recommend(context, count: fetched, excluding: blocked) {
                    !blocked.contains($0)
                }
            }
            let scored = top.compactMap { entry in
                snapshot.id(of: entry.item).map { Scored(itemID: $0, score: entry.score) }
            }
            return Array(Self.decayed(scored, request.decay).prefix(wanted).dropFirst(request.offset))
        }
        // Cold start: the most popular items this user has not seen (or, replaced, decayed).
        let excluded = request.excluded.union(request.decay.isEmpty ? Set(request.history) : [])
        // At most the cached depth: past it, every request would count the whole log.
        let candidates = try await popularItems.top(
            min(popularItems.depth, 10 * wanted + excluded.count + request.decay.count))
        let popular = candidates.filter {
            !excluded.contains($0.itemID) && (allowedCategory?.contains($0.itemID) ?? true)
        }.map { Scored(itemID: $0.itemID, score: Float($0.count)) }
        return Array(Self.decayed(popular, request.decay).prefix(wanted).dropFirst(request.offset))
    }

    /// The model's context for a request: the history items it knows, with their baskets; nil
    /// when it knows none of them.
    static func context(_ request: Request, _ bundle: ModelBundle) -> ScoringContext? {
        bundle.context(history: request.history, baskets: request.baskets)
    }

    /// `list` with each replaced item's score multiplied by its decay, best first (a stable sort:
    /// equal scores keep the model's order).
    static func decayed(_ list: [Scored], _ decay: [String: Float]) -> [Scored] {
        guard !decay.isEmpty else { return list }
        let scaled = list.enumerated().map { position, entry in
            (position, Scored(itemID: entry.itemID, score: entry.score * (decay[entry.itemID] ?? 1)))
        }
        return scaled.sorted { ($0.1.score, -$0.0) > ($1.1.score, -$1.0) }.map(\.1)
    }

    /// Places items the model has never seen in its ANN index, without a rebuild, when the model
    /// can read their content (TextCNN: title and categories); they can be recommended at once.
    /// A hidden item is placed but kept out of results. Returns how many were placed.
    @discardableResult
    public func place(_ items: [StoredItem]) async throws -> Int {
        guard let snapshot = await registry.current(), let index = snapshot.retriever.index,
            let encoder = snapshot.bundle.model as? any ContentDescribing
        else { return 0 }
        var placed = 0
        for item in items where snapshot.label(of: item.itemID) == nil {
            let label = try index.add(try encoder.scoringVector(title: item.comment, categories: item.categories))
            snapshot.added.insert(item.itemID, label: label)
            if item.isHidden { try index.setRemoved(label, true) }
            placed += 1
        }
        return placed
    }

    /// Places items the model has never seen, and that were not placed yet, in its ANN index
    /// from the users who gave them feedback, when the model places items that way (ALS: the
    /// item's factor with the user factors fixed): an item added without content becomes
    /// recommendable once a user the model knows gives it feedback, before any retraining. The
    /// vector is made once, from the feedback at that moment; a retrain refines it. Returns how
    /// many were placed.
    @discardableResult
    public func placeFromFeedback(_ feedback: [StoredFeedback]) async throws -> Int {
        guard let snapshot = await registry.current(), let index = snapshot.retriever.index,
            let model = snapshot.bundle.model as? any InteractionPlacing
        else { return 0 }
        let bundle = snapshot.bundle
        // Only feedback from users the model knows can place an item: read the store for the rest.
        let candidates = Set(
            feedback.filter { bundle.userIDs.index(of: $0.userID) != nil }.map(\.itemID)
        ).filter { snapshot.label(of: $0) == nil }
        var placed = 0
        for item in candidates.sorted() {
            var events: [Int32: Float] = [:]
            for entry in try await store.feedbackOnItem(item)
            where isPositive(entry.type) {
                if let user = bundle.userIDs.index(of: entry.userID) { events[user, default: 0] += 1 }
            }
            guard let vector = try model.itemVector(fromUsers: events.map { (user: $0.key, count: $0.value) }) else {
                continue
            }
            let label = try index.add(vector)
            // Two requests placing the same item at once: the first keeps its label.
            guard snapshot.added.insertIfAbsent(item, label: label) else {
                try index.setRemoved(label, true)
                continue
            }
            placed += 1
        }
        return placed
    }

    /// Keeps a hidden or deleted item out of the index's results (or brings it back); the
    /// store's hidden list filters every answer regardless, so this only saves the search work.
    public func setRemoved(_ item: String, _ removed: Bool) async throws {
        guard let snapshot = await registry.current(), let index = snapshot.retriever.index,
            let label = snapshot.label(of: item)
        else { return }
        try index.setRemoved(label, removed)
    }

    /// Items most similar to `item` under the model in use; `nil` if the model does not know it.
    public func neighbors(of item: String, count: Int, offset: Int = 0) async throws -> [Scored]? {
        guard let snapshot = await registry.current(), let index = snapshot.bundle.itemIndex(ItemID(item)) else {
            return nil
        }
        let bundle = snapshot.bundle
        let hidden = try await store.hiddenItems()
        return try snapshot.retriever.similarItems(to: index, count: count + offset + hidden.count)
            .filter { !hidden.contains(bundle.itemIDs[$0.item]) }.prefix(count + offset).dropFirst(offset)
            .map { Scored(itemID: bundle.itemIDs[$0.item], score: $0.score) }
    }

    /// The user's recommendations, each with the history items that produced it: one model
    /// snapshot and one store read, so the reasons belong to the model that ranked.
    public func explain(user: String, count: Int, category: String? = nil) async throws -> [ExplainedRecommendation] {
        guard let snapshot = await registry.current() else { return [] }
        let bundle = snapshot.bundle
        let request = try await request(user: user, count: count, offset: 0, category: category, for: snapshot)
        let context = Self.context(request, bundle)
        return try await rank(request, with: snapshot).compactMap { scored -> ExplainedRecommendation? in
            guard let index = bundle.itemIndex(ItemID(scored.itemID)) else { return nil }
            let reasons = try context.map { try bundle.model.explain($0, item: index, count: 3) } ?? []
            return ExplainedRecommendation(
                itemID: scored.itemID, title: bundle.itemTitles[Int(index)], score: scored.score,
                reasons: reasons.map { reason in
                    ExplainedReason(
                        itemID: reason.item.map { bundle.itemIDs[$0] },
                        title: reason.item.map { bundle.itemTitles[Int($0)] },
                        feature: reason.feature, weight: reason.weight)
                })
        }
    }

    /// The most popular items by number of positive feedback rows, after `offset`.
    public func popular(count: Int, offset: Int = 0) async throws -> [Scored] {
        try await popularItems.top(count + offset).dropFirst(offset).map {
            Scored(itemID: $0.itemID, score: Float($0.count))
        }
    }

    /// The newest items by timestamp; the score counts down from `count`, so newer is higher.
    public func latest(count: Int) async throws -> [Scored] {
        try await store.latestItems(count: count).enumerated().map {
            Scored(itemID: $0.element.itemID, score: Float(count - $0.offset))
        }
    }
}

import Foundation
import RecModels
import RecStore

/// A recommendation flow at work: its sources propose candidates, the merge (or a ranker) orders
/// them, seen items are dropped or decayed, the rules filter and reorder, and every item keeps
/// the sources that proposed it. Built once from a ``FlowConfiguration`` (``build(_:directory:store:retrieval:refresh:log:)``)
/// and shared by every request; a reload builds a new one.
public struct Flow: Sendable {
    /// One configured source.
    public struct Source: Sendable {
        public var configuration: SourceConfiguration
        public var source: any CandidateSource
    }

    public let configuration: FlowConfiguration
    public let sources: [Source]
    /// The model sources by name (for explanations and the model card).
    public let models: [String: ModelSource]
    let rules: [any FlowRule]
    /// The items' categories, labels and times, when a source or rule needs them.
    let catalog: Refreshing<Catalog>?
    /// The answer's last resort: popular items, when the sources and rules leave it short.
    let fallback: PopularItems
    /// `[recommend.ranker] type = "model"`: scores every merged candidate with features.
    let ranker: (any CandidateRanker)?

    /// What a request got: the items, and the sources that failed (by name, with the reason).
    public struct Answer: Sendable {
        public var items: [FlowItem]
        public var failures: [String: String]
    }

    /// Whether feedback of `type` is positive (`positive_feedback_types`; empty: every type).
    public func isPositive(_ type: String) -> Bool {
        configuration.positiveFeedbackTypes.isEmpty || configuration.positiveFeedbackTypes.contains(type)
    }

    /// Whether a source reads the history's baskets (`repeat`, or a model that reads them): only
    /// then are the feedback rows' times read, a cost per row.
    var readsBaskets: Bool {
        sources.contains { entry in
            entry.source is RepeatSource
                || (entry.source as? ModelSource).map { type(of: $0.bundle.model).kind.readsBaskets } == true
        }
    }

    /// A user's request from one store read (their feedback and the hidden items), and the items
    /// of `category` when one is asked for.
    public func request(
        user: String, count: Int, offset: Int = 0, category: String? = nil, store: any EventStore, now: Date = Date()
    ) async throws -> FlowRequest {
        let (feedback, hidden) = try await store.rankingInputs(
            ofUser: user, asOf: StoreTimestamp.text(unixSeconds: now.timeIntervalSince1970), times: readsBaskets)
        var request = FlowRequest.from(
            feedback: feedback, user: user, hidden: hidden, isPositive: isPositive, count: count, offset: offset,
            now: now)
        request.category = category
        if let category { request.allowed = try await store.items(inCategory: category) }
        return request
    }

    /// Whether `item` must not be proposed: hidden, outside the request's category, or touched
    /// by the user while seen items are not replaced.
    func isExcluded(_ item: String, _ request: FlowRequest) -> Bool {
        !request.isShowable(item) || (configuration.replacement == nil && request.touched[item] != nil)
    }

    /// The ranked list for `request`, at most `request.count` items after `request.offset`.
    public func recommend(_ request: FlowRequest) async -> Answer {
        var failures: [String: String] = [:]
        let lists = await proposals(request, failures: &failures)
        var merged: [FlowItem]
        switch configuration.ranker.merge {
        case .fusion: merged = Merge.fusion(lists, weights: configuration.ranker.weights)
        case .roundRobin: merged = Merge.roundRobin(lists, quotas: configuration.ranker.quotas)
        }
        if let ranker {
            do {
                merged = try ranked(merged, by: ranker, request)
            } catch {
                failures["ranker"] = "\(error)"
            }
        }
        merged = decayed(merged, request)
        let catalog = await catalogSnapshot(&failures)
        var ranked = applyRules(merged, request, catalog)
        if ranked.count < request.wanted {
            let extra = await fallbackItems(request, present: Set(merged.map(\.itemID)), failures: &failures)
            ranked = applyRules(merged + extra, request, catalog)
        }
        return Answer(items: Array(ranked.prefix(request.wanted).dropFirst(request.offset)), failures: failures)
    }

    /// Every source's proposals, in the configuration's order: outside sources are asked first
    /// and concurrently, so their wait overlaps the others' work. A source that fails gives
    /// nothing and is reported.
    func proposals(_ request: FlowRequest, failures: inout [String: String]) async -> [Merge.Proposals] {
        let excluded = { (item: String) in self.isExcluded(item, request) }
        var remote: [Int: Task<[Proposal], any Error>] = [:]
        for (index, entry) in sources.enumerated() where entry.source is ExternalSource {
            let source = entry.source
            let limit = entry.configuration.candidates
            remote[index] = Task { try await source.propose(request, limit: limit) { self.isExcluded($0, request) } }
        }
        var lists: [Merge.Proposals] = []
        for (index, entry) in sources.enumerated() {
            do {
                let proposals: [Proposal]
                if let task = remote[index] {
                    proposals = try await task.value
                } else {
                    proposals = try await entry.source.propose(
                        request, limit: entry.configuration.candidates, excluding: excluded)
                }
                lists.append(Merge.Proposals(source: entry.configuration.name, proposals: proposals))
            } catch {
                failures[entry.configuration.name] = "\(error)"
            }
        }
        return lists
    }

    /// The candidates ordered by the ranker's click probability for this user, at the request's
    /// time, after their newest 50 items; equal scores keep the merge's order.
    func ranked(_ items: [FlowItem], by ranker: any CandidateRanker, _ request: FlowRequest) throws -> [FlowItem] {
        let scores = try ranker.score(
            RankingRequest(
                user: request.user ?? "", candidates: items.map(\.itemID), time: request.now.timeIntervalSince1970,
                sequence: Array(request.history.suffix(50))))
        return Merge.stableSorted(
            zip(items, scores).map { item, score in
                var scored = item
                scored.score = score
                return scored
            })
    }

    /// With replacement, each item the user touched has its score multiplied by the positive or
    /// the read decay, and the list is re-sorted.
    func decayed(_ items: [FlowItem], _ request: FlowRequest) -> [FlowItem] {
        guard let replacement = configuration.replacement else { return items }
        var changed = false
        let scaled = items.map { item -> FlowItem in
            guard let positive = request.touched[item.itemID] else { return item }
            var decayed = item
            decayed.score *= Float(positive ? replacement.positiveDecay : replacement.readDecay)
            changed = true
            return decayed
        }
        return changed ? Merge.stableSorted(scaled) : items
    }

    func catalogSnapshot(_ failures: inout [String: String]) async -> Catalog {
        guard let catalog else { return Catalog() }
        do {
            return try await catalog.get()
        } catch {
            failures["catalog"] = "\(error)"
            return Catalog()
        }
    }

    /// The rules over `items`, in order, as far as the answer needs: once only item-by-item
    /// rules (filters and caps) are left, items go through them one at a time until `wanted` are
    /// kept, so a list of hundreds of candidates costs what its first few dozen cost.
    func applyRules(_ items: [FlowItem], _ request: FlowRequest, _ catalog: Catalog) -> [FlowItem] {
        Self.apply(rules, to: items, request, catalog)
    }

    static func apply(_ rules: [any FlowRule], to items: [FlowItem], _ request: FlowRequest, _ catalog: Catalog)
        -> [FlowItem]
    {
        var filters: [(FlowItem) -> Bool] = []
        var whole = rules.count
        while whole > 0, let keeps = rules[whole - 1].filter(request, catalog: catalog) {
            filters.insert(keeps, at: 0)
            whole -= 1
        }
        let listed = rules.prefix(whole).reduce(items) { $1.apply($0, request, catalog: catalog) }
        guard !filters.isEmpty else { return listed }
        var kept: [FlowItem] = []
        kept.reserveCapacity(request.wanted)
        for item in listed where filters.allSatisfy({ $0(item) }) {
            kept.append(item)
            if kept.count == request.wanted { break }
        }
        return kept
    }

    /// Popular items not yet in the list and not excluded, after everything else.
    func fallbackItems(_ request: FlowRequest, present: Set<String>, failures: inout [String: String]) async
        -> [FlowItem]
    {
        do {
            let depth = min(
                fallback.depth, 10 * request.wanted + request.touched.count + request.hidden.count + present.count)
            let popular = try await fallback.top(depth).filter {
                !present.contains($0.itemID) && !isExcluded($0.itemID, request)
            }
            return popular.prefix(2 * request.wanted).enumerated().map { rank, entry in
                FlowItem(
                    itemID: entry.itemID, score: -Float(rank + 1),
                    origins: [
                        .init(
                            source: "fallback", score: Float(entry.count), rank: rank,
                            reason: .popular(count: entry.count, scope: "", window: "in all")
                        )
                    ])
            }
        } catch {
            failures["fallback"] = "\(error)"
            return []
        }
    }
}

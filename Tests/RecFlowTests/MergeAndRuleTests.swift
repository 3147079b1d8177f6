import Foundation
import RecStore
import Testing

@testable import RecFlow

/// The merge, each rule and the sources that need no store or model, against answers worked out
/// by hand.
@Suite struct MergeAndRuleTests {
    func proposals(_ source: String, _ entries: [(String, Float)]) -> Merge.Proposals {
        Merge.Proposals(
            source: source, proposals: entries.map { Proposal(itemID: $0.0, score: $0.1, reason: .text("r")) })
    }

    func request(history: [String] = [], touched: [String: Bool] = [:], now: Date = Date()) -> FlowRequest {
        FlowRequest(
            user: "u", history: history, baskets: FlowRequest.basketNumbers(history.map { _ in "" }), touched: touched,
            hidden: [], count: 10, now: now)
    }

    func catalog(_ items: [StoredItem]) -> Catalog {
        items.reduce(into: Catalog()) { $0.add($1) }
    }

    /// Scores are scaled within each source: a: x 1, y 0; b: y 1, z 0.5, w 0. With weights a 2,
    /// b 1: x 2, y 1, z 0.5, w 0.
    @Test func fusionScalesEachSourceAndWeighsIt() {
        let merged = Merge.fusion(
            [proposals("a", [("x", 10), ("y", 4)]), proposals("b", [("y", 3), ("z", 2), ("w", 1)])],
            weights: ["a": 2])
        #expect(merged.map(\.itemID) == ["x", "y", "z", "w"])
        #expect(merged.map(\.score) == [2, 1, 0.5, 0])
        #expect(merged[1].origins.map(\.source) == ["a", "b"])
        #expect(merged[1].origins.map(\.rank) == [1, 0])
    }

    /// Sources take turns in order, skip what is placed, and stop at their quota.
    @Test func roundRobinTakesTurnsUpToQuotas() {
        let merged = Merge.roundRobin(
            [proposals("a", [("x", 3), ("y", 2), ("z", 1)]), proposals("b", [("x", 9), ("v", 8), ("w", 7)])],
            quotas: ["a": 2])
        #expect(merged.map(\.itemID) == ["x", "v", "y", "w"])
        #expect(merged.map(\.score) == [4, 3, 2, 1])
        #expect(merged[0].origins.map(\.source) == ["a", "b"])
    }

    @Test func categoryFilterAndCap() {
        let items = ["a", "b", "c", "d", "e"].map { FlowItem(itemID: $0, score: 1, origins: []) }
        let catalog = catalog([
            StoredItem(itemID: "a", categories: ["food"]), StoredItem(itemID: "b", categories: ["food", "toys"]),
            StoredItem(itemID: "c", categories: ["food"]), StoredItem(itemID: "d", categories: ["toys"]),
            StoredItem(itemID: "e"),
        ])
        let capped = CategoryCap(maximum: 2).apply(items, request(), catalog: catalog)
        #expect(capped.map(\.itemID) == ["a", "b", "d", "e"])
        let filtered = CategoryFilter(categories: ["toys"]).apply(items, request(), catalog: catalog)
        #expect(filtered.map(\.itemID) == ["b", "d"])
    }

    /// The flow stops at the answer's length once only filters and caps are left, and keeps what
    /// applying every rule to the whole list and cutting it would keep.
    @Test func filtersStopOnceTheAnswerIsFull() {
        let categories = ["food", "toys", "books", "tools"]
        let stored = (0..<300).map { index in
            StoredItem(
                itemID: "i\(index)", categories: index % 7 == 0 ? [] : [categories[index % 4], categories[index % 3]],
                labels: .array(index % 5 == 0 ? [.string("out_of_stock")] : []))
        }
        let catalog = catalog(stored)
        // Scores in a scrambled order, some equal.
        let items = stored.indices.map { FlowItem(itemID: stored[$0].itemID, score: Float($0 * 37 % 101), origins: []) }
        let rules: [[any FlowRule]] = [
            [CategoryCap(maximum: 2), HideLabel(label: "out_of_stock")],
            [HideLabel(label: "out_of_stock"), CategoryCap(maximum: 1), CategoryFilter(categories: ["food", "toys"])],
            [CategoryCap(maximum: 3), Freshness(age: 1, boost: 2), CategoryCap(maximum: 1)],
        ]
        for chain in rules {
            for count in [1, 10, 40] {
                var asked = request()
                asked.count = count
                let whole = chain.reduce(items) { $1.apply($0, asked, catalog: catalog) }
                let answer = Flow.apply(chain, to: items, asked, catalog)
                #expect(answer.map(\.itemID) == whole.prefix(count).map(\.itemID))
            }
        }
    }

    @Test func hideLabelReadsArraysAndObjects() {
        let items = ["a", "b", "c", "d"].map { FlowItem(itemID: $0, score: 1, origins: []) }
        let catalog = catalog([
            StoredItem(itemID: "a", labels: .array([.string("out_of_stock")])),
            StoredItem(itemID: "b", labels: .object(["out_of_stock": .bool(true)])),
            StoredItem(itemID: "c", labels: .object(["out_of_stock": .bool(false)])),
            StoredItem(itemID: "d", labels: .object(["brand": .string("acme")])),
        ])
        #expect(HideLabel(label: "out_of_stock").apply(items, request(), catalog: catalog).map(\.itemID) == ["c", "d"])
    }

    /// An item 2 days old is boosted past a better one 30 days old; one without a time is not.
    @Test func freshnessBoostsYoungItemsOnly() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let text = { (days: Double) in StoreTimestamp.text(unixSeconds: now.timeIntervalSince1970 - days * 86_400) }
        let catalog = catalog([
            StoredItem(itemID: "old", timestamp: text(30)), StoredItem(itemID: "new", timestamp: text(2)),
            StoredItem(itemID: "unknown"),
        ])
        let items = [("old", Float(1.0)), ("unknown", 0.95), ("new", 0.9)].map {
            FlowItem(itemID: $0.0, score: $0.1, origins: [])
        }
        let fresh = Freshness(age: 7 * 86_400, boost: 1.2).apply(items, request(now: now), catalog: catalog)
        #expect(fresh.map(\.itemID) == ["new", "old", "unknown"])
        #expect(abs(fresh[0].score - 1.08) < 1e-6)
    }

    /// Two near-copies lead the list; with λ = 0.5 the second copy falls behind the different
    /// item, with λ = 1 the order stays.
    @Test func maximalMarginalRelevanceSpreadsNearCopies() {
        let vectors: [String: [Float]] = ["a": [1, 0], "a2": [0.995, 0.0998], "b": [0, 1]]
        let items = [("a", Float(1.0)), ("a2", 0.95), ("b", 0.8)].map {
            FlowItem(itemID: $0.0, score: $0.1, origins: [])
        }
        let diverse = MaximalMarginalRelevance(lambda: 0.5, vectors: vectors).apply(
            items, request(), catalog: Catalog())
        #expect(diverse.map(\.itemID) == ["a", "b", "a2"])
        let same = MaximalMarginalRelevance(lambda: 1, vectors: vectors).apply(items, request(), catalog: Catalog())
        #expect(same.map(\.itemID) == ["a", "a2", "b"])
    }

    /// Baskets t1 (x, y), t2 (x), t3 (z): ages 2, 1, 0 with half-life 1: x 0.25 + 0.5, y 0.25, z 1.
    @Test func repeatScoresByBasketAge() async throws {
        let feedback = [("x", "t1"), ("y", "t1"), ("x", "t2"), ("z", "t3")].map {
            (type: "buy", itemID: $0.0, timestamp: "2026-01-0\($0.1.dropFirst())T00:00:00Z")
        }
        let request = FlowRequest.from(feedback: feedback, user: "u", hidden: [], isPositive: { _ in true }, count: 10)
        #expect(request.baskets == [0, 0, 1, 2])
        let proposed = try await RepeatSource(name: "again", halfLife: 1).propose(request, limit: 10) { _ in false }
        #expect(proposed.map(\.itemID) == ["z", "x", "y"])
        #expect(proposed.map(\.score) == [1, 0.75, 0.25])
        #expect(proposed[1].reason.text == "bought 2 times, last 1 basket ago")
    }

    /// A row timestamped after the request (an impression written back with a delay; rows come
    /// in time order) is not history and not seen yet.
    @Test func futureRowsDoNotCountYet() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let later = StoreTimestamp.text(unixSeconds: now.timeIntervalSince1970 + 600)
        let earlier = StoreTimestamp.text(unixSeconds: now.timeIntervalSince1970 - 600)
        let request = FlowRequest.from(
            feedback: [("like", "a", earlier), ("read", "c", earlier), ("like", "b", later)], user: "u", hidden: [],
            isPositive: { $0 == "like" }, count: 10, now: now)
        #expect(request.history == ["a"])
        #expect(request.touched == ["a": true, "c": false])
    }

    /// A deadline ends the wait even when the work ignores cancellation: the answer is the
    /// deadline's error, not the work's value, which comes 10 s later. (How soon the waiting task
    /// resumes depends on the test pool's threads, which other suites keep busy: not asserted.)
    @Test func deadlineEndsAWaitForWorkThatNeverStops() async {
        do {
            let value = try await ExternalSource.withDeadline(seconds: 0.2, name: "slow") { () async throws -> Int in
                // Waits 10 s whatever happens, holding no thread.
                await withCheckedContinuation { done in
                    DispatchQueue.global().asyncAfter(deadline: .now() + 10) { done.resume() }
                }
                return 1
            }
            Issue.record("the work's value \(value) came before the deadline")
        } catch {
            #expect("\(error)" == "no answer within 0.2 s")
        }
    }

    @Test func externalAnswersParseInBothShapes() throws {
        #expect(try ExternalSource.parse(Data(#"["a","b"]"#.utf8)).map(\.id) == ["a", "b"])
        let scored = try ExternalSource.parse(Data(#"[{"Id":"a","Score":2.5}]"#.utf8))
        #expect(scored.map(\.id) == ["a"] && scored.map(\.score) == [2.5])
        #expect(throws: ExternalSource.Failure.self) { try ExternalSource.parse(Data(#"{"a":1}"#.utf8)) }
    }
}

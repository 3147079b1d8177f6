import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import RecData
import RecFlow
import RecModels
import RecRetrieval
import RecStore
import Testing
import _RecTestSupport

@testable import RecServer

struct PopularCacheTests {
    func like(_ user: String, _ item: String) -> StoredFeedback {
        StoredFeedback(feedbackType: "like", userID: user, itemID: item)
    }

    /// Popular items are read once per TTL: feedback that changes the order shows after the TTL,
    /// not before (the first request after it is answered from the old read and starts a new
    /// one); a request deeper than the cached read goes to the store.
    @Test func popularItemsAreReadOncePerTTL() async throws {
        let folder = temporaryDirectory("popular")
        let store: any EventStore = try SQLiteEventStore(path: folder.appendingPathComponent("e.sqlite").path)
        try await store.insertFeedback([like("u1", "a"), like("u2", "a"), like("u1", "b")], overwrite: false)
        func service(_ ttl: Duration) throws -> RecommendationService {
            RecommendationService(store: store, registry: try ModelRegistry(bundle: nil), popularTTL: ttl)
        }
        let (cached, short) = (try service(.seconds(600)), try service(.milliseconds(100)))
        #expect(try await cached.popular(count: 1).map(\.itemID) == ["a"])
        #expect(try await short.popular(count: 1).map(\.itemID) == ["a"])
        try await store.insertFeedback([like("u3", "b"), like("u4", "b")], overwrite: false)
        #expect(try await cached.popular(count: 1).map(\.itemID) == ["a"], "served from the cached read")
        try await Task.sleep(for: .milliseconds(150))
        #expect(
            try await short.popular(count: 2).map(\.itemID) == ["a", "b"],
            "after the TTL the old read answers while a new one runs")
        var updated: [String] = []
        for _ in 0..<100 where updated != ["b", "a"] {
            try await Task.sleep(for: .milliseconds(50))
            updated = try await short.popular(count: 2).map(\.itemID)
        }
        #expect(updated == ["b", "a"], "the new read answers once it lands")

        // Reads of the whole catalogue are cached too (the read returned fewer than it asked for);
        // a zero TTL reads the store every time.
        try await store.insertFeedback(
            [like("u1", "c"), like("u2", "c"), like("u3", "c"), like("u4", "c")], overwrite: false)
        #expect(try await cached.popular(count: 5000).map(\.itemID) == ["a", "b"])
        let uncached = RecommendationService(store: store, registry: try ModelRegistry(bundle: nil))
        #expect(try await uncached.popular(count: 3).map(\.itemID) == ["c", "b", "a"])

        // A read deeper than the cached one (1,000 items) goes to the store.
        try await store.insertFeedback(
            (0..<1_200).map { like("v\($0)", String(format: "x%04d", $0)) }, overwrite: false)
        let deep = RecommendationService(
            store: store, registry: try ModelRegistry(bundle: nil), popularTTL: .seconds(60))
        #expect(try await deep.popular(count: 3).map(\.itemID) == ["c", "b", "a"])
        try await store.insertFeedback((0..<9).map { like("w\($0)", "z") }, overwrite: false)
        #expect(try await deep.popular(count: 1_000).first?.itemID == "c", "the cached read")
        let fresh = try await deep.popular(count: 1_100)
        #expect(fresh.count == 1_100 && fresh.first?.itemID == "z", "deeper than the cache: read from the store")
    }

    /// Concurrent requests that find the cache stale share one read.
    @Test func concurrentRequestsShareOneRead() async throws {
        actor Reads {
            var count = 0
            func add() { count += 1 }
        }
        let reads = Reads()
        let popular = PopularItems(ttl: .seconds(60)) { count in
            await reads.add()
            try await Task.sleep(for: .milliseconds(50))
            return Array([(itemID: "a", count: 2), (itemID: "b", count: 1)].prefix(count))
        }
        let answers = try await withThrowingTaskGroup(of: [String].self) { group in
            for _ in 0..<32 { group.addTask { try await popular.top(2).map(\.itemID) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(answers.count == 32 && answers.allSatisfy { $0 == ["a", "b"] })
        #expect(await reads.count == 1)
        _ = try await popular.top(5000)
        #expect(await reads.count == 1, "the read returned every item")
    }
}

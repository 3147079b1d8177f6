import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import RecData
import RecFlow
import RecModels
import RecStore
import Testing
import _RecTestSupport

@testable import RecServer

/// `serve --replacement` (issue 44): seen items may come back, decayed; `repeat` is served from
/// the store's newest purchases and says why.
struct ReplacementTests: ServerSuite {
    let folder = temporaryDirectory("replacement")

    /// A `repeat` model over items a…e (a most popular, then d), and a store where u bought b,
    /// then c, then viewed e.
    func app(replacement: RecommendationService.Replacement?) async throws -> (some ApplicationProtocol, any EventStore)
    {
        let pairs = [("x", "a"), ("y", "a"), ("z", "a"), ("x", "d"), ("y", "d"), ("x", "b"), ("y", "c"), ("z", "e")]
        let log = InteractionLog(pairs: pairs.map { (user: $0.0, item: $0.1) })
        let bundle = try ModelBundle.train(.repeatPurchase, dataset: Dataset(name: "shop", interactions: log)) {
            TrainingRecord(
                dataset: "shop", interactions: log.count, users: log.userCount, items: log.itemCount, seconds: $0)
        }
        let store = try SQLiteEventStore(path: folder.appendingPathComponent("\(replacement == nil).sqlite").path)
        try store.insertFeedback(
            [
                StoredFeedback(feedbackType: "buy", userID: "u", itemID: "b", timestamp: "2026-01-01T10:00:00Z"),
                StoredFeedback(feedbackType: "buy", userID: "u", itemID: "c", timestamp: "2026-01-08T10:00:00Z"),
                StoredFeedback(feedbackType: "view", userID: "u", itemID: "e", timestamp: "2026-01-08T11:00:00Z"),
            ], overwrite: false)
        let service = RecommendationService(
            store: store, registry: try ModelRegistry(bundle: bundle), positiveTypes: ["buy"], replacement: replacement)
        return (Application(router: RecKitServer.makeRouter(service: service, configuration: .init())), store)
    }

    func ids(_ client: some TestClientProtocol, _ uri: String) async throws -> [String] {
        try await client.execute(uri: uri, method: .get) { try json($0) as? [String] ?? [] }
    }

    @Test func withoutTheFlagSeenItemsNeverComeBack() async throws {
        let (app, _) = try await app(replacement: nil)
        try await app.test(.router) { client in
            let list = try await ids(client, "/api/recommend/u?n=3")
            #expect(list == ["a", "d"])
        }
    }

    @Test func withTheFlagTheNewestPurchaseComesFirstAndAPurchaseChangesTheNextAnswer() async throws {
        let (app, store) = try await app(replacement: .init(positiveDecay: 0.8, readDecay: 0.6))
        try await app.test(.router) { client in
            // c is the newest basket (score 1 · 0.8), b one basket older (0.5^(1/4) · 0.8); the
            // viewed e is not in the purchase history, so it ranks by popularity (× 0.6).
            #expect(try await ids(client, "/api/recommend/u?n=4") == ["c", "b", "a", "d"])
            try await client.execute(uri: "/api/explain/u?n=1", method: .get) { response in
                let first = try #require((try json(response) as? [[String: Any]])?.first)
                let reason = try #require((first["Reasons"] as? [[String: Any]])?.first)
                #expect(reason["Feature"] as? String == "bought once, in the last basket")
            }
            // Buying b again (PUT moves its row to the new time) puts it first at once.
            let body = #"[{"FeedbackType":"buy","UserId":"u","ItemId":"b","Timestamp":"2026-01-15T10:00:00Z"}]"#
            try await client.execute(uri: "/api/feedback", method: .put, body: ByteBuffer(string: body)) {
                #expect($0.status == .ok)
            }
            #expect(try await ids(client, "/api/recommend/u?n=2") == ["b", "c"])
        }
        #expect(try await store.feedback(ofUser: "u").count == 3)
    }

    @Test func basketsFollowTimestamps() {
        #expect(
            FlowRequest.basketNumbers(["t1", "t1", "t2", "", "", "t3", "t3"]) == [0, 0, 1, 2, 3, 4, 4])
        let decayed = RecommendationService.decayed(
            [.init(itemID: "a", score: 1), .init(itemID: "b", score: 0.9), .init(itemID: "c", score: 0.5)],
            ["a": 0.5])
        #expect(decayed.map(\.itemID) == ["b", "a", "c"])
    }
}

import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import RecData
import RecModels
import RecRetrieval
import RecStore
import Testing
import _RecTestSupport

@testable import RecServer

/// Serving from the ANN index, and items placed in it while serving.
struct IndexServingTests: ServerSuite {
    let folder = temporaryDirectory("server")

    /// The models still hold what they learned of a deleted user (ALS their factors, every bundle
    /// their training history), but none of it can reach an answer: after deletion the user is
    /// answered exactly as a stranger is.
    /// ALS served from an HNSW index answers as exact scoring does on this small catalogue, and
    /// never returns a seen or hidden item; a category is ranked over its own items.
    @Test func annRetrievalServesWhatExactDoesWithoutSeenOrHiddenItems() async throws {
        let exact = try await makeService(.als)
        let ann = try await makeService(.als, retrieval: RetrievalOptions(mode: .ann))
        let snapshot = try #require(await ann.registry.current())
        #expect(snapshot.retriever.index != nil)
        #expect(ModelCard(snapshot).Retrieval["mode"] == "ann")
        try await ann.store.upsertItems([StoredItem(itemID: "i1-0", isHidden: true, categories: ["blue"])])
        try await ann.store.upsertItems([StoredItem(itemID: "i2-0", categories: ["blue"])])
        let users = try await ann.store.users(count: 100, after: "").users.map(\.userID)
        #expect(users.count > 10)
        for user in users {
            let seen = Set(try await ann.store.feedback(ofUser: user).map(\.itemID))
            let served = try await ann.recommend(user: user, count: 8)
            #expect(served.count == 8)
            #expect(served.allSatisfy { !seen.contains($0.itemID) && $0.itemID != "i1-0" }, "\(user)")
            let reference = try await exact.recommend(user: user, count: 9).filter { $0.itemID != "i1-0" }
            #expect(served.map(\.itemID) == reference.prefix(8).map(\.itemID), "\(user)")
            let blue = try await ann.recommend(user: user, count: 5, category: "blue").map(\.itemID)
            #expect(blue == (seen.contains("i2-0") ? [] : ["i2-0"]))
        }
    }

    /// TextCNN and the hybrid served from an index: an item posted while serving is placed by its
    /// title and categories at once (no rebuild), scored as the model scores described items,
    /// and leaves the results when hidden.
    @Test(arguments: [ModelKind.textCNN, .hybrid])
    func anItemPostedWhileServingIsPlacedInTheIndexAtOnce(kind: ModelKind) async throws {
        let (log, _) = Fixtures.checkerboard()
        let dataset = Dataset(name: "board", interactions: log, itemFeatures: Fixtures.itemFeatures(for: log))
        let bundle = try ModelBundle.train(kind, parameters: ["factors": "8", "epochs": "5"], dataset: dataset) {
            TrainingRecord(
                dataset: "board", interactions: log.count, users: log.userCount, items: log.itemCount, seconds: $0)
        }
        let store = try SQLiteEventStore(path: folder.appendingPathComponent("events.sqlite").path)
        try await StoreImport.load(dataset, into: store, feedbackType: "like")
        let service = RecommendationService(
            store: store, registry: try ModelRegistry(bundle: bundle, retrieval: RetrievalOptions(mode: .ann)))
        let application = Application(
            router: RecKitServer.makeRouter(service: service, configuration: ServerConfiguration()))
        let everything = log.itemCount + 1
        try await application.test(.router) { client in
            let body = #"{"ItemId":"fresh","Comment":"Title i0-1","Categories":["G1"]}"#
            try await client.execute(uri: "/api/item", method: .post, body: ByteBuffer(string: body)) { response in
                #expect(response.status == .ok)
            }
        }
        let snapshot = try #require(await service.registry.current())
        #expect(snapshot.added.label(of: "fresh") == Int32(log.itemCount))
        let served = try await service.recommend(user: "u1-2", count: everything)
        let fresh = try #require(served.first { $0.itemID == "fresh" })
        let context = try #require(bundle.context(forUser: "u1-2"))
        // The server ranks from the store's history, without the training row of the user.
        let encoder = try #require(bundle.model as? any ContentDescribing)
        let expected = try encoder.contentScore(
            fields: ["title": "Title i0-1", "genre": "G1"], context: ScoringContext(history: context.history))
        #expect(abs(fresh.score - expected) < 1e-4, "\(context.history.count) items of history")
        // Its category ranks it too, with the same score.
        let inCategory = try await service.recommend(user: "u1-2", count: everything, category: "G1")
        #expect(inCategory.first { $0.itemID == "fresh" }?.score == fresh.score)
        try await application.test(.router) { client in
            let patch = #"{"IsHidden":true}"#
            try await client.execute(uri: "/api/item/fresh", method: .patch, body: ByteBuffer(string: patch)) { _ in }
        }
        #expect(snapshot.retriever.index?.removedCount == 1)
        #expect(try await !service.recommend(user: "u1-2", count: everything).contains { $0.itemID == "fresh" })
    }

    /// ALS served from an index: an item posted without content cannot be placed, but once users
    /// the model knows give it feedback it is placed from them (its factor solved against theirs)
    /// and recommended to their group at once; feedback from strangers alone places nothing.
    @Test func anItemWithFeedbackFromKnownUsersIsPlacedByItsFactor() async throws {
        let (log, _) = Fixtures.checkerboard()
        let bundle = try ModelBundle.train(
            .als, parameters: ["factors": "8"], dataset: Dataset(name: "board", interactions: log)
        ) {
            TrainingRecord(
                dataset: "board", interactions: log.count, users: log.userCount, items: log.itemCount, seconds: $0)
        }
        let store = try SQLiteEventStore(path: folder.appendingPathComponent("events.sqlite").path)
        try await StoreImport.load(Dataset(name: "board", interactions: log), into: store, feedbackType: "like")
        let service = RecommendationService(
            store: store, registry: try ModelRegistry(bundle: bundle, retrieval: RetrievalOptions(mode: .ann)))
        let application = Application(
            router: RecKitServer.makeRouter(service: service, configuration: ServerConfiguration()))
        let snapshot = try #require(await service.registry.current())
        try await application.test(.router) { client in
            let item = #"{"ItemId":"fresh","Comment":"no content ALS can read"}"#
            try await client.execute(uri: "/api/item", method: .post, body: ByteBuffer(string: item)) { _ in }
            #expect(snapshot.added.label(of: "fresh") == nil)
            // Five of group 1's six users like it; u1-2 does not, and a stranger likes another new item.
            let likes = ["u1-0", "u1-1", "u1-3", "u1-4", "u1-5"].map {
                #"{"FeedbackType":"like","UserId":"\#($0)","ItemId":"fresh","Timestamp":"2024-01-01T00:00:00Z"}"#
            }
            let stranger =
                #"{"FeedbackType":"like","UserId":"stranger","ItemId":"lonely","Timestamp":"2024-01-01T00:00:00Z"}"#
            let body = "[" + (likes + [stranger]).joined(separator: ",") + "]"
            try await client.execute(uri: "/api/feedback", method: .post, body: ByteBuffer(string: body)) { response in
                #expect(response.status == .ok)
            }
        }
        #expect(snapshot.added.label(of: "fresh") == Int32(log.itemCount))
        #expect(snapshot.added.label(of: "lonely") == nil)
        // For u1-2 it comes right after the group's withheld item, before every other group's item.
        let top = try await service.recommend(user: "u1-2", count: 2).map(\.itemID)
        #expect(top == ["i1-2", "fresh"])
        // Another group's user ranks all of their own group's unseen item above it.
        let other = try await service.recommend(user: "u0-0", count: log.itemCount + 1).map(\.itemID)
        let position = try #require(other.firstIndex(of: "fresh"))
        let withheld = try #require(other.firstIndex(of: "i0-0"))
        #expect(position > withheld)
        #expect(position >= 6, "\(other)")
    }
}

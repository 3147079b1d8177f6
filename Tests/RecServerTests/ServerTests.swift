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

/// Drives the HTTP API in process (HummingbirdTesting's router client), against a real SQLite
/// store in a temporary folder and an item-kNN model trained on the checkerboard fixture.
struct ServerTests {
    let folder = temporaryDirectory("server")

    func train(_ kind: ModelKind) throws -> ModelBundle {
        let (log, _) = Fixtures.checkerboard()
        return try ModelBundle.train(kind, dataset: Dataset(name: "board", interactions: log)) {
            TrainingRecord(
                dataset: "board", interactions: log.count, users: log.userCount, items: log.itemCount, seconds: $0)
        }
    }

    /// A service over the checkerboard's events; each item's title (its comment) is "Film <id>".
    func makeService(
        _ kind: ModelKind = .itemKNN, modelsDirectory: URL? = nil, retrieval: RetrievalOptions = .init(mode: .exact)
    ) async throws -> RecommendationService {
        let (log, _) = Fixtures.checkerboard()
        let store = try SQLiteEventStore(path: folder.appendingPathComponent("events.sqlite").path)
        try await StoreImport.load(Dataset(name: "board", interactions: log), into: store, feedbackType: "like")
        try store.upsertItems(log.itemIDs.externalIDs.map { StoredItem(itemID: $0, comment: "Film \($0)") })
        return RecommendationService(
            store: store,
            registry: try ModelRegistry(bundle: try train(kind), modelsDirectory: modelsDirectory, retrieval: retrieval)
        )
    }

    func app(
        _ kind: ModelKind = .itemKNN, apiKey: String? = nil, modelsDirectory: URL? = nil
    ) async throws -> (some ApplicationProtocol, RecommendationService) {
        let service = try await makeService(kind, modelsDirectory: modelsDirectory)
        var configuration = ServerConfiguration()
        configuration.apiKey = apiKey
        return (Application(router: RecKitServer.makeRouter(service: service, configuration: configuration)), service)
    }

    func text(_ response: TestResponse) -> String {
        response.body.getString(at: response.body.readerIndex, length: response.body.readableBytes) ?? ""
    }

    func json(_ response: TestResponse) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(text(response).utf8), options: [.fragmentsAllowed])
    }

    @Test func recommendationsExcludeSeenItemsAndFollowNewFeedback() async throws {
        let (app, _) = try await app()
        try await app.test(.router) { client in
            // u0-0 has every block-0 item but i0-0, which all other block-0 users have.
            try await client.execute(uri: "/api/recommend/u0-0?n=3", method: .get) { response in
                #expect(response.status == .ok)
                let ids = try #require(try json(response) as? [String])
                #expect(ids.first == "i0-0")
                #expect(!ids.contains("i0-1"))
            }
            let headers: HTTPFields = [HTTPField.Name("X-API-Version")!: "2"]
            try await client.execute(uri: "/api/recommend/u0-0?n=2", method: .get, headers: headers) { response in
                let list = try #require(try json(response) as? [[String: Any]])
                #expect(list.first?["Id"] as? String == "i0-0")
                #expect(list.first?["Score"] is Double)
            }
            // New feedback is committed before the 200 and shapes the very next answer.
            let body = #"[{"FeedbackType":"like","UserId":"u0-0","ItemId":"i0-0","Timestamp":"2030-01-01T00:00:00Z"}]"#
            try await client.execute(uri: "/api/feedback", method: .post, body: ByteBuffer(string: body)) { response in
                let affected = try json(response) as? [String: Int]
                #expect(affected == ["RowAffected": 1])
            }
            try await client.execute(uri: "/api/recommend/u0-0?n=3", method: .get) { response in
                let ids = try json(response) as? [String] ?? []
                #expect(!ids.contains("i0-0"))
            }
        }
    }

    @Test func aCategoryKeepsOnlyItsItems() async throws {
        let (app, service) = try await app()
        // Two unseen items of other blocks, tagged; u0-0's best overall (i0-0) is not.
        try await service.store.upsertItems([
            StoredItem(itemID: "i1-0", categories: ["blue", "green"]),
            StoredItem(itemID: "i2-0", categories: ["blue"]),
            StoredItem(itemID: "i2-1", categories: ["blue-ish"]),
        ])
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/recommend/u0-0/blue?n=5", method: .get) { response in
                #expect(response.status == .ok)
                let ids = try #require(try json(response) as? [String])
                #expect(Set(ids) == ["i1-0", "i2-0"])
            }
            try await client.execute(uri: "/api/recommend/u0-0/green?n=5", method: .get) { response in
                let ids = try json(response) as? [String]
                #expect(ids == ["i1-0"])
            }
            try await client.execute(uri: "/api/recommend/u0-0/none?n=5", method: .get) { response in
                let ids = try json(response) as? [String]
                #expect(ids == [])
            }
        }
    }

    @Test func postLeavesExistingFeedbackAndPutOverwrites() async throws {
        let (app, service) = try await app()
        try await app.test(.router) { client in
            let body = #"[{"FeedbackType":"like","UserId":"u0-1","ItemId":"i0-0","Value":5,"Comment":"x"}]"#
            try await client.execute(uri: "/api/feedback", method: .post, body: ByteBuffer(string: body)) { response in
                let affected = try json(response) as? [String: Int]
                #expect(affected == ["RowAffected": 0])
            }
            try await client.execute(uri: "/api/feedback", method: .put, body: ByteBuffer(string: body)) { response in
                let affected = try json(response) as? [String: Int]
                #expect(affected == ["RowAffected": 1])
            }
        }
        let stored = try await service.store.feedback(ofUser: "u0-1", type: "like").first { $0.itemID == "i0-0" }
        #expect(stored?.value == 5)
        #expect(stored?.comment == "x")
    }

    @Test func usersItemsAndPaging() async throws {
        let (app, _) = try await app()
        try await app.test(.router) { client in
            try await client.execute(
                uri: "/api/user", method: .post,
                body: ByteBuffer(string: #"{"UserId":"zoe","Labels":{"age":30},"Comment":"new"}"#)
            ) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/user/zoe", method: .get) { response in
                let user = try #require(try json(response) as? [String: Any])
                #expect(user["UserId"] as? String == "zoe")
                #expect((user["Labels"] as? [String: Any])?["age"] as? Double == 30)
            }
            try await client.execute(uri: "/api/user/nobody", method: .get) { #expect($0.status == .notFound) }
            var cursor = ""
            var seen: [String] = []
            repeat {
                try await client.execute(uri: "/api/users?n=10&cursor=\(cursor)", method: .get) { response in
                    let page = try #require(try json(response) as? [String: Any])
                    seen += (page["Users"] as? [[String: Any]] ?? []).compactMap { $0["UserId"] as? String }
                    cursor = page["Cursor"] as? String ?? ""
                }
            } while !cursor.isEmpty
            #expect(seen.count == 25)
            #expect(seen == seen.sorted())
            try await client.execute(
                uri: "/api/item", method: .post,
                body: ByteBuffer(
                    string: #"{"ItemId":"new","IsHidden":true,"Categories":["c"],"Timestamp":"2031-01-01T00:00:00Z"}"#)
            ) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/latest?n=1", method: .get) { response in
                let list = try json(response) as? [[String: Any]]
                #expect(list?.first?["Id"] as? String == "new")
            }
            try await client.execute(uri: "/api/item/i0-3/neighbors?n=3", method: .get) { response in
                let list = try #require(try json(response) as? [[String: Any]])
                #expect(list.count == 3)
                #expect(list.allSatisfy { ($0["Id"] as? String)?.hasPrefix("i0-") ?? false })
            }
            try await client.execute(uri: "/api/item/unknown/neighbors", method: .get) {
                #expect($0.status == .notFound)
            }
        }
    }

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

    @Test(arguments: [ModelKind.itemKNN, .als])
    func aDeletedUserIsAnsweredAsAStranger(kind: ModelKind) async throws {
        let (app, service) = try await app(kind)
        let bundle = try #require(await service.registry.current()?.bundle)
        #expect(bundle.context(forUser: "u1-2")?.history.isEmpty == false)
        try await app.test(.router) { client in
            var before: [String] = []
            try await client.execute(uri: "/api/recommend/u1-2?n=5", method: .get) {
                before = try json($0) as? [String] ?? []
            }
            // Personalized before: the withheld item of u1-2's block comes first.
            #expect(before.first == "i1-2")
            try await client.execute(uri: "/api/user/u1-2", method: .delete) { response in
                let affected = try json(response) as? [String: Int]
                #expect(affected == ["RowAffected": 1])
            }
            for route in ["/api/recommend/USER?n=5", "/api/explain/USER?n=5", "/api/user/USER/feedback"] {
                var answers: [String] = []
                for user in ["u1-2", "stranger"] {
                    try await client.execute(uri: route.replacingOccurrences(of: "USER", with: user), method: .get) {
                        // Key order is not part of an answer: compare the JSON with sorted keys.
                        let sorted = try JSONSerialization.data(withJSONObject: try json($0), options: [.sortedKeys])
                        answers.append(String(decoding: sorted, as: UTF8.self))
                    }
                }
                #expect(answers[0] == answers[1], "\(route)")
            }
        }
        #expect(try await service.store.user("u1-2") == nil)
        #expect(try await service.store.feedback(ofUser: "u1-2").isEmpty)
    }

    @Test func healthSaysWhetherAModelIsLoaded() async throws {
        let store = try SQLiteEventStore(path: folder.appendingPathComponent("bare.sqlite").path)
        for bundle in [nil, try train(.popularity)] {
            let service = RecommendationService(store: store, registry: try ModelRegistry(bundle: bundle))
            let app = Application(
                router: RecKitServer.makeRouter(service: service, configuration: ServerConfiguration()))
            try await app.test(.router) { client in
                for probe in ["live", "ready"] {
                    try await client.execute(uri: "/api/health/\(probe)", method: .get) { response in
                        #expect(response.status == .ok)
                        let health = try #require(try json(response) as? [String: Bool])
                        #expect(health["ModelLoaded"] == (bundle != nil), "\(probe)")
                    }
                }
            }
        }
    }

    func reload(_ client: some TestClientProtocol, _ body: String) async throws -> (HTTPResponse.Status, String) {
        try await client.execute(uri: "/api/model/reload", method: .post, body: ByteBuffer(string: body)) {
            ($0.status, text($0))
        }
    }

    /// Reloads take a directory name inside the models folder; a corrupt model is a 400 with the
    /// reason and the model in use keeps serving; nothing outside the folder can be named.
    @Test func reloadLoadsOnlyNamedModelsAndKeepsServingOnACorruptOne() async throws {
        let models = temporaryDirectory("models")
        try train(.als).save(to: models.appendingPathComponent("als"))
        let corrupt = models.appendingPathComponent("corrupt")
        try train(.als).save(to: corrupt)
        let weights = corrupt.appendingPathComponent("weights.safetensors")
        try Data(try Data(contentsOf: weights).prefix(200)).write(to: weights)
        let (app, service) = try await app(modelsDirectory: models)
        try await app.test(.router) { client in
            let (status, message) = try await reload(client, #"{"Name":"corrupt"}"#)
            #expect(status == .badRequest)
            #expect(message.contains("model 'corrupt' cannot be loaded"), "\(message)")
            #expect(!message.contains(models.path))
            #expect(await service.registry.current()?.version == 1)
            try await client.execute(uri: "/api/recommend/u0-0?n=1", method: .get) { response in
                let ids = try json(response) as? [String]
                #expect(ids == ["i0-0"])
            }
            for name in ["../als", "/etc", "", ".", "..", "missing", "als/../../etc"] {
                let (status, message) = try await reload(client, #"{"Name":"\#(name)"}"#)
                #expect(status == .badRequest, "\(name)")
                #expect(!message.contains("/etc:"), "\(message)")
            }
            let (byPath, _) = try await reload(client, #"{"Path":"/etc"}"#)
            #expect(byPath == .badRequest)
            let (loaded, answer) = try await reload(client, #"{"Name":"als"}"#)
            #expect(loaded == .ok)
            let version = try JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [String: Int]
            #expect(version == ["Version": 2])
            try await client.execute(uri: "/api/model", method: .get) { response in
                let card = try json(response) as? [String: Any]
                #expect(card?["Kind"] as? String == "als")
            }
        }
        // Without a models folder every reload is refused.
        let (bare, _) = try await self.app()
        try await bare.test(.router) { client in
            let (status, message) = try await reload(client, #"{"Name":"als"}"#)
            #expect(status == .badRequest)
            #expect(message.contains("--models-dir"))
        }
    }

    @Test func itemsAreFoundByPartOfTheirTitle() async throws {
        let (app, service) = try await app()
        try await service.store.upsertItems([
            StoredItem(itemID: "odd", comment: "100% _Pure_ \\ Film"),
            StoredItem(itemID: "odd2", comment: "100 Pure Film"),
        ])
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/items/search?q=FILM%20i0-&n=100", method: .get) { response in
                let items = try #require(try json(response) as? [[String: Any]])
                #expect(items.compactMap { $0["ItemId"] as? String } == (0..<6).map { "i0-\($0)" })
            }
            // LIKE's wildcards in the text match themselves only.
            try await client.execute(uri: "/api/items/search?q=0%25%20_", method: .get) { response in
                let items = try #require(try json(response) as? [[String: Any]])
                #expect(items.compactMap { $0["ItemId"] as? String } == ["odd"])
            }
            try await client.execute(uri: "/api/items/search", method: .get) { #expect($0.status == .badRequest) }
        }
    }

    @Test func apiKeyIsRequiredExceptForHealth() async throws {
        let (app, _) = try await app(apiKey: "s3cret")
        let name = HTTPField.Name("X-API-Key")!
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/recommend/u0-0", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/api/recommend/u0-0", method: .get, headers: [name: "wrong"]) {
                #expect($0.status == .unauthorized)
            }
            try await client.execute(uri: "/api/recommend/u0-0", method: .get, headers: [name: "s3cret"]) {
                #expect($0.status == .ok)
            }
            try await client.execute(uri: "/api/health/live", method: .get) { #expect($0.status == .ok) }
        }
        #expect(APIKeyMiddleware<BasicRequestContext>.constantTimeEqual(Array("abc".utf8), Array("abc".utf8)))
        #expect(!APIKeyMiddleware<BasicRequestContext>.constantTimeEqual(Array("abc".utf8), Array("abcd".utf8)))
    }

    @Test func badRequestsGetA400AndStoreNothing() async throws {
        let (app, service) = try await app()
        let before = try await service.store.counts()
        try await app.test(.router) { client in
            for uri in [
                "/api/recommend/u0-0?n=0", "/api/recommend/u0-0?n=100000", "/api/recommend/u0-0?n=ten",
                "/api/popular?offset=-1",
            ] {
                try await client.execute(uri: uri, method: .get) { #expect($0.status == .badRequest, "\(uri)") }
            }
            for body in [
                "{not json", #"[{"FeedbackType":1}]"#, #"[{"FeedbackType":"like","UserId":"","ItemId":"x"}]"#,
                #"[{"FeedbackType":"like","UserId":"\#(String(repeating: "u", count: 300))","ItemId":"x"}]"#,
            ] {
                try await client.execute(uri: "/api/feedback", method: .post, body: ByteBuffer(string: body)) {
                    response in
                    #expect(response.status == .badRequest, "\(body.prefix(40))")
                    #expect(text(response).contains("message"))
                }
            }
            let huge =
                "[" + String(repeating: #"{"FeedbackType":"like","UserId":"a","ItemId":"b"},"#, count: 60_000) + "]"
            try await client.execute(uri: "/api/feedback", method: .post, body: ByteBuffer(string: huge)) {
                #expect($0.status == .contentTooLarge)
            }
        }
        #expect(try await service.store.counts() == before)
    }

    @Test func coldStartSessionPopularExplainAndModelCard() async throws {
        let (app, _) = try await app()
        try await app.test(.router) { client in
            // An unknown user with no feedback gets popular items, never an error.
            try await client.execute(uri: "/api/recommend/stranger?n=2", method: .get) { response in
                #expect(response.status == .ok)
                let ids = try json(response) as? [String]
                #expect(ids?.count == 2)
            }
            let session =
                #"[{"FeedbackType":"like","UserId":"","ItemId":"i2-1"},{"FeedbackType":"like","UserId":"","ItemId":"i2-2"}]"#
            try await client.execute(
                uri: "/api/session/recommend?n=3", method: .post, body: ByteBuffer(string: session)
            ) {
                let ids = (try json($0) as? [[String: Any]] ?? []).compactMap { $0["Id"] as? String }
                #expect(ids.count == 3 && ids.allSatisfy { $0.hasPrefix("i2-") })
            }
            try await client.execute(uri: "/api/explain/u0-0?n=1", method: .get) { response in
                let first = try #require((try json(response) as? [[String: Any]])?.first)
                #expect(first["Id"] as? String == "i0-0")
                #expect(!((first["Reasons"] as? [[String: Any]]) ?? []).isEmpty)
            }
            try await client.execute(uri: "/api/model", method: .get) { response in
                let card = try #require(try json(response) as? [String: Any])
                #expect(card["Kind"] as? String == "itemknn")
                #expect(card["Version"] as? Int == 1)
            }
            try await client.execute(uri: "/api/health/ready", method: .get) { #expect($0.status == .ok) }
        }
    }
}

struct OpenAPITests {
    /// The document in the repository lists exactly the routes the router serves.
    @Test func documentMatchesTheRoutes() async throws {
        let folder = temporaryDirectory("openapi")
        let store = try SQLiteEventStore(path: folder.appendingPathComponent("e.sqlite").path)
        let service = RecommendationService(store: store, registry: try ModelRegistry(bundle: nil))
        let router = RecKitServer.makeRouter(service: service, configuration: ServerConfiguration())
        let served = Set(
            router.routes.map { route in
                let path = route.path.description.split(separator: "/").map { part in
                    part.hasPrefix(":") ? "{\(part.dropFirst())}" : String(part)
                }
                return "\(route.method.rawValue.lowercased()) /\(path.joined(separator: "/"))"
            })
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/RecServer/openapi.json")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        let documented = Set(paths.flatMap { path, operations in operations.keys.map { "\($0) \(path)" } })
        #expect(documented.subtracting(served).sorted() == [])
        #expect(served.subtracting(documented).sorted() == [])
        let app = Application(router: router)
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/openapi.json", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.body.readableBytes > 1000)
            }
        }
    }
}

struct MetricsTests {
    @Test func metricsCountRequestsIngestionAndModelVersion() async throws {
        let folder = temporaryDirectory("metrics")
        let store = try SQLiteEventStore(path: folder.appendingPathComponent("e.sqlite").path)
        let service = RecommendationService(store: store, registry: try ModelRegistry(bundle: nil))
        let app = Application(router: RecKitServer.makeRouter(service: service, configuration: ServerConfiguration()))
        try await app.test(.router) { client in
            let body =
                #"[{"FeedbackType":"like","UserId":"u","ItemId":"a"},{"FeedbackType":"like","UserId":"u","ItemId":"b"}]"#
            try await client.execute(uri: "/api/feedback", method: .put, body: ByteBuffer(string: body)) { _ in }
            try await client.execute(uri: "/api/recommend/u?n=abc", method: .get) { _ in }
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = response.body.getString(at: 0, length: response.body.readableBytes) ?? ""
                #expect(text.contains("reckit_feedback_ingested_total 2"))
                #expect(text.contains("reckit_model_version 0"))
                #expect(
                    text.contains(#"reckit_http_requests_total{route="/api/feedback",method="PUT",status="200"} 1"#))
                #expect(text.contains(#"status="400""#))
                #expect(text.contains("reckit_http_request_duration_seconds_bucket"))
            }
        }
    }
}

struct PopularCacheTests {
    func like(_ user: String, _ item: String) -> StoredFeedback {
        StoredFeedback(feedbackType: "like", userID: user, itemID: item)
    }

    /// Popular items are read once per TTL: feedback that changes the order shows after the TTL,
    /// not before; a request deeper than the cached read goes to the store.
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
        #expect(try await short.popular(count: 2).map(\.itemID) == ["b", "a"], "read again after the TTL")

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

import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import RecData
import RecFlow
import RecModels
import RecStore
import Testing
import _RecStoreTestSupport
import _RecTestSupport

@testable import RecServer

/// A flow served over HTTP (HummingbirdTesting's live mode: a real server on a port) on the
/// checkerboard's events, with an outside recommender served by a second live server.
@Suite struct FlowRouteTests: ServerSuite {
    let folder: URL

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("flow-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    /// The outside recommender: `/picks/{user}` answers two ids, `/slow/{user}` answers after 3 s,
    /// `/broken/{user}` answers 500.
    func partner() -> some ApplicationProtocol {
        let router = Router()
        router.get("/picks/:user") { _, _ in #"["i3-0","i3-1"]"# }
        router.get("/slow/:user") { _, _ -> String in
            try await Task.sleep(for: .seconds(3))
            return #"["i3-2"]"#
        }
        router.get("/broken/:user") { _, _ -> String in throw HTTPError(.internalServerError) }
        return Application(router: router)
    }

    /// Writes the model, the store's item metadata and the configuration; returns the service.
    func service(config: String) async throws -> RecommendationService {
        let base = try await makeService()
        if let bundle = await base.registry.current()?.bundle {
            try bundle.save(to: folder.appendingPathComponent("models/knn"))
        }
        // Group 0's items are "red", group 1's "blue", the others have no category; i1-0 is out
        // of stock; i2-5 is new.
        let items = (0..<4).flatMap { g in (0..<6).map { i in "i\(g)-\(i)" } }.map { id -> StoredItem in
            StoredItem(
                itemID: id, categories: id.hasPrefix("i0-") ? ["red"] : id.hasPrefix("i1-") ? ["blue"] : [],
                timestamp: id == "i2-5" ? StoreTimestamp.text(unixSeconds: Date().timeIntervalSince1970 - 3_600) : "",
                labels: id == "i1-0" ? .array([.string("out_of_stock")]) : .null, comment: "Film \(id)")
        }
        try await base.store.upsertItems(items)
        let file = folder.appendingPathComponent("flow.toml")
        try config.write(to: file, atomically: true, encoding: .utf8)
        let holder = try FlowHolder(file: file.path, store: base.store, retrieval: .init(mode: .exact))
        return RecommendationService(store: base.store, registry: base.registry, flow: holder)
    }

    func flowConfig(partnerPort: Int, path: String, timeout: String = "300ms", extra: String = "") -> String {
        """
        [[recommend.sources]]
        name = "knn"
        type = "model"
        path = "models/knn"
        candidates = 5

        [[recommend.sources]]
        name = "like_this"
        type = "item_to_item"
        model = "knn"
        recent = 2
        candidates = 5

        [[recommend.sources]]
        name = "new"
        type = "latest"
        candidates = 2

        [[recommend.sources]]
        name = "top"
        type = "popular"
        candidates = 5

        [[recommend.sources]]
        name = "partner"
        type = "external"
        url = "http://127.0.0.1:\(partnerPort)/\(path)/{user}"
        timeout = "\(timeout)"
        candidates = 2

        \(extra)
        """
    }

    func scored(_ response: TestResponse) throws -> [[String: Any]] {
        try #require(try json(response) as? [[String: Any]])
    }

    /// Every source contributes and says so; the planted item comes first; the outside source's
    /// items arrive; rules hide the out-of-stock item and cap a category.
    @Test func everySourceProposesAndEveryItemSaysWhere() async throws {
        try await partner().test(.live) { partnerClient in
            let port = try #require(partnerClient.port)
            let rules = """
                [[recommend.rules]]
                type = "hide_label"
                label = "out_of_stock"

                [[recommend.rules]]
                type = "category_cap"
                max = 2
                """
            let service = try await service(config: flowConfig(partnerPort: port, path: "picks", extra: rules))
            let app = Application(router: RecKitServer.makeRouter(service: service, configuration: .init()))
            try await app.test(.live) { client in
                let headers: HTTPFields = [HTTPField.Name("X-API-Version")!: "2"]
                try await client.execute(uri: "/api/recommend/u1-2?n=10", method: .get, headers: headers) { response in
                    #expect(response.status == .ok)
                    let list = try scored(response)
                    let ids = list.compactMap { $0["Id"] as? String }
                    #expect(ids.count == 10)
                    #expect(ids.first == "i1-2")
                    #expect(!ids.contains("i1-0"))
                    #expect(ids.filter { $0.hasPrefix("i1-") }.count <= 2)
                    #expect(ids.contains("i3-0") && ids.contains("i2-5"))
                    let sources = Set(
                        list.flatMap { ($0["Sources"] as? [[String: Any]] ?? []).compactMap { $0["Name"] as? String } })
                    #expect(sources.isSuperset(of: ["knn", "new", "top", "partner"]))
                    #expect(service.flowFailures.snapshot().isEmpty)
                    #expect(list.allSatisfy { ($0["Sources"] as? [[String: Any]])?.isEmpty == false })
                }
                try await client.execute(uri: "/api/explain/u1-2?n=3", method: .get) { response in
                    let list = try scored(response)
                    let reasons = list.flatMap {
                        ($0["Sources"] as? [[String: Any]] ?? []).compactMap { $0["Reason"] as? String }
                    }
                    #expect(list.count == 3 && !reasons.isEmpty)
                    // The model's title (the checkerboard has none but the id).
                    #expect(list.first?["Title"] as? String == "i1-2")
                }
                // A user no model knows still gets a full list from the sources that serve them.
                try await client.execute(uri: "/api/recommend/stranger?n=8", method: .get) { response in
                    let list = try #require(try json(response) as? [String])
                    #expect(list.count == 8)
                }
            }
        }
    }

    /// A ranker fitted to prefer the user's own group puts the group's unseen item first, where
    /// the popular source alone orders by id (every item is equally popular).
    @Test func theRankerOrdersTheCandidatesByFeatures() async throws {
        let dataset = try CTRDataset(name: "board", log: Fixtures.ratedCheckerboard())
        let ranker = try CTRRanker.fit(
            kind: .fm, parameters: ["epochs": "30", "patience": "30", "batch_size": "32", "learning_rate": "0.05"],
            dataset: dataset, split: dataset.split(.random, seed: 1))
        #expect((ranker.epochs.last?.validationAUC ?? 0) > 0.9)
        try ranker.save(to: folder.appendingPathComponent("models/ranker"))
        let popular = "[[recommend.sources]]\nname = \"top\"\ntype = \"popular\"\ncandidates = 30\n"
        for (ranked, first) in [(false, "i0-0"), (true, "i1-2")] {
            let config = popular + (ranked ? "[recommend.ranker]\ntype = \"model\"\npath = \"models/ranker\"\n" : "")
            let service = try await service(config: config)
            let app = Application(router: RecKitServer.makeRouter(service: service, configuration: .init()))
            try await app.test(.live) { client in
                try await client.execute(uri: "/api/recommend/u1-2?n=3", method: .get) { response in
                    let list = try #require(try json(response) as? [String])
                    #expect(list.first == first, "ranked: \(ranked)")
                }
            }
            #expect(service.flowFailures.snapshot().isEmpty)
        }
    }

    /// Every example file serves once its models exist (here models of the checkerboard): each
    /// answers a known user and a stranger with full lists.
    @Test func theExamplesServe() async throws {
        let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../../examples")
        let base = try await makeService()
        let bundle = try #require(await base.registry.current()?.bundle)
        // The examples count "rating" and "buy" as positive: the checkerboard's events as both.
        let likes = try await base.store.feedback(count: 10_000, after: "").feedback
        for type in ["rating", "buy"] {
            try await base.store.insertFeedback(
                likes.map { row in
                    var copy = row
                    copy.feedbackType = type
                    return copy
                }, overwrite: true)
        }
        let dataset = try CTRDataset(name: "board", log: Fixtures.ratedCheckerboard())
        let ranker = try CTRRanker.fit(
            kind: .fm, parameters: ["epochs": "2", "batch_size": "64"], dataset: dataset,
            split: dataset.split(.random, seed: 1))
        let files = try FileManager.default.contentsOfDirectory(atPath: examples.path).filter { $0.hasSuffix(".toml") }
        #expect(files.count >= 3)
        for file in files.sorted() {
            let text = try String(contentsOf: examples.appendingPathComponent(file), encoding: .utf8)
            for line in text.split(separator: "\n") where line.hasPrefix("path = ") {
                let path = line.split(separator: "\"")[1]
                let directory = folder.appendingPathComponent(String(path))
                if path.hasSuffix("ranker") { try ranker.save(to: directory) } else { try bundle.save(to: directory) }
            }
            let copy = folder.appendingPathComponent(file)
            try text.write(to: copy, atomically: true, encoding: .utf8)
            let holder = try FlowHolder(file: copy.path, store: base.store, retrieval: .init(mode: .exact))
            let service = RecommendationService(store: base.store, registry: base.registry, flow: holder)
            for user in ["u1-2", "stranger"] {
                let list = try await service.recommend(user: user, count: 5)
                #expect(list.count == 5, "\(file) for \(user)")
                #expect(list.allSatisfy { !$0.origins.isEmpty }, "\(file)")
            }
        }
    }

    /// Two replicas (two stores open on one database) started from one file both serve a
    /// configuration published to the store; one that does not build is skipped by both, and
    /// the flow in service stays.
    @Test(arguments: StoreBackend.allCases)
    func replicasServeAPublishedConfiguration(backend: StoreBackend) async throws {
        let (first, location) = try await backend.makeStore()
        let second = try await EventStores.open(location)
        try await StoreImport.load(
            Dataset(name: "board", interactions: Fixtures.checkerboard().log), into: first, feedbackType: "like")
        let file = folder.appendingPathComponent("replica.toml")
        try "[[recommend.sources]]\nname = \"top\"\ntype = \"popular\"\n".write(
            to: file, atomically: true, encoding: .utf8)
        let replicas = try [first, second].map {
            try FlowHolder(file: file.path, store: $0, retrieval: .init(mode: .exact))
        }
        for replica in replicas { #expect(!(await replica.updateToPublished(from: replica.store))) }
        #expect(try await first.publishConfiguration("[[recommend.sources]]\nname = \"new\"\ntype = \"latest\"\n") == 1)
        for replica in replicas {
            #expect(await replica.updateToPublished(from: replica.store))
            #expect(replica.current().flow.sources.map(\.configuration.name) == ["new"])
            #expect(replica.current().version == 2 && replica.publishedVersion == 1)
        }
        // Parses, but names a model directory that is not there: skipped, not retried.
        _ = try await second.publishConfiguration(
            "[[recommend.sources]]\nname = \"m\"\ntype = \"model\"\npath = \"missing\"\n")
        for replica in replicas {
            #expect(!(await replica.updateToPublished(from: replica.store)))
            #expect(!(await replica.updateToPublished(from: replica.store)))
            #expect(replica.current().flow.sources.map(\.configuration.name) == ["new"])
        }
        await first.close()
        await second.close()
    }

    /// A slow outside source costs its timeout, not the request; a broken one is counted.
    @Test func slowOrBrokenOutsideSourcesOnlyDropThemselves() async throws {
        try await partner().test(.live) { partnerClient in
            let port = try #require(partnerClient.port)
            for path in ["slow", "broken"] {
                let service = try await service(config: flowConfig(partnerPort: port, path: path, timeout: "200ms"))
                let app = Application(router: RecKitServer.makeRouter(service: service, configuration: .init()))
                try await app.test(.live) { client in
                    let clock = ContinuousClock()
                    let start = clock.now
                    try await client.execute(uri: "/api/recommend/u1-2?n=5", method: .get) { response in
                        #expect(response.status == .ok)
                        let list = try #require(try json(response) as? [String])
                        #expect(list.count == 5)
                    }
                    #expect(clock.now - start < .seconds(2))
                    try await client.execute(uri: "/api/flow", method: .get) { response in
                        let failures = try #require(
                            (try json(response) as? [String: Any])?["Failures"] as? [String: Any])
                        #expect(failures["partner"] != nil, "\(path)")
                    }
                }
            }
        }
    }

    /// A bad file answers 400 with its line and key and the old flow keeps serving; a good one
    /// is served as the next version.
    @Test func reloadRefusesABadFileAndServesAGoodOne() async throws {
        try await partner().test(.live) { partnerClient in
            let port = try #require(partnerClient.port)
            let service = try await service(config: flowConfig(partnerPort: port, path: "picks"))
            let file = folder.appendingPathComponent("flow.toml")
            let app = Application(router: RecKitServer.makeRouter(service: service, configuration: .init()))
            try await app.test(.live) { client in
                try "[[recommend.sources]]\nname = \"x\"\ntype = \"popular\"\ncandidates = 0\n".write(
                    to: file, atomically: true, encoding: .utf8)
                try await client.execute(uri: "/api/config/reload", method: .post) { response in
                    #expect(response.status == .badRequest)
                    #expect(text(response).contains("line 4: recommend.sources[0].candidates"))
                }
                try await client.execute(uri: "/api/flow", method: .get) { response in
                    let flow = try #require(try json(response) as? [String: Any])
                    #expect(flow["Version"] as? Int == 1)
                    #expect((flow["Sources"] as? [Any])?.count == 5)
                }
                try "[[recommend.sources]]\nname = \"top\"\ntype = \"popular\"\n".write(
                    to: file, atomically: true, encoding: .utf8)
                try await client.execute(uri: "/api/config/reload", method: .post) { response in
                    #expect(response.status == .ok)
                    #expect(text(response).contains("\"Version\":2"))
                }
                try await client.execute(
                    uri: "/api/recommend/u1-2?n=3", method: .get, headers: [HTTPField.Name("X-API-Version")!: "2"]
                ) { response in
                    let sources = try scored(response).flatMap {
                        ($0["Sources"] as? [[String: Any]] ?? []).compactMap { $0["Name"] as? String }
                    }
                    #expect(Set(sources) == ["top"])
                }
            }
        }
    }
}

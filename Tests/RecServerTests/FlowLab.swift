import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import RecData
import RecModels
import RecStore
import Testing
import _RecTestSupport

@testable import RecServer

/// An item of a flow's answer as an `X-API-Version: 2` answer gives it: its id, the flow's score,
/// and each source that proposed it with its reason.
struct ServedItem: Sendable, CustomStringConvertible {
    var id: String
    var score: Double
    /// (source name, reason), in the configuration's order.
    var sources: [(name: String, reason: String)]

    var names: [String] { sources.map(\.name) }

    /// The reason `source` gave, or nil when it did not propose the item.
    func reason(_ source: String) -> String? { sources.first { $0.name == source }?.reason }

    var description: String { "\(id) \(score) \(sources.map { "\($0.name): \($0.reason)" })" }

    /// The items of a JSON answer (`/api/recommend` in version 2, `/api/explain`).
    static func list(_ json: Any) throws -> [ServedItem] {
        let rows = try #require(json as? [[String: Any]])
        return try rows.map { row in
            ServedItem(
                id: try #require(row["Id"] as? String), score: (row["Score"] as? NSNumber)?.doubleValue ?? .nan,
                sources: (row["Sources"] as? [[String: Any]] ?? []).map {
                    ($0["Name"] as? String ?? "", $0["Reason"] as? String ?? "")
                })
        }
    }
}

/// What the flow's live tests share (`FlowSourceTests`, `FlowRuleTests`): the checkerboard's
/// store and item-kNN model (``ServerSuite``; user `u{g}-{j}` likes items `i{g}-{i}`, `i != j`,
/// each item liked 5 times), the model saved at `models/knn`, feedback planted at chosen ages,
/// and a flow file served by a real server on a port (HummingbirdTesting's `.live`).
protocol FlowLab: ServerSuite {}

extension FlowLab {
    /// The store and the model, the model saved at `models/knn` (and with `als`, an ALS model of
    /// the checkerboard, 4 factors, at `models/als`).
    func world(als: Bool = false) async throws -> RecommendationService {
        let base = try await makeService()
        let bundle = try #require(await base.registry.current()?.bundle)
        try bundle.save(to: folder.appendingPathComponent("models/knn"))
        if als {
            // Four factors for four groups: a group's items point one way, the groups' ways apart.
            let (log, _) = Fixtures.checkerboard()
            let model = try ModelBundle.train(
                .als, parameters: ["factors": "4"], dataset: Dataset(name: "board", interactions: log)
            ) {
                TrainingRecord(
                    dataset: "board", interactions: log.count, users: log.userCount, items: log.itemCount, seconds: $0)
            }
            try model.save(to: folder.appendingPathComponent("models/als"))
        }
        return base
    }

    /// The shop most tests plant: group 0's items are "red", group 1's "blue"; `i3-0` has 4 more
    /// likes 30 days old (9, the most of all time), `i2-0` 2 more an hour old and `i2-1` one
    /// (7 and 6 of all time; in the last day 2 and 1, every other like has no time); `i3-5`,
    /// `i3-2` and `i1-4` are new (100, 200 and 300 s old). Popular of all time, best first:
    /// `i3-0`, `i2-0`, `i2-1`, then the others (5 each) by id.
    func plantShop(_ service: RecommendationService) async throws {
        try await describe(
            service,
            (0..<2).flatMap { g in
                (0..<6).map { StoredItem(itemID: "i\(g)-\($0)", categories: [g == 0 ? "red" : "blue"]) }
            })
        try await describe(
            service,
            [("i3-5", 100.0), ("i3-2", 200), ("i1-4", 300)].map {
                StoredItem(itemID: $0.0, categories: $0.0 == "i1-4" ? ["blue"] : [], timestamp: Self.time(ago: $0.1))
            })
        try await plant(
            service,
            (1...4).map { ("x\($0)", "i3-0", "like", 30 * 86_400) } + [
                ("x1", "i2-0", "like", 3_600), ("x2", "i2-0", "like", 3_600), ("x3", "i2-1", "like", 3_600),
            ])
    }

    /// Feedback rows, each `ago` seconds before now (nil: without a time).
    func plant(_ service: RecommendationService, _ rows: [(user: String, item: String, type: String, ago: Double?)])
        async throws
    {
        try await service.store.insertFeedback(
            rows.map {
                StoredFeedback(
                    feedbackType: $0.type, userID: $0.user, itemID: $0.item, timestamp: $0.ago.map(Self.time) ?? "")
            }, overwrite: true)
    }

    /// Replaces these items' metadata (a title "Film <id>" is kept).
    func describe(_ service: RecommendationService, _ items: [StoredItem]) async throws {
        try await service.store.upsertItems(
            items.map {
                var item = $0
                item.comment = "Film \($0.itemID)"
                return item
            })
    }

    static func time(ago seconds: Double) -> String {
        StoreTimestamp.text(unixSeconds: Date().timeIntervalSince1970 - seconds)
    }

    /// `config` served over the store of `base` by a live server: the `X-API-Version: 2` answer of
    /// `/api/recommend/{user}?{query}`, after checking that `/api/explain/{user}?{query}` gives the
    /// same items from the same sources with the same reasons, and that no source failed.
    func serve(
        _ base: RecommendationService, _ config: String, user: String, query: String = "n=5",
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> [ServedItem] {
        let file = folder.appendingPathComponent("flow-\(UUID().uuidString).toml")
        try config.write(to: file, atomically: true, encoding: .utf8)
        let holder = try FlowHolder(file: file.path, store: base.store, retrieval: .init(mode: .exact))
        let service = RecommendationService(store: base.store, registry: base.registry, flow: holder)
        let app = Application(router: RecKitServer.makeRouter(service: service, configuration: .init()))
        let (answer, explained) = try await app.test(.live) { client in
            let version: HTTPFields = [HTTPField.Name("X-API-Version")!: "2"]
            let answer = try await client.execute(
                uri: "/api/recommend/\(user)?\(query)", method: .get, headers: version)
            let explained = try await client.execute(uri: "/api/explain/\(user)?\(query)", method: .get)
            return (answer, explained)
        }
        #expect(answer.status == .ok && explained.status == .ok, sourceLocation: sourceLocation)
        let served = try ServedItem.list(try json(answer))
        let explanation = try ServedItem.list(try json(explained))
        #expect(served.map(\.id) == explanation.map(\.id), sourceLocation: sourceLocation)
        #expect(
            served.map { $0.sources.map { "\($0.name): \($0.reason)" } }
                == explanation.map { $0.sources.map { "\($0.name): \($0.reason)" } }, sourceLocation: sourceLocation)
        #expect(service.flowFailures.snapshot().isEmpty, sourceLocation: sourceLocation)
        return served
    }
}

/// Tables of a flow file.
enum FlowFile {
    /// One `[[recommend.sources]]` table.
    static func source(_ name: String, _ type: String, _ keys: String...) -> String {
        "[[recommend.sources]]\nname = \"\(name)\"\ntype = \"\(type)\"\n" + keys.map { $0 + "\n" }.joined() + "\n"
    }

    /// One `[[recommend.rules]]` table.
    static func rule(_ type: String, _ keys: String...) -> String {
        "[[recommend.rules]]\ntype = \"\(type)\"\n" + keys.map { $0 + "\n" }.joined() + "\n"
    }
}

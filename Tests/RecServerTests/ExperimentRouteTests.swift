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

/// Experiments served (issue 47): a user gets their arm's answer, the same from every replica;
/// every answer carries `X-Request-Id`; impressions are stored off the request path; clicks on
/// shown items count for the arm; `/api/experiments` reports in the dashboard's shape.
@Suite struct ExperimentRouteTests: ServerSuite {
    let folder: URL
    // swift-format-ignore: NeverForceUnwrap
    static let requestID = HTTPField.Name("X-Request-Id")!

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("experiments-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    static func config(start: String = "2020-01-01T00:00:00Z", record: String = "experiments") -> String {
        """
        [recommend.data_source]
        positive_feedback_types = ["like", "click"]

        [[recommend.sources]]
        name = "knn"
        type = "model"
        path = "models/knn"

        [impressions]
        record = "\(record)"
        attribution_window = "1h"

        [[experiments]]
        name = "knn-vs-pop"
        start = "\(start)"
        [[experiments.arms]]
        name = "flow"
        share = 0.5
        [[experiments.arms]]
        name = "pop"
        share = 0.5
        model = "models/pop"
        """
    }

    /// The models, the configuration and a service (a "replica") over the shared store.
    func service(_ config: String) async throws -> (RecommendationService, FlowHolder) {
        let base = try await makeService()
        try train(.itemKNN).save(to: folder.appendingPathComponent("models/knn"))
        try train(.popularity).save(to: folder.appendingPathComponent("models/pop"))
        let file = folder.appendingPathComponent("flow.toml")
        try config.write(to: file, atomically: true, encoding: .utf8)
        let holder = try FlowHolder(file: file.path, store: base.store, retrieval: .init(mode: .exact))
        return (RecommendationService(store: base.store, registry: base.registry, flow: holder), holder)
    }

    var users: [String] { Fixtures.checkerboard().0.userIDs.externalIDs }

    @Test func eachUserGetsTheirArmOnEveryReplicaAndClicksCountForIt() async throws {
        let (service, holder) = try await service(Self.config())
        // A second replica: its own holder, built from the same file over the same store.
        let other = try FlowHolder(file: holder.file, store: service.store, retrieval: .init(mode: .exact))
        let experiment = try #require(holder.served().experiments.first)
        let otherExperiment = try #require(other.served().experiments.first)
        var assigned: [String: String] = [:]
        for user in users {
            let arm = try #require(experiment.arm(for: user))
            #expect(otherExperiment.arm(for: user)?.name == arm.name, "user \(user)")
            assigned[user] = arm.name
        }
        let arms = assigned
        #expect(Set(arms.values) == ["flow", "pop"], "both arms get users")
        let app = Application(router: RecKitServer.makeRouter(service: service, configuration: ServerConfiguration()))
        let users = users
        try await app.test(.router) { client in
            var shown: [String: [String]] = [:]
            var ids = Set<String>()
            for user in users {
                let (id, list) = try await client.execute(uri: "/api/recommend/\(user)?n=3", method: .get) {
                    response in
                    #expect(response.status == .ok)
                    let list = try json(response) as? [String]
                    return (response.headers[Self.requestID], list)
                }
                ids.insert(try #require(id))
                let items = try #require(list)
                shown[user] = items
                // The answer is the arm's flow's.
                let arm = try #require(experiment.arm(for: user))
                let direct = try await service.recommend(user: user, count: 3, offset: 0, category: nil, flow: arm.flow)
                #expect(shown[user] == direct.map(\.itemID), "user \(user) in arm \(arm.name)")
            }
            #expect(ids.count == users.count, "every answer has its own request id")
            #expect(await holder.impressions.flush())
            // One click on a shown item, within the window, by the user it was shown to; and a
            // click by another user on the same item, which is not theirs.
            let clicker = try #require(users.first)
            let item = try #require(shown[clicker]?.first)
            let now = StoreTimestamp.text(unixSeconds: Date().timeIntervalSince1970 + 1)
            let body = """
                [{"FeedbackType":"click","UserId":"\(clicker)","ItemId":"\(item)","Timestamp":"\(now)"},
                 {"FeedbackType":"click","UserId":"stranger","ItemId":"\(item)","Timestamp":"\(now)"}]
                """
            try await client.execute(uri: "/api/feedback", method: .post, body: ByteBuffer(string: body)) {
                #expect($0.status == .ok)
            }
            try await client.execute(uri: "/api/experiments/knn-vs-pop", method: .get) { response in
                #expect(response.status == .ok)
                let report = try #require(try json(response) as? [String: Any])
                try Self.check(report, arms: arms, clicked: arms[clicker] ?? "")
            }
            try await client.execute(uri: "/api/experiments", method: .get) { response in
                let list = try json(response) as? [[String: Any]]
                #expect(list?.count == 1)
            }
            try await client.execute(uri: "/api/experiments/nope", method: .get) { #expect($0.status == .notFound) }
        }
        await holder.impressions.close()
        await other.impressions.close()
        // The definition is in the store, for `reckit experiment report`.
        let stored = try await ExperimentResults.storedRecords(service.store)
        #expect(stored.map(\.experiment.name) == ["knn-vs-pop"] && stored.first?.clickTypes == ["like", "click"])
    }

    /// The report of one click in arm `clicked` over the users of `arms`, in the dashboard's shape.
    static func check(_ report: [String: Any], arms: [String: String], clicked: String) throws {
        #expect(
            Set(report.keys) == ["Name", "Start", "Stop", "Running", "Method", "Arms", "Difference", "Daily"])
        #expect(report["Stop"] is NSNull && report["Running"] as? Bool == true)
        #expect(report["Start"] as? String == "2020-01-01T00:00:00Z")
        #expect(report["Method"] as? String == "mSPRT (Johari et al. 2022)")
        let reported = try #require(report["Arms"] as? [[String: Any]])
        #expect(reported.map { $0["Name"] as? String } == ["flow", "pop"])
        let expected = ["flow", "pop"].map { name in arms.values.filter { $0 == name }.count }
        #expect(reported.map { $0["Users"] as? Int } == expected)
        #expect(reported.map { $0["Impressions"] as? Int } == expected)
        let clicks = reported.map { $0["Clicks"] as? Int ?? -1 }
        #expect(clicks == (clicked == "flow" ? [1, 0] : [0, 1]))
        for arm in reported {
            let ctr = try #require(arm["CTR"] as? [String: Double])
            #expect(Set(ctr.keys) == ["Value", "Low", "High"])
            #expect(arm["ConversionsPerUser"] is [String: Double] && arm["OnlineNDCG"] is [String: Double])
        }
        let daily = try #require(report["Daily"] as? [[String: Any]])
        #expect(daily.count == 2 && daily.map { $0["Clicks"] as? Int ?? -1 }.reduce(0, +) == 1)
        #expect(Set(daily[0].keys) == ["Day", "Arm", "Users", "Impressions", "Clicks"])
        let difference = try #require(report["Difference"] as? [String: Any])
        #expect(difference["Metric"] as? String == "clicks per user")
        let (low, high) = (difference["Low"] as? Double ?? 1, difference["High"] as? Double ?? -1)
        #expect(low <= (difference["Estimate"] as? Double ?? .nan) && low < high)
    }

    @Test(arguments: ["experiments", "always"])
    func beforeTheStartNothingIsRecordedUnlessEveryAnswerIs(record: String) async throws {
        do {
            let (service, holder) = try await service(Self.config(start: "2999-01-01T00:00:00Z", record: record))
            let app = Application(
                router: RecKitServer.makeRouter(service: service, configuration: ServerConfiguration()))
            let user = try #require(users.first)
            try await app.test(.router) { client in
                try await client.execute(uri: "/api/recommend/\(user)", method: .get) {
                    #expect($0.headers[Self.requestID] != nil)
                }
                try await client.execute(uri: "/api/item/i0-0/neighbors", method: .get) {
                    #expect($0.status == .ok && $0.headers[Self.requestID] != nil)
                }
                let body = #"[{"FeedbackType":"like","UserId":"","ItemId":"i0-0"}]"#
                try await client.execute(
                    uri: "/api/session/recommend", method: .post, body: ByteBuffer(string: body)
                ) {
                    #expect($0.status == .ok && $0.headers[Self.requestID] != nil)
                }
            }
            await holder.impressions.close()
            let recorded = try await service.store.experimentOutcomes(
                experiment: "", clickTypes: [], conversionTypes: [])
            let experimentRows = try await service.store.experimentOutcomes(
                experiment: "knn-vs-pop", clickTypes: [], conversionTypes: [])
            #expect(experimentRows.isEmpty, "the experiment has not started")
            // Always: the recommendation (its user's), the neighbours and the session (no user).
            #expect(recorded.reduce(0) { $0 + $1.impressions } == (record == "always" ? 3 : 0))
            #expect(record == "experiments" || Set(recorded.map(\.userID)) == ["", user])
        }
    }

    /// `/api/explain` shows a user in an experiment their arm's flow: its items and its sources
    /// (the "pop" arm's one source is named after the arm, the main flow's is "knn").
    @Test func explainShowsTheUsersArm() async throws {
        let (service, holder) = try await service(Self.config())
        let experiment = try #require(holder.served().experiments.first)
        let app = Application(router: RecKitServer.makeRouter(service: service, configuration: ServerConfiguration()))
        let users = users
        try await app.test(.router) { client in
            var arms = Set<String>()
            for user in users {
                let arm = try #require(experiment.arm(for: user))
                arms.insert(arm.name)
                let direct = try await service.recommend(user: user, count: 3, offset: 0, category: nil, flow: arm.flow)
                try await client.execute(uri: "/api/explain/\(user)?n=3", method: .get) { response in
                    #expect(response.status == .ok)
                    let list = try #require(try json(response) as? [[String: Any]])
                    #expect(list.map { $0["Id"] as? String } == direct.map(\.itemID), "user \(user)")
                    let origins = list.flatMap { $0["Sources"] as? [[String: Any]] ?? [] }
                    let sources = Set(origins.map { $0["Name"] as? String })
                    #expect(sources == [arm.name == "pop" ? "pop" : "knn"], "user \(user) in arm \(arm.name)")
                }
            }
            #expect(arms == ["flow", "pop"])
        }
        await holder.impressions.close()
    }

    /// With `record = "always"`, a neighbours or session answer is recorded under the user the
    /// request names (`user-id`, or the one user a session's rows name), else under none.
    @Test func neighboursAndSessionsRecordTheUserTheyName() async throws {
        let (service, holder) = try await service(Self.config(start: "2999-01-01T00:00:00Z", record: "always"))
        let app = Application(router: RecKitServer.makeRouter(service: service, configuration: ServerConfiguration()))
        try await app.test(.router) { client in
            for uri in ["/api/item/i0-0/neighbors?user-id=n1", "/api/item/i0-0/neighbors"] {
                try await client.execute(uri: uri, method: .get) { #expect($0.status == .ok) }
            }
            try await client.execute(uri: "/api/item/i0-0/neighbors?user-id=", method: .get) {
                #expect($0.status == .badRequest)
            }
            let anonymous = #"[{"FeedbackType":"like","UserId":"","ItemId":"i0-0"}]"#
            let named = #"[{"FeedbackType":"like","UserId":"s2","ItemId":"i0-0"}]"#
            for (uri, body) in [
                ("/api/session/recommend?user-id=s1", anonymous), ("/api/session/recommend", named),
                ("/api/session/recommend", anonymous),
            ] {
                try await client.execute(uri: uri, method: .post, body: ByteBuffer(string: body)) {
                    #expect($0.status == .ok)
                }
            }
        }
        await holder.impressions.close()
        let recorded = try await service.store.experimentOutcomes(experiment: "", clickTypes: [], conversionTypes: [])
        let byUser = Dictionary(recorded.map { ($0.userID, $0.impressions) }, uniquingKeysWith: +)
        #expect(byUser == ["": 2, "n1": 1, "s1": 1, "s2": 1])
    }

    @Test func aReloadRebuildsTheArmsAndABadArmKeepsTheOldOnes() async throws {
        let (_, holder) = try await service(Self.config())
        let file = URL(fileURLWithPath: holder.file)
        // Another salt: the arms are rebuilt under it.
        try Self.config().replacingOccurrences(
            of: "name = \"knn-vs-pop\"\n", with: "name = \"knn-vs-pop\"\nsalt = \"2\"\n"
        )
        .write(to: file, atomically: true, encoding: .utf8)
        #expect(try await holder.reload() == 2)
        #expect(holder.served().experiments.map(\.configuration.definition.salt) == ["2"])
        // An arm whose model directory is gone: refused, the salt-2 experiment keeps serving.
        try Self.config().replacingOccurrences(of: "models/pop", with: "models/gone")
            .write(to: file, atomically: true, encoding: .utf8)
        await #expect(throws: FlowHolder.ReloadError.self) { try await holder.reload() }
        #expect(holder.current().version == 2)
        #expect(holder.served().experiments.first?.flows.keys.sorted() == ["flow", "pop"])
        await holder.impressions.close()
    }

    @Test func retentionDeletesImpressionsOlderThanItsSpan() async throws {
        let store = try SQLiteEventStore(path: folder.appendingPathComponent("retention.sqlite").path)
        let now = Date().timeIntervalSince1970
        try store.insertImpressions(
            [("old", now - 3 * 86_400), ("new", now - 3_600)].map { id, time in
                StoredImpression(
                    requestID: id, experiment: "e", arm: "a", userID: id, route: "recommend", items: ["x"],
                    time: StoreTimestamp.text(unixSeconds: time), until: StoreTimestamp.text(unixSeconds: time + 3_600))
            })
        // The first round deletes at once (called here directly: the recorder's own loop runs
        // on the test pool, which other suites can keep busy for longer than any wait here).
        let recorder = ImpressionRecorder(store: store, retention: 86_400)
        await recorder.applyRetention()
        let users = try store.experimentOutcomes(experiment: "e", clickTypes: [], conversionTypes: []).map(\.userID)
        #expect(users == ["new"])
        await recorder.close()
    }

    /// Request ids are 32 hex digits, distinct within a process and, by their random prefix,
    /// across processes.
    @Test func requestIDsAreDistinctHexStrings() {
        let ids = (0..<10_000).map { _ in RecommendationService.newRequestID() }
        #expect(Set(ids).count == ids.count)
        #expect(ids.allSatisfy { $0.utf8.count == 32 && $0.allSatisfy(\.isHexDigit) })
        #expect(RequestIDs(prefix: 1).next() == "00000000000000010000000000000001")
        #expect(RequestIDs(prefix: 1).next() != RequestIDs(prefix: 2).next())
    }

    @Test func closingWritesEveryQueuedImpression() async throws {
        let store = try SQLiteEventStore(path: folder.appendingPathComponent("queue.sqlite").path)
        let recorder = ImpressionRecorder(store: store)
        for index in 0..<1_234 {
            recorder.add(
                StoredImpression(
                    requestID: "r\(index)", experiment: "e", arm: index % 2 == 0 ? "a" : "b", userID: "u\(index % 7)",
                    route: "recommend", items: ["x", "y"], time: "2026-12-01T00:00:00Z", until: "2026-12-01T01:00:00Z"))
        }
        await recorder.close()
        let rows = try store.experimentOutcomes(experiment: "e", clickTypes: [], conversionTypes: [])
        #expect(rows.reduce(0) { $0 + $1.impressions } == 1_234)
        #expect(recorder.counts.written == 1_234 && recorder.counts.pending == 0)
    }
}

import Foundation
import RecData
import RecFlow
import RecModels
import RecStore
import Testing
import _RecStoreTestSupport
import _RecTestSupport

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Issue 47's "counted once under concurrency": two `reckit serve --config` processes over one
/// PostgreSQL database run an experiment; recommendations (impressions) go through one replica,
/// concurrently; every click goes through the other, each written twice at once (and once more
/// through the first). The per-arm counts are exact, and a replica stopped with SIGTERM right
/// after answering has written every impression it served.
struct ExperimentReplicaTests {
    static let experiment = "knn-vs-pop"

    func request(_ port: Int, _ path: String, method: String = "GET", body: String? = nil) async -> (
        status: Int, body: Data, requestID: String?
    )? {
        guard let url = URL(string: "http://127.0.0.1:\(port)\(path)") else { return nil }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.httpBody = body.map { Data($0.utf8) }
        request.timeoutInterval = 15
        guard let (data, response) = try? await URLSession.shared.data(for: request),
            let http = response as? HTTPURLResponse
        else { return nil }
        return (http.statusCode, data, http.value(forHTTPHeaderField: "X-Request-Id"))
    }

    func eventually(_ seconds: Double, _ condition: () async -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    func train(_ kind: ModelKind, _ log: InteractionLog, to directory: URL) throws {
        try ModelBundle.train(kind, dataset: Dataset(name: "board", interactions: log)) {
            TrainingRecord(
                dataset: "board", interactions: log.count, users: log.userCount, items: log.itemCount, seconds: $0)
        }.save(to: directory)
    }

    static let config = """
        [recommend.data_source]
        positive_feedback_types = ["like", "click"]

        [[recommend.sources]]
        name = "knn"
        type = "model"
        path = "models/knn"

        [[experiments]]
        name = "\(experiment)"
        start = "2020-01-01T00:00:00Z"
        window = "1h"
        [[experiments.arms]]
        name = "flow"
        share = 0.5
        [[experiments.arms]]
        name = "pop"
        share = 0.5
        model = "models/pop"
        """

    /// The arms' (users, impressions, clicks) from `GET /api/experiments/{name}` on `port`.
    func counts(_ port: Int) async -> [[Int]]? {
        guard let (status, body, _) = await request(port, "/api/experiments/\(Self.experiment)"), status == 200,
            let report = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
            let arms = report["Arms"] as? [[String: Any]]
        else { return nil }
        return arms.map { arm in ["Users", "Impressions", "Clicks"].map { arm[$0] as? Int ?? -1 } }
    }

    /// `reckit serve --config` on each port (killed after 300 s), once all are ready.
    func startReplicas(_ ports: [Int], config: URL, db: String, logs folder: URL) async throws -> [ChildProcess] {
        var servers: [ChildProcess] = []
        for port in ports {
            let log = folder.appendingPathComponent("serve-\(port).log")
            servers.append(
                try ChildProcess(
                    LiveServerTests.executable, ["serve", "--config", config.path, "--db", db, "--port", String(port)],
                    output: log, errors: log, lifetime: 300))
        }
        for (port, server) in zip(ports, servers) {
            let ready = await eventually(60) { await request(port, "/api/health/ready")?.status == 200 }
            if !(ready && server.isRunning) { for server in servers { server.stop(grace: 2) } }
            try #require(ready && server.isRunning, "replica on \(port): \(server.errorTail())")
        }
        return servers
    }

    @Test func impressionsThroughOneReplicaAndClicksThroughAnotherCountOnce() async throws {
        let binary = LiveServerTests.executable
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "build reckit first: \(binary.path)")
        let folder = temporaryDirectory("experiment-replicas")
        let (log, _) = Fixtures.checkerboard()
        try train(.itemKNN, log, to: folder.appendingPathComponent("models/knn"))
        try train(.popularity, log, to: folder.appendingPathComponent("models/pop"))
        let file = folder.appendingPathComponent("flow.toml")
        try Self.config.write(to: file, atomically: true, encoding: .utf8)
        let (store, url) = try await StoreBackend.postgres.makeStore()
        try await StoreImport.load(Dataset(name: "board", interactions: log), into: store, feedbackType: "like")

        let ports = [try freeLoopbackPort(), try freeLoopbackPort()]
        let servers = try await startReplicas(ports, config: file, db: url, logs: folder)
        defer { for server in servers { server.stop(grace: 2) } }
        let definition = try #require(try FlowConfiguration.read(file: file.path).experiments.first).definition
        let users = log.userIDs.externalIDs
        // Impressions through replica 0, all at once.
        let shown = try await withThrowingTaskGroup(of: (String, [String]).self) { group in
            for user in users {
                group.addTask {
                    let answer = try #require(await request(ports[0], "/api/recommend/\(user)?n=4"))
                    #expect(answer.status == 200 && answer.requestID != nil)
                    return (user, try JSONDecoder().decode([String].self, from: answer.body))
                }
            }
            return try await group.reduce(into: [String: [String]]()) { $0[$1.0] = $1.1 }
        }
        // Every other user clicks their second item, through replica 1, twice at once, and once
        // more through replica 0; every user also clicks an item they were not shown.
        let now = StoreTimestamp.text(unixSeconds: Date().timeIntervalSince1970 + 1)
        let clickers = users.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
        await withTaskGroup(of: Void.self) { group in
            for user in users {
                let notShown = log.itemIDs.externalIDs.first { !(shown[user] ?? []).contains($0) } ?? "none"
                var items = [notShown]
                if clickers.contains(user), let item = shown[user]?.dropFirst().first { items.append(item) }
                for (item, port) in items.flatMap({ item in [ports[1], ports[1], ports[0]].map { (item, $0) } }) {
                    let body =
                        #"[{"FeedbackType":"click","UserId":"\#(user)","ItemId":"\#(item)","Timestamp":"\#(now)"}]"#
                    group.addTask { _ = await request(port, "/api/feedback", method: "POST", body: body) }
                }
            }
        }
        let clicked = clickers.filter { (shown[$0]?.count ?? 0) >= 2 }
        #expect(clicked.count == clickers.count, "each clicker was shown two items")
        let arms = ["flow", "pop"]
        let expected = arms.map { arm in
            let members = users.filter { definition.arm(for: $0).name == arm }
            return [members.count, members.count, members.filter(clicked.contains).count]
        }
        #expect(expected.map { $0[0] }.allSatisfy { $0 > 0 }, "both arms have users")
        var seen: [[Int]]?
        let exact = await eventually(30) {
            seen = await counts(ports[1])
            return seen == expected
        }
        #expect(exact, "replica 1 reports \(String(describing: seen)), expected \(expected)")
        #expect(await counts(ports[0]) == expected)

        // A burst through replica 0, then SIGTERM at once: every impression is written. (After
        // the clicks' time: a click timestamped after an impression that shows its item would
        // count for that impression too.)
        try await Task.sleep(for: .seconds(2))
        let burst = 40
        for index in 0..<burst { _ = await request(ports[0], "/api/recommend/\(users[index % users.count])") }
        servers[0].signal(SIGTERM)
        #expect(await servers[0].wait(seconds: 30), "replica 0 did not exit on SIGTERM")
        let stored = try await store.experimentOutcomes(
            experiment: Self.experiment, clickTypes: ["like", "click"], conversionTypes: ["like", "click"])
        #expect(stored.reduce(0) { $0 + $1.impressions } == users.count + burst)
        #expect(stored.reduce(0) { $0 + $1.clicks } == clicked.count)
        await store.close()
    }
}

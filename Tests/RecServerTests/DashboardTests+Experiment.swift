import Foundation
import RecFlow
import RecStore
import Testing
import _RecTestSupport

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The experiment's view over a real experiment: `reckit serve --config` with an item-kNN flow
/// against a popularity arm over the checkerboard store, every user served once and half of them
/// clicking their first item; the page shows what `/api/experiments/{name}` counts. The admin
/// key comes from the flow's file (`[server] admin_key`).
extension DashboardTests {
    @Test func theFlowFileGivesTheAdminKeyAndNeverAnEmptyOne() throws {
        let directory = folder
        // The file's sources and arms must hold models.
        try train(.itemKNN).save(to: folder.appendingPathComponent("models/knn"))
        try train(.popularity).save(to: folder.appendingPathComponent("models/pop"))
        #expect(try FlowConfiguration.parse(Self.flow, file: "flow.toml", directory: directory).adminKey == "admin")
        let empty = Self.flow.replacingOccurrences(of: "admin_key = \"admin\"", with: "admin_key = \"\"")
        let error = #expect(throws: (any Error).self) {
            try FlowConfiguration.parse(empty, file: "flow.toml", directory: directory)
        }
        #expect(
            String(describing: error).contains("server.admin_key: must not be empty"), "\(String(describing: error))")
    }

    static let flow = """
        [server]
        admin_key = "admin"

        [recommend.data_source]
        positive_feedback_types = ["like", "click"]

        [[recommend.sources]]
        name = "knn"
        type = "model"
        path = "models/knn"

        [[experiments]]
        name = "knn-vs-pop"
        start = "2020-01-01T00:00:00Z"
        [[experiments.arms]]
        name = "knn"
        share = 0.5
        [[experiments.arms]]
        name = "pop"
        share = 0.5
        model = "models/pop"
        """

    func startExperimentServer(port: Int) async throws -> ChildProcess {
        let database = folder.appendingPathComponent("events.sqlite").path
        let store = try SQLiteEventStore(path: database)
        _ = try await fill(store)
        store.close()
        try train(.itemKNN).save(to: folder.appendingPathComponent("models/knn"))
        try train(.popularity).save(to: folder.appendingPathComponent("models/pop"))
        let config = folder.appendingPathComponent("flow.toml")
        try Data(Self.flow.utf8).write(to: config)
        let serverLog = folder.appendingPathComponent("serve.log")
        return try ChildProcess(
            LiveServerTests.executable,
            ["serve", "--db", database, "--config", config.path, "--port", String(port)],
            output: serverLog, errors: serverLog, lifetime: 150)
    }

    /// The JSON answer of a request to the server (10 s at most).
    func call(_ url: String, body: Data? = nil) async throws -> Any {
        var request = URLRequest(url: try #require(URL(string: url)))
        request.timeoutInterval = 10
        if let body {
            request.httpMethod = "POST"
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, _) = try await URLSession.shared.data(for: request)
        return try JSONSerialization.jsonObject(with: data)
    }

    @Test func aServedExperimentsArmsRenderInChromium() async throws {
        let binary = LiveServerTests.executable
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "build reckit first: \(binary.path)")
        let port = try freeLoopbackPort()
        let server = try await startExperimentServer(port: port)
        defer { server.stop() }
        try await waitUntilServing(server, port: port)
        let base = "http://127.0.0.1:\(port)"
        let users = (0..<4).flatMap { g in (0..<6).map { "u\(g)-\($0)" } }
        for (index, user) in users.enumerated() {
            let items = try #require(try await call("\(base)/api/recommend/\(user)?n=5") as? [String])
            guard index % 2 == 0, let first = items.first else { continue }
            // A click a second after the answer: at or after the impression's time, within its window.
            let time = StoreTimestamp.text(unixSeconds: Date().timeIntervalSince1970 + 1)
            let click = [["FeedbackType": "click", "UserId": user, "ItemId": first, "Timestamp": time]]
            _ = try await call("\(base)/api/feedback", body: try JSONSerialization.data(withJSONObject: click))
        }
        // Impressions are written in batches: wait until all 24 are counted.
        var arms: [[String: Any]] = []
        for _ in 0..<100 {
            let report = try #require(try await call("\(base)/api/experiments/knn-vs-pop") as? [String: Any])
            arms = report["Arms"] as? [[String: Any]] ?? []
            if arms.compactMap({ $0["Impressions"] as? Int }).reduce(0, +) == users.count { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let count = { (key: String) in arms.compactMap { $0[key] as? Int } }
        #expect(count("Users").reduce(0, +) == 24)
        #expect(count("Impressions").reduce(0, +) == 24)
        // Each of the 12 clicks is on an item its user was just shown: each counts once.
        #expect(count("Clicks").reduce(0, +) == 12)

        let dom = try await render("\(base)/dashboard?key=admin#/experiment/knn-vs-pop", shot: "served-experiment")
        let table = String(dom[try #require(dom.range(of: "id=\"arms\"")).upperBound...])
            .components(separatedBy: "</table>")[0]
        let (armUsers, impressions, clicks) = (count("Users"), count("Impressions"), count("Clicks"))
        for (index, name) in ["knn", "pop"].enumerated() where index < arms.count {
            let row = ["50%", armUsers[index], impressions[index], clicks[index]].map { "<td class=\"n\">\($0)</td>" }
            #expect(table.contains("<td>\(name)</td>" + row.joined()), "\(table)")
        }
        #expect(dom.contains("data-plot=\"impressions per day\""))
        #expect(dom.contains("clicks per user, pop − knn: <b>"), "\(dom.suffix(2000))")

        let overview = try await render("\(base)/dashboard?key=admin#/overview", shot: "served-overview")
        #expect(overview.contains("<a href=\"#/experiment/knn-vs-pop\">knn-vs-pop</a></td><td>running</td>"))
        #expect(overview.contains("<td>knn</td><td>model</td>"), "the flow's source")
    }
}

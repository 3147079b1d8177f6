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

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The dashboard at `/dashboard`: its admin key, its routes, and its four views rendered by
/// headless Chromium from a real `reckit serve` (a child process, as in ``PageTests``) over a
/// store of the checkerboard's users and items with a few hundred timestamped events.
struct DashboardTests: ServerSuite {
    let folder = temporaryDirectory("dashboard")

    /// The checkerboard's pairs as `like` rows and every user's clicks on three items of the next
    /// group as `click` rows, spread over the eight days ending 2026-12-01, and each item's title.
    func fill(_ store: any EventStore) async throws -> Int {
        let (log, _) = Fixtures.checkerboard()
        var rows: [StoredFeedback] = []
        let start = StoreTimestamp.unixSeconds("2026-11-24T00:00:00Z") ?? 0
        for (index, (user, item)) in zip(log.users, log.items).enumerated() {
            rows.append(
                StoredFeedback(
                    feedbackType: "like", userID: log.userIDs.externalIDs[Int(user)],
                    itemID: log.itemIDs.externalIDs[Int(item)],
                    timestamp: StoreTimestamp.text(unixSeconds: start + Double(index) * 5_000)))
        }
        for (index, user) in log.userIDs.externalIDs.enumerated() {
            let group = ((Int(user.dropFirst().prefix { $0 != "-" }) ?? 0) + 1) % 4
            for k in 0..<3 {
                rows.append(
                    StoredFeedback(
                        feedbackType: "click", userID: user, itemID: "i\(group)-\(k)",
                        timestamp: StoreTimestamp.text(unixSeconds: start + Double(index * 3 + k) * 9_000)))
            }
        }
        try await store.insertFeedback(rows, overwrite: false)
        try await store.upsertItems(log.itemIDs.externalIDs.map { StoredItem(itemID: $0, comment: "Film \($0)") })
        return rows.count
    }

    /// The trainer's report as `reckit trainer` writes it (the fields the overview shows).
    static let report =
        #"{"decision":"published","candidate":{"ndcg@10":0.3125},"serving":{"ndcg@10":0.25},"events":120}"#

    // MARK: The admin key and the routes, in process

    @Test func theDashboardAndItsRoutesNeedTheAdminKeyAndNotTheAPIKey() async throws {
        let service = try await makeService()
        var configuration = ServerConfiguration()
        configuration.apiKey = "api"
        configuration.adminKey = "admin"
        let app = Application(router: RecKitServer.makeRouter(service: service, configuration: configuration))
        try await app.test(.router) { client in
            for uri in ["/dashboard", "/dashboard?key=wrong", "/api/dashboard/overview", "/api/models/published"] {
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == .unauthorized, "\(uri)")
                    #expect(text(response).contains("X-Admin-Key"), "\(uri)")
                }
            }
            // The API key opens the API, not the dashboard.
            try await client.execute(uri: "/api/dashboard/overview", method: .get, headers: [.apiKey: "api"]) {
                #expect($0.status == .unauthorized)
            }
            try await client.execute(uri: "/dashboard?key=admin", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                #expect(text(response).contains("RecKit dashboard"))
            }
            // The page load's key does not open the routes: they need the header.
            try await client.execute(uri: "/api/models/published?key=admin", method: .get) {
                #expect($0.status == .unauthorized)
            }
            try await client.execute(uri: "/api/dashboard/overview?days=0", method: .get, headers: [.adminKey: "admin"])
            {
                #expect($0.status == .badRequest)
            }
            try await client.execute(uri: "/api/dashboard/overview", method: .get, headers: [.adminKey: "admin"]) {
                let overview = try #require(try json($0) as? [String: Any])
                #expect(overview["Users"] as? Int == 24)
                #expect(overview["Items"] as? Int == 24)
                #expect(overview["Days"] as? Int == 30)
            }
            // Shared routes still need the API key, and the admin key does not replace it.
            try await client.execute(uri: "/api/model", method: .get, headers: [.adminKey: "admin"]) {
                #expect($0.status == .unauthorized)
            }
        }
    }

    @Test func withoutAnAdminKeyTheDashboardIsOff() async throws {
        let service = try await makeService()
        let app = Application(router: RecKitServer.makeRouter(service: service, configuration: ServerConfiguration()))
        try await app.test(.router) { client in
            for uri in ["/dashboard", "/api/dashboard/overview", "/api/item/i0-1/feedback"] {
                try await client.execute(uri: uri, method: .get, headers: [.adminKey: ""]) { response in
                    #expect(response.status == .forbidden, "\(uri)")
                    #expect(text(response).contains("--admin-key"))
                }
            }
        }
    }

    @Test func theRoutesAnswerPublishedModelsWithReportsAndWhoInteracted() async throws {
        let service = try await makeService()
        _ = try await service.store.publishModel(name: "knn-1", kind: "itemknn", report: "")
        _ = try await service.store.publishModel(name: "knn-2", kind: "itemknn", report: Self.report)
        var configuration = ServerConfiguration()
        configuration.adminKey = "admin"
        let app = Application(router: RecKitServer.makeRouter(service: service, configuration: configuration))
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/models/published", method: .get, headers: [.adminKey: "admin"]) {
                let models = try #require(try json($0) as? [[String: Any]])
                #expect(models.map { $0["Name"] as? String } == ["knn-2", "knn-1"])
                let report = try #require(models.first?["Report"] as? [String: Any])
                #expect(report["decision"] as? String == "published")
                #expect(models.last?["Report"] is NSNull)
            }
            // The checkerboard: i0-1 is liked by the five users of group 0 other than u0-1.
            try await client.execute(uri: "/api/item/i0-1/feedback", method: .get, headers: [.adminKey: "admin"]) {
                let rows = try #require(try json($0) as? [[String: Any]])
                #expect(rows.map { $0["UserId"] as? String } == ["u0-0", "u0-2", "u0-3", "u0-4", "u0-5"])
                #expect(Set(rows.compactMap { $0["FeedbackType"] as? String }) == ["like"])
            }
        }
    }

    // MARK: The views, in Chromium

    /// Writes the store (with a published model and its report) and the model, and starts
    /// `reckit serve --admin-key admin` on `port` (killed after 150 s at the latest).
    func startServer(port: Int) async throws -> (server: ChildProcess, events: Int) {
        let database = folder.appendingPathComponent("events.sqlite").path
        let store = try SQLiteEventStore(path: database)
        let events = try await fill(store)
        _ = try store.publishModel(name: "itemknn-20261201", kind: "itemknn", report: Self.report)
        store.close()
        let model = folder.appendingPathComponent("model")
        try train(.itemKNN).save(to: model)
        let serverLog = folder.appendingPathComponent("serve.log")
        let server = try ChildProcess(
            LiveServerTests.executable,
            [
                "serve", "--db", database, "--model", model.path, "--admin-key", "admin", "--published-poll", "0",
                "--port", String(port),
            ],
            output: serverLog, errors: serverLog, lifetime: 150)
        return (server, events)
    }

    func waitUntilServing(_ server: ChildProcess, port: Int) async throws {
        let probe = try #require(URL(string: "http://127.0.0.1:\(port)/api/health/live"))
        for _ in 0..<300 where server.isRunning {
            var request = URLRequest(url: probe)
            request.timeoutInterval = 5
            if (try? await URLSession.shared.data(for: request)) != nil { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("the server never answered: \(server.errorTail())")
    }

    /// Renders `url` (60 s at most), writes the screenshot to the suite's temporary folder and
    /// checks its size; the DOM after the page's scripts.
    func render(_ url: String, shot: String) async throws -> String {
        let page = try #require(URL(string: url))
        let file = folder.appendingPathComponent("dashboard-\(shot).png")
        let rendered = try await Chromium.render(page, screenshot: file, waitMilliseconds: 3000, seconds: 60)
        #expect(rendered.screenshotBytes > 10_000, "\(shot): \(rendered.screenshotBytes) bytes")
        #expect(rendered.dom.contains("data-ready=\"1\""), "\(shot): \(rendered.dom.suffix(800))")
        #expect(!rendered.dom.contains("class=\"error\">/"), "\(shot): \(rendered.dom.suffix(800))")
        return rendered.dom
    }

    @Test func theOverviewUserAndItemViewsRenderInChromium() async throws {
        let binary = LiveServerTests.executable
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "build reckit first: \(binary.path)")
        let port = try freeLoopbackPort()
        let (server, events) = try await startServer(port: port)
        defer { server.stop() }
        try await waitUntilServing(server, port: port)
        let base = "http://127.0.0.1:\(port)/dashboard?key=admin"

        let overview = try await render(base + "#/overview", shot: "overview")
        #expect(overview.contains("data-page=\"overview\""))
        #expect(overview.contains("data-count=\"users\"><div class=\"v\">24</div>"))
        #expect(overview.contains("data-count=\"feedback\"><div class=\"v\">\(events)</div>"), "\(events)")
        // Eight days of likes and clicks, drawn as two lines.
        #expect(overview.contains("data-plot=\"feedback per day\""))
        #expect(overview.contains("data-series=\"like\""))
        #expect(overview.contains("data-series=\"click\""))
        #expect(overview.contains("ending on the newest feedback's day, 2026-12-0"))
        #expect(overview.contains("<td>itemknn</td>"))
        #expect(overview.contains("no flow"))
        #expect(overview.contains("<td>itemknn-20261201</td>"))
        #expect(overview.contains("<td class=\"n\">0.3125</td><td class=\"n\">0.2500</td>"))

        let user = try await render(base + "#/user/u0-0", shot: "user")
        #expect(user.contains("data-page=\"user\""))
        #expect(user.contains("History: 8 rows (like 5, click 3)"), "\(user.suffix(3000))")
        #expect(user.contains(">Film i0-1</a>"))
        // The top recommendation is the block's withheld item, with history items as reasons.
        #expect(user.contains("data-item=\"i0-0\""))
        #expect(user.contains("because of <a href=\"#/item/i0-"))
        #expect(user.contains("<a href=\"#/item/i0-0\">Film i0-0</a>"))

        let item = try await render(base + "#/item/i0-1", shot: "item")
        #expect(item.contains("Item i0-1: Film i0-1"))
        let neighbours = try #require(item.range(of: "id=\"neighbors\"")).upperBound
        #expect(item[neighbours...].contains(">Film i0-"))
        #expect(item.contains("Who interacted: "))
        #expect(item.contains("<a href=\"#/user/u0-0\">u0-0</a>"))
        #expect(!item.contains("<a href=\"#/user/u0-1\">"))
    }

    // MARK: An experiment, from a fixture

    /// `/api/experiments/{name}` in the shape the experiments' routes answer: two arms, a
    /// difference whose always-valid interval excludes 0, and three days of impressions.
    static let experiment = """
        {"Name": "knn-vs-popular", "Start": "2026-11-29T00:00:00Z", "Stop": null, "Running": true,
         "Method": "mSPRT (Johari et al. 2017)",
         "Arms": [
          {"Name": "control", "Share": 0.5, "Users": 410, "Impressions": 4100, "Clicks": 123,
           "CTR": {"Value": 0.03, "Low": 0.025, "High": 0.035},
           "ConversionsPerUser": {"Value": 0.3, "Low": 0.25, "High": 0.35},
           "OnlineNDCG": {"Value": 0.041, "Low": 0.035, "High": 0.047}},
          {"Name": "treatment", "Share": 0.5, "Users": 402, "Impressions": 4020, "Clicks": 201,
           "CTR": {"Value": 0.05, "Low": 0.043, "High": 0.057},
           "ConversionsPerUser": {"Value": 0.5, "Low": 0.43, "High": 0.57},
           "OnlineNDCG": {"Value": 0.067, "Low": 0.059, "High": 0.075}}],
         "Difference": {"Metric": "CTR", "Estimate": 0.02, "Low": 0.008, "High": 0.032, "PValue": 0.004},
         "Daily": [
          {"Day": "2026-11-29", "Arm": "control", "Users": 150, "Impressions": 1500, "Clicks": 40},
          {"Day": "2026-11-29", "Arm": "treatment", "Users": 140, "Impressions": 1400, "Clicks": 70},
          {"Day": "2026-11-30", "Arm": "control", "Users": 130, "Impressions": 1300, "Clicks": 41},
          {"Day": "2026-11-30", "Arm": "treatment", "Users": 131, "Impressions": 1310, "Clicks": 66},
          {"Day": "2026-12-01", "Arm": "control", "Users": 130, "Impressions": 1300, "Clicks": 42},
          {"Day": "2026-12-01", "Arm": "treatment", "Users": 131, "Impressions": 1310, "Clicks": 65}]}
        """

    /// The page as a file with `fetch` answering the experiment's routes from the fixture (and
    /// 404 for every other path): the experiment's view without a server that runs one.
    func pageWithFixture() throws -> URL {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/RecServer/dashboard.html")
        let page = try String(contentsOf: source, encoding: .utf8)
        let stub = """
            <head><script>
            (() => {
            const fixture = \(Self.experiment);
            const answer = (body, status) => new Response(JSON.stringify(body), {status, headers: {"Content-Type": "application/json"}});
            window.fetch = async path => {
              const route = String(path).split("?")[0];
              if (route === "/api/experiments") return answer([fixture], 200);
              if (route === "/api/experiments/" + encodeURIComponent(fixture.Name)) return answer(fixture, 200);
              return answer({error: {message: "not in the fixture"}}, 404);
            };
            })();
            </script>
            """
        let file = folder.appendingPathComponent("dashboard-fixture.html")
        try Data(page.replacingOccurrences(of: "<head>", with: stub).utf8).write(to: file)
        return file
    }

    @Test func anExperimentsArmsDifferenceAndDaysRenderInChromium() async throws {
        let page = try pageWithFixture().absoluteString
        let dom = try await render(page + "#/experiment/knn-vs-popular", shot: "experiment")
        #expect(dom.contains("data-page=\"experiment\""))
        #expect(dom.contains("Experiment knn-vs-popular"))
        #expect(dom.contains("mSPRT (Johari et al. 2017)"))
        let arms = try #require(dom.range(of: "id=\"arms\"")).upperBound
        let table = String(dom[arms...]).components(separatedBy: "</table>")[0]
        #expect(table.contains("<td>control</td><td class=\"n\">50%</td><td class=\"n\">410</td>"))
        #expect(table.contains("<td class=\"n\">4,020</td><td class=\"n\">201</td>"))
        #expect(table.contains("5.00% <span class=\"ci\">[4.30%, 5.70%]</span>"))
        #expect(table.contains("0.500 <span class=\"ci\">[0.430, 0.570]</span>"))
        #expect(dom.contains("<b>0.0200</b> <span class=\"ci\">[0.0080, 0.0320]</span>, always-valid p-value 0.004"))
        #expect(dom.contains("the arms differ at the 5% level"))
        // The difference is the second arm's figure minus the first's.
        #expect(dom.contains("<p>CTR, treatment − control: <b>"))
        // Two interval plots (CTR per arm, the difference) and the two per-day plots, one line per arm.
        let shown = String(dom[try #require(dom.range(of: "id=\"page\"")).upperBound...])
            .components(separatedBy: "</main>")[0]
        #expect(shown.components(separatedBy: "class=\"estimate\"").count - 1 == 3)
        for plot in ["impressions per day", "clicks per day"] {
            let start = try #require(dom.range(of: "data-plot=\"\(plot)\"")).upperBound
            let svg = String(dom[start...]).components(separatedBy: "</svg>")[0]
            #expect(svg.contains("data-series=\"control\""), "\(plot)")
            #expect(svg.contains("data-series=\"treatment\""), "\(plot)")
            #expect(svg.components(separatedBy: "<circle").count - 1 == 6, "\(plot)")
        }
        // The header lists the experiment.
        #expect(dom.contains("id=\"experiment-links\"><a href=\"#/experiment/knn-vs-popular\">"))
    }
}

extension HTTPField.Name {
    fileprivate static let adminKey = Self("X-Admin-Key")!
    fileprivate static let apiKey = Self("X-API-Key")!
}

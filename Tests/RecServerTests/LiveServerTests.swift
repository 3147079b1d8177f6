import Foundation
import Testing
import _RecTestSupport

@testable import RecStore

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Runs the real `reckit serve` binary on a loopback port (issue 7).
struct LiveServerTests {
    /// The `reckit` executable built in the same configuration as the tests, next to the test
    /// executable (`.build/<triple>/debug` or `release`), so `swift test -c release` runs the
    /// release binary.
    static var executable: URL {
        let tests =
            Bundle.main.executableURL?.resolvingSymlinksInPath()
            ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        return tests.deletingLastPathComponent().appendingPathComponent("reckit")
    }

    func post(_ url: URL, _ body: String) async -> Int? {
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.httpBody = Data(body.utf8)
        request.timeoutInterval = 5
        guard let (_, response) = try? await URLSession.shared.data(for: request) else { return nil }
        return (response as? HTTPURLResponse)?.statusCode
    }

    func waitUntilLive(_ port: Int) async -> Bool {
        guard let url = URL(string: "http://127.0.0.1:\(port)/api/health/live") else { return false }
        for _ in 0..<100 {
            if let (_, response) = try? await URLSession.shared.data(from: url),
                (response as? HTTPURLResponse)?.statusCode == 200
            {
                return true
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    /// `kill -9` while a client sends feedback: every event acknowledged with a 200 is in the store
    /// after the server is gone.
    @Test func acknowledgedFeedbackSurvivesKill9() async throws {
        let binary = Self.executable
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "build reckit first: \(binary.path)")
        let database = temporaryDirectory("kill9").appendingPathComponent("events.sqlite").path
        let port = try freeLoopbackPort()
        let server = try ChildProcess(binary, ["serve", "--db", database, "--port", String(port)], lifetime: 120)
        defer { server.stop() }
        #expect(await waitUntilLive(port))
        let url = try #require(URL(string: "http://127.0.0.1:\(port)/api/feedback"))
        var acknowledged: [String] = []
        for index in 0..<200 {
            if index == 120 { server.signal(SIGKILL) }
            let item = "item-\(index)"
            let body = #"[{"FeedbackType":"like","UserId":"u","ItemId":"\#(item)"}]"#
            if await post(url, body) == 200 { acknowledged.append(item) }
        }
        #expect(await server.wait(seconds: 10))
        #expect(acknowledged.count >= 100)
        let stored = Set(try await SQLiteEventStore(path: database).feedback(ofUser: "u").map(\.itemID))
        #expect(acknowledged.allSatisfy { stored.contains($0) })
    }
}

import Foundation
import Testing
import _RecTestSupport

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `reckit serve --replacement` as a process (issue 44): trained with `reckit train`, served over
/// a store that `reckit db import` filled; a purchase changes the next answer.
struct LiveReplacementTests {
    func get(_ port: Int, _ path: String) async throws -> [String] {
        let url = try #require(URL(string: "http://127.0.0.1:\(port)\(path)"))
        let (data, _) = try await URLSession.shared.data(from: url)
        return try JSONSerialization.jsonObject(with: data) as? [String] ?? []
    }

    func put(_ port: Int, _ body: String) async throws -> Int {
        var request = URLRequest(url: try #require(URL(string: "http://127.0.0.1:\(port)/api/feedback")))
        request.httpMethod = "PUT"
        request.httpBody = Data(body.utf8)
        request.timeoutInterval = 10
        let (_, response) = try await URLSession.shared.data(for: request)
        return (response as? HTTPURLResponse)?.statusCode ?? 0
    }

    @Test func seenItemsComeBackOnlyWithTheFlag() async throws {
        let binary = LiveServerTests.executable
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "build reckit first: \(binary.path)")
        let folder = temporaryDirectory("live-replacement")
        // Orders of four shoppers; u bought milk in two orders, bread in the newest.
        let rows = [
            "u,milk,o1,100", "u,eggs,o1,100", "u,milk,o2,200", "u,bread,o3,300", "v,milk,o4,100", "v,tea,o5,200",
            "w,tea,o6,100", "w,jam,o7,200", "x,tea,o8,100", "x,jam,o9,200",
        ]
        let csv = folder.appendingPathComponent("orders.csv")
        try ("user_id,item_id,order_id,timestamp\n" + rows.joined(separator: "\n") + "\n").write(
            to: csv, atomically: true, encoding: .utf8)
        let model = folder.appendingPathComponent("repeat").path
        let data = ["--data", csv.path, "--basket-field", "order_id"]
        _ = try await ChildProcess.run(binary, ["train"] + data + ["--model", "repeat", "--out", model], seconds: 120)
        for replacement in [false, true] {
            let database = folder.appendingPathComponent("events-\(replacement).sqlite").path
            _ = try await ChildProcess.run(binary, ["db", "import", csv.path, "--db", database], seconds: 120)
            let port = try freeLoopbackPort()
            let server = try ChildProcess(
                binary,
                ["serve", "--model", model, "--db", database, "--port", String(port)]
                    + (replacement ? ["--replacement"] : []), lifetime: 120)
            defer { server.stop() }
            #expect(await LiveServerTests().waitUntilLive(port))
            let first = try await get(port, "/api/recommend/u?n=3")
            if replacement {
                // The newest purchase first, then the older ones; tea and jam (never bought) after.
                #expect(first == ["bread", "milk", "eggs"], "\(first)")
                #expect(
                    try await put(
                        port,
                        #"[{"FeedbackType":"rating","UserId":"u","ItemId":"eggs","Timestamp":"2026-01-01T00:00:00Z"}]"#)
                        == 200)
                #expect(try await get(port, "/api/recommend/u?n=1") == ["eggs"])
            } else {
                #expect(first == ["tea", "jam"], "\(first)")
            }
        }
    }
}

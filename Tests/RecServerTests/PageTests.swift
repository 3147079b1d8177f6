import Foundation
import RecData
import RecModels
import RecStore
import Testing
import _RecTestSupport

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The page at `/`, loaded in headless Chromium from a real `reckit serve` on a loopback port,
/// over a SQLite store of the checkerboard fixture (each item's title, its comment, is
/// "Film <id>") and an item-kNN model.
///
/// The server is a process of its own, not the test process's router: Chromium's virtual time
/// stands still while a fetch is pending, so a page served in process waits for as long as the
/// test process's concurrency pool (two threads on two cores) is held by other tests' synchronous
/// work, which in a full run can be minutes.
struct PageTests {
    let folder = temporaryDirectory("page")

    /// Writes the store and the model, and starts `reckit serve` on `port` (killed after 120 s
    /// at the latest); its log goes to `serve.log` in `folder`.
    func startServer(port: Int, apiKey: String) async throws -> ChildProcess {
        let (log, _) = Fixtures.checkerboard()
        let database = folder.appendingPathComponent("events.sqlite").path
        let store = try SQLiteEventStore(path: database)
        try await StoreImport.load(Dataset(name: "board", interactions: log), into: store, feedbackType: "like")
        try store.upsertItems(log.itemIDs.externalIDs.map { StoredItem(itemID: $0, comment: "Film \($0)") })
        store.close()
        let model = folder.appendingPathComponent("model")
        try ModelBundle.train(.itemKNN, dataset: Dataset(name: "board", interactions: log)) {
            TrainingRecord(
                dataset: "board", interactions: log.count, users: log.userCount, items: log.itemCount, seconds: $0)
        }
        .save(to: model)
        let serverLog = folder.appendingPathComponent("serve.log")
        return try ChildProcess(
            LiveServerTests.executable,
            ["serve", "--db", database, "--model", model.path, "--api-key", apiKey, "--port", String(port)],
            output: serverLog, errors: serverLog, lifetime: 120)
    }

    /// The status and content type of `GET url`, or nil while nothing answers.
    func head(_ url: URL) async -> (status: Int, type: String)? {
        var request = URLRequest(url: url)
        request.timeoutInterval = 5
        guard let (_, response) = try? await URLSession.shared.data(for: request),
            let response = response as? HTTPURLResponse
        else { return nil }
        return (response.statusCode, response.value(forHTTPHeaderField: "Content-Type") ?? "")
    }

    /// The page at `/`, loaded in headless Chromium against a live server: it shows the model
    /// card, the user's history, recommendations with their reasons and similar items, each by
    /// title, and finds items by part of their title.
    @Test func thePageShowsHistoryRecommendationsReasonsAndTheModelInChromium() async throws {
        let binary = LiveServerTests.executable
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "build reckit first: \(binary.path)")
        let port = try freeLoopbackPort()
        let server = try await startServer(port: port, apiKey: "secret")
        defer { server.stop() }
        let root = try #require(URL(string: "http://127.0.0.1:\(port)/"))
        var answer: (status: Int, type: String)?
        for _ in 0..<300 where answer == nil && server.isRunning {
            answer = await head(root)
            if answer == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        let served = try #require(answer, "the server never answered: \(server.errorTail())")
        #expect(served.status == 200)
        #expect(served.type.hasPrefix("text/html"))

        let page = try #require(URL(string: "http://127.0.0.1:\(port)/?user=u0-0&key=secret"))
        let shot = artifactsDirectory().appendingPathComponent("server-page.png")
        let rendered = try await Chromium.render(page, screenshot: shot, waitMilliseconds: 2000)
        let dom = rendered.dom
        #expect(dom.contains("data-ready=\"1\""), "\(dom.suffix(600))")
        #expect(dom.contains("itemknn · 24 users · 24 items"))
        // The top recommendation is the block's withheld item, with history items as reasons.
        #expect(dom.contains("data-item=\"i0-0\""))
        #expect(dom.contains("because of Film i0-"))
        // History and similar items by title, not bare id.
        #expect(dom.contains("Film i0-1 (like)"), "\(dom.suffix(1500))")
        #expect(!dom.contains(">i0-1 (like)"))
        let similar = try #require(dom.range(of: "id=\"similar\"")).upperBound
        #expect(dom[similar...].contains("<li>Film i0-"))
        #expect(!dom.contains("class=\"error\">4"))
        #expect(rendered.screenshotBytes > 10_000)

        // Typing part of a title (the page's find box, filled from `find=`) lists the matches
        // as links that open the item.
        let find = try #require(URL(string: "http://127.0.0.1:\(port)/?find=film%20I2-3&key=secret"))
        let found = try await Chromium.render(
            find, screenshot: artifactsDirectory().appendingPathComponent("server-find.png"), waitMilliseconds: 2000
        )
        .dom
        #expect(found.contains("href=\"?item=i2-3&amp;key=secret\""), "\(found.suffix(1500))")
        #expect(found.contains(">Film i2-3</a>"))
        #expect(!found.contains(">Film i2-2</a>"))
    }

    /// A Chromium that does not exit by its deadline is killed, with its whole process group,
    /// and reported: a page whose fetch never gets an answer keeps virtual time standing still.
    @Test func aChromiumRunPastItsDeadlineIsKilledWithItsChildren() async throws {
        // A socket that accepts connections and never answers: the page's fetch stays pending.
        let (listener, port) = try silentListener()
        defer { close(listener) }
        let page = temporaryDirectory("hang").appendingPathComponent("hang.html")
        try Data(#"<script>fetch("http://127.0.0.1:\#(port)/")</script>"#.utf8).write(to: page)
        let started = Date()
        let error = await #expect(throws: ChildProcess.DeadlinePassed.self) {
            try await Chromium.render(
                page, screenshot: temporaryDirectory("hang").appendingPathComponent("hang.png"),
                waitMilliseconds: 2000, seconds: 5)
        }
        #expect(Date().timeIntervalSince(started) < 15)
        let group = try #require(error).pid
        #expect(ChildProcess.livingMembers(ofGroup: group).isEmpty)
        #expect(String(describing: try #require(error)).contains("did not exit within 5.0 s and was killed"))
    }

    /// A loopback socket that takes connections (the kernel completes them) and never reads.
    func silentListener() throws -> (handle: Int32, port: Int) {
        #if canImport(Glibc)
            let handle = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let handle = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                bind(handle, address, length) == 0 && listen(handle, 16) == 0
                    && getsockname(handle, address, &length) == 0
            }
        }
        guard handle >= 0, listening else {
            close(handle)
            throw ListenFailed()
        }
        return (handle, Int(UInt16(bigEndian: address.sin_port)))
    }

    struct ListenFailed: Error, CustomStringConvertible {
        var description: String { "could not listen on a loopback port" }
    }
}

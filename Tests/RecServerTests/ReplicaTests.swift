import Foundation
import RecData
import RecModels
import RecStore
import Testing
import _RecStoreTestSupport
import _RecTestSupport

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Two real `reckit serve` processes over one PostgreSQL database, on loopback ports: a write
/// through one is seen by the other, a published model reaches both without a failed request,
/// and both come back by themselves after PostgreSQL restarts. The cluster is the test's own
/// (`scripts/postgres.sh`), so stopping it disturbs no other test.
struct ReplicaTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Runs `scripts/postgres.sh` with `arguments`, killed after 120 s. (Its output goes to a
    /// file, not through a pipe: the server it starts would inherit the pipe and hold it open.)
    static func cluster(_ arguments: String...) throws {
        let script = repository.appendingPathComponent("scripts/postgres.sh").path
        _ = try ChildProcess.run(URL(fileURLWithPath: "/bin/bash"), [script] + arguments, seconds: 120)
    }

    func get(_ port: Int, _ path: String) async -> (status: Int, body: Data)? {
        guard let url = URL(string: "http://127.0.0.1:\(port)\(path)") else { return nil }
        var request = URLRequest(url: url)
        // Longer than the store's own limit (5 s), after which a request fails with 503.
        request.timeoutInterval = 15
        guard let (data, response) = try? await URLSession.shared.data(for: request),
            let status = (response as? HTTPURLResponse)?.statusCode
        else { return nil }
        return (status, data)
    }

    func post(_ port: Int, _ path: String, _ body: String) async -> Int? {
        guard let url = URL(string: "http://127.0.0.1:\(port)\(path)") else { return nil }
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.httpBody = Data(body.utf8)
        request.timeoutInterval = 5
        guard let (_, response) = try? await URLSession.shared.data(for: request) else { return nil }
        return (response as? HTTPURLResponse)?.statusCode
    }

    /// Polls `condition` every 100 ms for up to `seconds`.
    func eventually(_ seconds: Double, _ condition: () async -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    func recommended(_ port: Int, _ user: String) async -> [String]? {
        guard let (status, body) = await get(port, "/api/recommend/\(user)?n=20"), status == 200 else { return nil }
        return try? JSONDecoder().decode([String].self, from: body)
    }

    func publishedVersion(_ port: Int) async -> String? {
        guard let (status, body) = await get(port, "/api/model"), status == 200,
            let card = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
            let published = card["Published"] as? [String: Any]
        else { return nil }
        return published["Version"] as? String
    }

    func train(_ kind: ModelKind, _ log: InteractionLog, to directory: URL) throws {
        let bundle = try ModelBundle.train(kind, dataset: Dataset(name: "board", interactions: log)) {
            TrainingRecord(
                dataset: "board", interactions: log.count, users: log.userCount, items: log.itemCount, seconds: $0)
        }
        try bundle.save(to: directory)
    }

    /// Starts `reckit serve` on `port` over `url`, checking for published models every `poll`
    /// seconds; its log goes to `serve-<port>.log` in `folder`. The caller kills it; so does a
    /// watchdog after 300 s, should the test never get to it.
    func startReplica(_ url: String, models: URL, port: Int, poll: String = "0.2", logs folder: URL) throws -> Process {
        // The server's log, for a failure's investigation.
        let log = folder.appendingPathComponent("serve-\(port).log")
        let arguments = [
            "serve", "--db", url, "--models-dir", models.path, "--published-poll", poll, "--port", String(port),
        ]
        return try ChildProcess(LiveServerTests.executable, arguments, output: log, errors: log, lifetime: 300).process
    }

    /// Waits up to 60 s for the replica on `port` to be ready, and requires it still running.
    func requireReady(_ port: Int, _ server: Process, logs folder: URL) async throws {
        let ready = await eventually(60) { await get(port, "/api/health/ready")?.status == 200 }
        try #require(ready, "replica on \(port) never became ready (log in \(folder.path))")
        try #require(server.isRunning, "replica on \(port) exited (log in \(folder.path))")
    }

    /// Runs `reckit trainer` with `arguments` to its end (killed after 120 s) and returns the
    /// last line it printed; its output is kept in `trainer.log` in `folder`.
    func runTrainer(_ arguments: [String], logs folder: URL) async throws -> String {
        let trainer = Process()
        trainer.executableURL = LiveServerTests.executable
        trainer.arguments = ["trainer"] + arguments
        let log = folder.appendingPathComponent("trainer.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        trainer.standardOutput = handle
        trainer.standardError = handle
        try trainer.run()
        let finished = await eventually(120) { !trainer.isRunning }
        if !finished { kill(trainer.processIdentifier, SIGKILL) }
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        try #require(finished && trainer.terminationStatus == 0, "trainer: \(output)")
        return output.split(separator: "\n").last.map(String.init) ?? ""
    }

    @Test func twoReplicasShareOneDatabaseFollowPublishedModelsAndSurviveARestart() async throws {
        let binary = LiveServerTests.executable
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "build reckit first: \(binary.path)")
        let folder = temporaryDirectory("replicas")
        let clusterFolder = folder.appendingPathComponent("cluster").path
        try Self.cluster("start", clusterFolder)
        defer { try? Self.cluster("stop", clusterFolder) }
        let url = try String(contentsOfFile: clusterFolder + "/url", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)

        let (log, _) = Fixtures.checkerboard()
        let models = folder.appendingPathComponent("models", isDirectory: true)
        try train(.itemKNN, log, to: models.appendingPathComponent("first"))
        let store = try await PostgresEventStore(url: url + "?timeout=120")
        try await StoreImport.load(Dataset(name: "board", interactions: log), into: store, feedbackType: "like")
        #expect(try await store.publishModel(name: "first", kind: "itemknn", report: "") == 1)

        let ports = [try freeLoopbackPort(), try freeLoopbackPort()]
        var servers: [Process] = []
        defer { for server in servers where server.isRunning { kill(server.processIdentifier, SIGKILL) } }
        for port in ports { servers.append(try startReplica(url, models: models, port: port, logs: folder)) }
        for (port, server) in zip(ports, servers) {
            try await requireReady(port, server, logs: folder)
            // Each starts on the published model.
            #expect(await publishedVersion(port) == "1")
        }

        // A write through one replica changes the next answer of the other.
        let user = log.userIDs[log.users[0]]
        let before = try #require(await recommended(ports[1], user))
        let top = try #require(before.first)
        #expect(
            await post(ports[0], "/api/feedback", #"[{"FeedbackType":"like","UserId":"\#(user)","ItemId":"\#(top)"}]"#)
                == 200)
        let after = try #require(await recommended(ports[1], user))
        #expect(!after.contains(top))
        #expect(await post(ports[0], "/api/user", #"{"UserId":"made-on-a","Comment":"hi"}"#) == 200)
        #expect(await get(ports[1], "/api/user/made-on-a")?.status == 200)

        // A newly published model reaches both replicas while they serve, with no failed request.
        try train(.als, log, to: models.appendingPathComponent("second"))
        #expect(try await store.publishModel(name: "second", kind: "als", report: "") == 2)
        var failures = 0
        var requests = 0
        let swapped = await eventually(30) {
            for port in ports {
                requests += 1
                if await recommended(port, user) == nil { failures += 1 }
            }
            var versions: [String?] = []
            for port in ports { versions.append(await publishedVersion(port)) }
            return versions == ["2", "2"]
        }
        #expect(swapped)
        #expect(failures == 0, "\(failures) of \(requests) requests failed during the swap")
        await store.close()

        // PostgreSQL goes away: the replicas say they are not ready, then recover by themselves.
        try Self.cluster("pause", clusterFolder)
        for port in ports {
            let down = await eventually(15) { await get(port, "/api/health/ready")?.status == 503 }
            #expect(down, "replica on \(port) still ready with the database stopped")
        }
        let answer = await get(ports[0], "/api/recommend/\(user)")
        #expect(
            answer?.status == 503,
            "\(answer.map { "\($0.status) \(String(decoding: $0.body, as: UTF8.self))" } ?? "no answer within 15 s")")
        try Self.cluster("resume", clusterFolder)
        for port in ports {
            let back = await eventually(30) { await get(port, "/api/health/ready")?.status == 200 }
            #expect(back, "replica on \(port) did not reconnect")
            #expect(await recommended(port, user) != nil)
        }
        #expect(
            await post(ports[1], "/api/feedback", #"[{"FeedbackType":"like","UserId":"\#(user)","ItemId":"late"}]"#)
                == 200)
    }

    /// `reckit trainer --keep 2` beside two replicas on the test server's PostgreSQL: one follows
    /// every published version, the other (checking once an hour) still serves version 1. The
    /// trainer keeps the newest two versions and version 1, which that replica reports serving,
    /// and deletes the rows and directories of the versions in between; both replicas answer on.
    @Test func theTrainerNeverDeletesAVersionThatAReplicaServes() async throws {
        let binary = LiveServerTests.executable
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "build reckit first: \(binary.path)")
        let folder = temporaryDirectory("replicas-keep")
        let (log, _) = Fixtures.checkerboard()
        let models = folder.appendingPathComponent("models", isDirectory: true)
        let (store, url) = try await StoreBackend.postgres.makeStore()
        try await StoreImport.load(Dataset(name: "board", interactions: log), into: store, feedbackType: "like")
        try train(.itemKNN, log, to: models.appendingPathComponent("v1"))
        #expect(try await store.publishModel(name: "v1", kind: "itemknn", report: "") == 1)

        let ports = [try freeLoopbackPort(), try freeLoopbackPort()]
        var servers: [Process] = []
        defer { for server in servers where server.isRunning { kill(server.processIdentifier, SIGKILL) } }
        servers.append(try startReplica(url, models: models, port: ports[0], logs: folder))
        servers.append(try startReplica(url, models: models, port: ports[1], poll: "3600", logs: folder))
        for (port, server) in zip(ports, servers) { try await requireReady(port, server, logs: folder) }
        let reported = await eventually(30) { (try? await store.servedModels(reportedWithin: 60).count) == 2 }
        #expect(reported, "each replica reports the version it serves")
        for version in 2...5 {
            try train(.itemKNN, log, to: models.appendingPathComponent("v\(version)"))
            #expect(try await store.publishModel(name: "v\(version)", kind: "itemknn", report: "") == version)
        }
        #expect(await eventually(30) { await publishedVersion(ports[0]) == "5" })
        #expect(await publishedVersion(ports[1]) == "1")
        // The replicas report every 10 s: until the first one's row says 5, the trainer would
        // rightly keep the older version it reported last (a slow machine showed that race).
        let caughtUp = await eventually(60) {
            Set((try? await store.servedModels(reportedWithin: 60).map(\.version)) ?? []) == [1, 5]
        }
        #expect(caughtUp, "the replicas report versions 5 and 1")

        let line = try await runTrainer(
            ["--db", url, "--models-dir", models.path, "--model", "pop", "--keep", "2", "--once"], logs: folder)
        let decision = try #require(
            try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
        // Refused, the newest two are 5 and 4; published, 6 and 5 (and 4 goes too).
        let newest = decision["decision"] as? String == "published" ? [6, 5] : [5, 4]
        #expect(try await store.publishedModels().map(\.version) == newest + [1], "\(line)")
        #expect((decision["deleted"] as? [Int])?.starts(with: [2, 3]) == true, "\(line)")
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: models.path))
        #expect(left.isSuperset(of: ["v1", "v5"]) && left.isDisjoint(with: ["v2", "v3"]), "\(left)")
        let user = log.userIDs[log.users[0]]
        for port in ports { #expect(await recommended(port, user) != nil) }
        #expect(await publishedVersion(ports[1]) == "1")
        await store.close()
    }
}

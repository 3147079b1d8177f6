import Foundation
import RecData
import RecModels
import RecStore
import Testing
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

    /// Runs `scripts/postgres.sh` with `arguments`. (Not through a pipe: the server it starts
    /// would inherit the pipe and hold it open.)
    static func cluster(_ arguments: String...) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [repository.appendingPathComponent("scripts/postgres.sh").path] + arguments
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ClusterFailure(arguments: arguments, status: process.terminationStatus)
        }
    }

    struct ClusterFailure: Error {
        var arguments: [String]
        var status: Int32
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
        for port in ports {
            let server = Process()
            server.executableURL = binary
            server.arguments = [
                "serve", "--db", url, "--models-dir", models.path, "--published-poll", "0.2", "--port", String(port),
            ]
            // The server's log, for a failure's investigation.
            let log = folder.appendingPathComponent("serve-\(port).log")
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            let handle = try FileHandle(forWritingTo: log)
            server.standardOutput = handle
            server.standardError = handle
            try server.run()
            servers.append(server)
        }
        for (port, server) in zip(ports, servers) {
            let ready = await eventually(60) { await get(port, "/api/health/ready")?.status == 200 }
            try #require(ready, "replica on \(port) never became ready (log in \(folder.path))")
            try #require(server.isRunning, "replica on \(port) exited (log in \(folder.path))")
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
        #expect(await get(ports[0], "/api/recommend/\(user)")?.status == 503)
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
}

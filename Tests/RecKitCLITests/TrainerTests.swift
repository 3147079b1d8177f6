import ArgumentParser
import Foundation
import RecData
import RecModels
import RecStore
import RecTrainer
import Testing
import _RecStoreTestSupport
import _RecTestSupport

@testable import RecKitCLI

/// `reckit trainer`: the quality gate publishes a better model and refuses a worse one, and a
/// user deleted from the store is absent from every model trained afterwards.
struct TrainerTests {
    @Test(arguments: StoreBackend.allCases)
    func theGatePublishesABetterModelAndRefusesAWorseOne(backend: StoreBackend) async throws {
        let folder = temporaryDirectory("trainer")
        // Topics that users stay in: item-kNN finds them, popularity and random cannot.
        try SyntheticLog(users: 150, items: 80, events: 4_000, seed: 3).write(to: folder, name: "log")
        var dataset = try DatasetCatalog.load(folder.path)
        // Users active at the same time, as in a live shop: each user's k-th event at hour k, so
        // the newest events are the latest few of every user's.
        var times = [Double](repeating: 0, count: dataset.interactions.count)
        for (user, events) in dataset.interactions.chronologicalEventsByUser().enumerated() {
            for (k, event) in events.enumerated() { times[event] = 1_600_000_000 + Double(k) * 3_600 + Double(user) }
        }
        dataset.interactions.timestamps = times
        let (store, location) = try await backend.makeStore()
        try await StoreImport.load(dataset, into: store, feedbackType: "view")
        let models = folder.appendingPathComponent("models").path

        func round(_ kind: String) async throws {
            let command = try RecKitCommand.parseAsRoot([
                "trainer", "--db", location, "--models-dir", models, "--model", kind, "--once",
            ])
            try await CLITests.run(command)
        }
        // Nothing served yet: the first candidate is published.
        try await round("pop")
        #expect(try await store.latestPublishedModel()?.version == 1)
        // A user deleted now is in no later model.
        let gone = dataset.interactions.userIDs[dataset.interactions.users[0]]
        #expect(try await store.deleteUser(gone) == 1)
        try await round("itemknn")
        let second = try #require(try await store.latestPublishedModel())
        #expect(second.version == 2 && second.kind == "itemknn")
        let report = try #require(
            try JSONSerialization.jsonObject(with: Data(second.report.utf8)) as? [String: Any])
        let candidate = try #require(report["candidate"] as? [String: Double])
        let serving = try #require(report["serving"] as? [String: Double])
        let (better, worse) = (try #require(candidate["ndcg@10"]), try #require(serving["ndcg@10"]))
        #expect(better > worse)
        let published = try ModelBundle.load(
            from: URL(fileURLWithPath: models).appendingPathComponent(second.name, isDirectory: true))
        #expect(published.userIDs.index(of: gone) == nil)
        #expect(published.userIDs.count == dataset.interactions.userCount - 1)
        // A planted worse candidate (random scores) is refused: the served version stays.
        try await round("random")
        #expect(try await store.latestPublishedModel()?.version == 2)
        await store.close()
    }

    /// `train --db` trains content models from the items' titles and categories in the store:
    /// popularity inside genres needs them.
    @Test(arguments: StoreBackend.allCases)
    func trainingFromTheStoreSeesTheItemsCategories(backend: StoreBackend) async throws {
        let folder = temporaryDirectory("train-db")
        try SyntheticLog(users: 40, items: 30, events: 600, seed: 4).write(to: folder, name: "log")
        let dataset = try DatasetCatalog.load(folder.path)
        let (store, location) = try await backend.makeStore()
        try await StoreImport.load(dataset, into: store, feedbackType: "view")
        let out = folder.appendingPathComponent("genrepop")
        try await CLITests.run(
            try RecKitCommand.parseAsRoot(["train", "--db", location, "--model", "genrepop", "--out", out.path]))
        let bundle = try ModelBundle.load(from: out)
        #expect(bundle.itemIDs.count == dataset.interactions.itemCount)
        await store.close()
    }

    /// `trainer --read-db`: a round reads the events from a streaming read replica and publishes
    /// to the primary. With the replica's replay paused, an event written to the primary since is
    /// absent from the model; the replica itself refuses the publication.
    @Test func theTrainerReadsFromAReadReplicaAndPublishesToThePrimary() async throws {
        let folder = temporaryDirectory("trainer-replica")
        try SyntheticLog(users: 40, items: 30, events: 600, seed: 6).write(to: folder, name: "log")
        let dataset = try DatasetCatalog.load(folder.path)
        let (store, location) = try await StoreBackend.postgres.makeStore()
        try await StoreImport.load(dataset, into: store, feedbackType: "view")
        let unmigrated = try await StoreBackend.postgres.newLocation()
        let standby = try PostgresStandby.start()
        defer { standby.stop() }
        // A replica cannot migrate: a database its primary never opened is refused, by name.
        let unready = await #expect(throws: StoreError.self) { try await EventStores.open(standby.url(of: unmigrated)) }
        #expect(unready.map { "\($0)" }?.contains("migrations") == true)
        let replicaLocation = standby.url(of: location)
        let replica = try await EventStores.open(replicaLocation)
        let expected = try await store.counts()
        for _ in 0..<300 where try await replica.counts() != expected { try await Task.sleep(for: .milliseconds(100)) }
        #expect(try await replica.counts() == expected, "the replica caught up")
        try await StoreBackend.execute("SELECT pg_wal_replay_pause()", on: replicaLocation)
        try await store.insertFeedback(
            [StoredFeedback(feedbackType: "view", userID: "late", itemID: dataset.interactions.itemIDs[Int32(0)])],
            overwrite: false)

        let models = folder.appendingPathComponent("models").path
        try await CLITests.run(
            try RecKitCommand.parseAsRoot([
                "trainer", "--db", location, "--read-db", replicaLocation, "--models-dir", models, "--model", "pop",
                "--once",
            ]))
        let published = try #require(try await store.latestPublishedModel())
        let bundle = try ModelBundle.load(
            from: URL(fileURLWithPath: models).appendingPathComponent(published.name, isDirectory: true))
        #expect(bundle.userIDs.index(of: "late") == nil, "read from the paused replica")
        #expect(bundle.userIDs.count == dataset.interactions.userCount)
        let onReplica = try #require(
            try RecKitCommand.parseAsRoot([
                "trainer", "--db", replicaLocation, "--models-dir", models, "--model", "pop", "--once",
            ]) as? TrainerCommand)
        let refusal = await #expect(throws: StoreError.self, "a replica takes no writes") {
            try await Trainer(options: try onReplica.options).round(
                store: replica, source: replica, served: nil, after: nil)
        }
        #expect(refusal.map { "\($0)" }?.contains("read-only") == true, "\(String(describing: refusal))")
        try await StoreBackend.execute("SELECT pg_wal_replay_resume()", on: replicaLocation)
        await replica.close()
        await store.close()
    }

    /// An unchanged store skips the round: no candidate, no new version, no new directory. Each
    /// kind of write (a new event, the newest event replaced, an event deleted, an item renamed)
    /// makes the next round train, and the one after it skip again.
    @Test(arguments: StoreBackend.allCases)
    func anUnchangedStoreIsSkippedAndEveryWriteTrainsAgain(backend: StoreBackend) async throws {
        let folder = temporaryDirectory("trainer-skip")
        try SyntheticLog(users: 40, items: 30, events: 600, seed: 5).write(to: folder, name: "log")
        let dataset = try DatasetCatalog.load(folder.path)
        let (store, _) = try await backend.makeStore()
        try await StoreImport.load(dataset, into: store, feedbackType: "view")
        let models = folder.appendingPathComponent("models", isDirectory: true)
        // Tolerance 1 publishes every candidate: only the skip stops a round from publishing.
        var loop = TrainerLoop(
            trainer: Trainer(options: TrainerOptions(kind: .popularity, modelsDirectory: models, tolerance: 1)))
        #expect(try await loop.next(store: store, source: store).decision == .published)
        let skipped = try await loop.next(store: store, source: store)
        #expect(skipped.decision == .skipped && skipped.reason?.contains("not changed") == true, "\(skipped)")
        #expect(try skipped.jsonLine().contains(#""decision":"skipped""#))
        #expect(try await store.latestPublishedModel()?.version == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: models.path).count == 1)

        let item = dataset.interactions.itemIDs[Int32(0)]
        let time = StoreTimestamp.text(unixSeconds: 2_000_000_000)
        let new = StoredFeedback(feedbackType: "view", userID: "new", itemID: item, timestamp: time)
        let replaced = StoredFeedback(feedbackType: "view", userID: "new", itemID: item, value: 2, timestamp: time)
        let writes: [(String, @Sendable () async throws -> Void)] = [
            ("a new event", { try await store.insertFeedback([new], overwrite: false) }),
            ("the newest event replaced", { try await store.insertFeedback([replaced], overwrite: true) }),
            ("an event deleted", { _ = try await store.deleteFeedback(user: "new", item: item) }),
            (
                "an item renamed",
                {
                    _ = try await store.patchItem(
                        item, isHidden: nil, categories: nil, timestamp: nil, labels: nil, comment: "renamed")
                }
            ),
        ]
        for (version, (write, apply)) in zip(2..., writes) {
            try await apply()
            let decision = try await loop.next(store: store, source: store)
            #expect(decision.decision == .published && decision.version == version, "after \(write): \(decision)")
            #expect(try await loop.next(store: store, source: store).decision == .skipped, "again after \(write)")
        }
        await store.close()
    }

    /// `--keep N`: the newest N published versions stay, and so does an older one that a server
    /// reported serving within the staleness limit; the other old versions lose their row and
    /// their directory, and folders that no row names are left alone.
    @Test(arguments: StoreBackend.allCases)
    func oldVersionsAreDeletedUnlessNewestOrServed(backend: StoreBackend) async throws {
        let folder = temporaryDirectory("trainer-keep")
        try SyntheticLog(users: 30, items: 20, events: 300, seed: 7).write(to: folder, name: "log")
        let dataset = try DatasetCatalog.load(folder.path)
        let log = dataset.interactions
        let bundle = try ModelBundle.train(.popularity, dataset: dataset) {
            TrainingRecord(
                dataset: "log", interactions: log.count, users: log.userCount, items: log.itemCount, seconds: $0)
        }
        let (store, location) = try await backend.makeStore()
        try await StoreImport.load(dataset, into: store, feedbackType: "view")
        let models = folder.appendingPathComponent("models", isDirectory: true)
        for version in 1...6 {
            try bundle.save(to: models.appendingPathComponent("v\(version)"))
            #expect(try await store.publishModel(name: "v\(version)", kind: "pop", report: "") == version)
        }
        let scratch = models.appendingPathComponent("scratch")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        func left() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: models.path).sorted() }
        // A server that stopped reporting (version 3), and one that serves version 2 now.
        try await store.reportServedModel(replica: "gone", version: 3)
        try await Task.sleep(for: .seconds(1.5))
        try await store.reportServedModel(replica: "lagging", version: 2)
        #expect(try await store.servedModels(reportedWithin: 1).map(\.version) == [2])

        let outcome = try await ModelRetention(keep: 2, modelsDirectory: models, staleAfter: 1).prune(store)
        #expect(outcome.deleted == [1, 3, 4] && outcome.errors.isEmpty, "\(outcome)")
        #expect(try await store.publishedModels().map(\.version) == [6, 5, 2])
        #expect(try left() == ["scratch", "v2", "v5", "v6"])

        // The command: `--keep 1` after publishing 7 keeps 7 and the served 2 (reported within
        // the default limit of 5 minutes).
        try await CLITests.run(
            try RecKitCommand.parseAsRoot([
                "trainer", "--db", location, "--models-dir", models.path, "--model", "pop", "--tolerance", "1",
                "--keep", "1", "--once",
            ]))
        let newest = try #require(try await store.latestPublishedModel())
        #expect(try await store.publishedModels().map(\.version) == [7, 2])
        #expect(try left() == [newest.name, "scratch", "v2"].sorted())
        #expect(throws: (any Error).self) {
            try RecKitCommand.parseAsRoot(["trainer", "--db", location, "--models-dir", models.path, "--keep", "0"])
        }
        await store.close()
    }
}

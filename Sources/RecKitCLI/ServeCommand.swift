import ArgumentParser
import Foundation
import Logging
import RecData
import RecFlow
import RecModels
import RecRetrieval
import RecServer
import RecStore
import Tensors

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Serve recommendations over HTTP (Gorse's REST API plus explanations).")

    @Option(name: .long, help: "Model directory to serve (optional: without one, popular items are served).")
    var model: String?
    @Option(
        name: .customLong("models-dir"),
        help: ArgumentHelp(
            "Folder whose model directories POST /api/model/reload may load, by name. (default: the folder holding --model; without either, reloads are refused)",
            valueName: "dir"))
    var modelsDirectory: String?
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Event store: a SQLite file (created if missing) or a postgres:// URL that several servers may share. (default: the configuration's data_store)",
            valueName: "path-or-url"))
    var db: String?
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Serve the recommendation flow of this TOML file (sources, ranker, rules; see `reckit config check`) instead of one model.",
            valueName: "file"))
    var config: String?
    @Option(name: .long, help: "Address to listen on.")
    var host: String?
    @Option(name: .long, help: "Port to listen on.")
    var port: Int?
    @Option(name: .long, help: "Require this X-API-Key on every route but the health probes. (default: no key)")
    var apiKey: String?
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Require this X-Admin-Key (or ?key= on the page load) for /dashboard and the routes only it reads. (default: the dashboard is off)",
            valueName: "key"))
    var adminKey: String?
    @Option(name: .long, help: "Feedback types that count as positive, comma-separated. (default: all)")
    var positiveTypes: String = ""
    @Flag(name: .long, help: "Log every request (method, path, status, ms) as structured metadata.")
    var logRequests = false
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Seconds between checks for a model published in the store (`train --publish`), loaded from the models folder; 0 turns it off.",
            valueName: "seconds"))
    var publishedPoll: Double = 2
    @Option(
        name: .customLong("popular-ttl"),
        help: ArgumentHelp(
            "Seconds one read of the popular items (the answer for a user the model cannot rank, and /api/popular) is served before the store is read again; 0 reads it for every request.",
            valueName: "seconds"))
    var popularTTL: Double = 5
    @Flag(
        name: .long,
        help:
            "Let items the user has seen come back, their scores multiplied by a decay (Gorse's enable_replacement): buy it again."
    )
    var replacement = false
    @Option(name: .long, help: "With --replacement, the factor for an item the user gave positive feedback.")
    var positiveReplacementDecay: Float = 0.8
    @Option(name: .long, help: "With --replacement, the factor for an item the user only touched otherwise (read).")
    var readReplacementDecay: Float = 0.6
    @OptionGroup var retrieval: RetrievalOptionGroup

    func validate() throws {
        if let port, !(1...65535).contains(port) { throw ValidationError("--port must be in 1...65535") }
        if config == nil && db == nil { throw ValidationError("serve needs --db (or --config with a data_store)") }
        if config != nil && model != nil {
            throw ValidationError("--model and --config disagree: a flow names its models as sources; give one of them")
        }
        guard publishedPoll >= 0, publishedPoll.isFinite else { throw ValidationError("--published-poll must be >= 0") }
        guard popularTTL >= 0, popularTTL.isFinite else { throw ValidationError("--popular-ttl must be >= 0") }
        if let apiKey, apiKey.isEmpty { throw ValidationError("--api-key must not be empty") }
        if let adminKey, adminKey.isEmpty { throw ValidationError("--admin-key must not be empty") }
        for (name, value) in [("positive", positiveReplacementDecay), ("read", readReplacementDecay)]
        where !(value >= 0 && value <= 1) {
            throw ValidationError("--\(name)-replacement-decay must be in 0...1")
        }
    }

    func run() async throws {
        let logger = Logger(label: "reckit.serve")
        // Requests run concurrently, one per core; OpenBLAS's own threads would spin (sched_yield)
        // against them. With 2 threads, 8 connections and SASRec on ml-1m, 310 requests/s.
        BLAS.setThreadCount(1)
        let modelsFolder = (modelsDirectory ?? model.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path })
            .map { URL(fileURLWithPath: $0, isDirectory: true) }
        let settings: Settings
        let store: any EventStore
        let registry: ModelRegistry
        var flow: FlowHolder?
        do {
            settings = try self.settings()
            store = try await EventStores.open(settings.db)
            let directory = model.map { URL(fileURLWithPath: $0, isDirectory: true) }
            registry = try ModelRegistry(
                bundle: try directory.map { try ModelBundle.load(from: $0) }, modelsDirectory: modelsFolder,
                directory: directory, retrieval: try retrieval.options, log: { logger.info("\($0)") })
            if let config {
                flow = try FlowHolder(
                    file: config, store: store, retrieval: try retrieval.options, log: { logger.info("\($0)") })
            }
        } catch {
            printError("error: \(error)")
            throw ExitCode.failure
        }
        var published = false
        if modelsFolder != nil && publishedPoll > 0 {
            // A replica starts on the published model, then follows each new one.
            published = await registry.updateToPublished(from: store)
            Task { await registry.follow(store, every: .milliseconds(Int(publishedPoll * 1000))) }
            // The version it serves, so that the trainer never deletes it (`trainer --keep`).
            Task {
                await registry.reportServed(to: store, as: ServedModelReports.replicaName(port: settings.port)) {
                    logger.warning("\($0)")
                }
            }
        }
        if let flow {
            Self.reloadOnHangup(flow, logger: logger)
            // Replicas serve the newest configuration published in the store (`config publish`).
            if publishedPoll > 0 {
                await flow.updateToPublished(from: store)
                Task { await flow.follow(store, every: .milliseconds(Int(publishedPoll * 1000))) }
            }
        }
        var configuration = ServerConfiguration()
        configuration.host = settings.host
        configuration.port = settings.port
        configuration.apiKey = settings.apiKey
        configuration.adminKey = settings.adminKey
        configuration.logRequests = logRequests
        let service = RecommendationService(
            store: store, registry: registry, positiveTypes: settings.positiveTypes,
            expectsModel: model != nil || published || flow != nil, popularTTL: .milliseconds(Int(popularTTL * 1000)),
            replacement: settings.replacement, flow: flow)
        let app = RecKitServer.makeApplication(service: service, configuration: configuration, logger: logger)
        try await app.runService()
        // After a graceful shutdown (SIGTERM, SIGINT): the impressions still queued are written.
        await flow?.impressions.close()
    }
}

struct DatabaseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db", abstract: "Manage the server's event store.", subcommands: [Import.self])

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load a data set's users, items (genres as categories) and interactions into the store.")

        @Argument(help: "Data set: ml-100k, ml-1m, or a path.")
        var data: String
        @Option(
            name: .long,
            help: ArgumentHelp(
                "Event store to write: a SQLite file (created if missing) or a postgres:// URL.",
                valueName: "path-or-url"))
        var db: String
        @Option(name: .long, help: "Feedback type of the imported interactions.")
        var feedbackType: String = "rating"

        func run() async throws {
            let progress = ProgressBar()
            try await runReporting {
                // The whole command is timed, reading the log included: that is what a user waits for.
                let start = Date()
                let dataset = try DatasetCatalog.load(data)
                let store = try await EventStores.open(db)
                let counts = try await StoreImport.load(dataset, into: store, feedbackType: feedbackType) {
                    progress.handler($0, $1, $2)
                }
                await store.close()
                let seconds = Date().timeIntervalSince(start)
                var size = ""
                if !EventStores.isPostgres(db) {
                    let bytes = (try? FileManager.default.attributesOfItem(atPath: db)[.size] as? Int) ?? 0
                    size = String(format: ", %.1f MiB", Double(bytes) / 1_048_576)
                }
                // A repeated (user, item) pair is one row: the rate counts the log's events.
                let events = dataset.interactions.count
                print(
                    String(
                        format:
                            "imported %d events as %d feedback rows, %d users and %d items in %.1f s (%.0f events/s)",
                        events, counts.feedback, counts.users, counts.items, seconds,
                        Double(events) / max(seconds, 1e-9))
                        + size)
            }
        }
    }
}

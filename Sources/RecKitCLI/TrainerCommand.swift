import ArgumentParser
import Foundation
import RecModels
import RecStore
import RecTrainer

/// `reckit trainer`: retrains from the store as events arrive and publishes a model only when
/// the quality gate accepts it.
struct TrainerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trainer",
        abstract: "Retrain from the event store as events arrive; publish a model only when it is not worse.",
        discussion: """
            Each round reads every feedback event the store holds (deleted users and items are gone \
            with their events), holds out the newest events by time, trains a candidate on the rest, \
            and ranks the held-out events with the candidate and with the model being served (the \
            store's latest published version, read from --models-dir). The candidate is saved under \
            --models-dir and published when its NDCG@10 is at least (1-tolerance) times the served \
            model's, or when none is served. Every decision is printed as one JSON line.
            """)

    @Option(
        name: .long,
        help: ArgumentHelp("The event store: a SQLite file or a postgres:// URL.", valueName: "path-or-url"))
    var db: String
    @Option(
        name: .customLong("read-db"),
        help: ArgumentHelp(
            "Read the events and items from this store instead of --db: a streaming read replica of it, so that each round's full read does not load the primary. Models are still published to --db.",
            valueName: "path-or-url"))
    var readDB: String?
    @OptionGroup var model: ModelOptions
    @Option(
        name: .customLong("models-dir"),
        help: ArgumentHelp("The servers' shared models folder: candidates are written here.", valueName: "dir"))
    var modelsDirectory: String
    @Option(
        name: .long,
        help: ArgumentHelp("Retrain at least this often: 90s, 10m, 1h or seconds.", valueName: "duration"))
    var every: String = "1h"
    @Option(name: .long, help: "Also retrain as soon as the store holds this many events more than at the last round.")
    var afterEvents: Int?
    @Option(name: .long, help: "Newest fraction of the events held out by time for the comparison.")
    var holdout: Double = 0.1
    @Option(name: .long, help: "Publish when the candidate's NDCG@10 is at least (1-tolerance) × the served model's.")
    var tolerance: Double = 0.01
    @Option(name: .long, help: "Feedback types to train on, comma-separated. (default: all)")
    var feedbackTypes: String = ""
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Continue from the served model's weights for N iterations (epochs) instead of training from scratch: als, bpr, hybrid, sasrec, gru4rec, lstm, caser; rows matched by identifier, new users and items get fresh rows.",
            valueName: "N"))
    var warmStart: Int?
    @Flag(name: .long, help: "Run one round and exit.")
    var once = false
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Keep the newest N published versions and delete older model directories that no server reported serving in the last 5 minutes. The default keeps the served version, the one before it to roll back to, and one for a server still loading or lagging.",
            valueName: "N"))
    var keep: Int = 3

    func validate() throws {
        guard (0.001...0.5).contains(holdout) else { throw ValidationError("--holdout must be in 0.001...0.5") }
        guard (0...1).contains(tolerance) else { throw ValidationError("--tolerance must be in 0...1") }
        if let afterEvents, afterEvents < 1 { throw ValidationError("--after-events must be at least 1") }
        if let warmStart, warmStart < 1 { throw ValidationError("--warm-start must be at least 1") }
        guard keep >= 1 else { throw ValidationError("--keep must be at least 1 (the served version)") }
        _ = try Self.seconds(every)
    }

    /// `90s`, `10m`, `1h` or a number of seconds.
    static func seconds(_ text: String) throws -> Double {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3_600]
        var number = Substring(text)
        var unit = 1.0
        if let last = text.last, let scale = units[last] {
            number = number.dropLast()
            unit = scale
        }
        guard let value = Double(number), value > 0, value.isFinite else {
            throw ValidationError("--every must be a positive duration such as 90s, 10m or 1h")
        }
        return value * unit
    }

    func run() async throws {
        try await runReporting {
            let store = try await EventStores.open(db)
            var source = store
            if let readDB { source = try await EventStores.open(readDB) }
            let interval = try Self.seconds(every)
            var loop = TrainerLoop(trainer: Trainer(options: try options))
            var lastEvents = -1
            var lastRound = Date.distantPast
            while true {
                // Counting rows scans the table: only when --after-events asks for it.
                let events = afterEvents == nil ? 0 : (try? await source.counts().feedback) ?? lastEvents
                let due =
                    lastEvents < 0 || Date().timeIntervalSince(lastRound) >= interval
                    || afterEvents.map { events - lastEvents >= $0 } ?? false
                if due {
                    lastRound = Date()
                    lastEvents = events
                    var decision: TrainerDecision
                    do {
                        decision = try await loop.next(store: store, source: source)
                    } catch  where !once {
                        // A failed round (the database away, a model that will not load) is
                        // logged, and the next one tried at the next period.
                        decision = TrainerDecision(decision: .failed)
                        decision.error = "\(error)"
                    }
                    // One line per write, so that a log collector reading a pipe sees it at once.
                    FileHandle.standardOutput.write(Data((try decision.jsonLine() + "\n").utf8))
                }
                if once { break }
                try await Task.sleep(for: .seconds(afterEvents == nil ? min(60, interval) : min(5, interval)))
            }
            if readDB != nil { await source.close() }
            await store.close()
        }
    }

    /// The library's options for these flags.
    var options: TrainerOptions {
        get throws {
            let folder = URL(fileURLWithPath: modelsDirectory, isDirectory: true)
            return TrainerOptions(
                kind: try model.kind, parameters: try model.parsedParameters, control: model.control,
                modelsDirectory: folder, holdout: holdout, tolerance: tolerance,
                feedbackTypes: feedbackTypes.split(separator: ",").map(String.init), warmStart: warmStart,
                retention: ModelRetention(keep: keep, modelsDirectory: folder))
        }
    }
}

import ArgumentParser
import Foundation
import RecData
import RecEval
import RecModels
import RecRetrieval
import RecStore

struct TrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Train a model on a data set and save it to a model directory.")

    @Option(
        name: .long, help: "Data set: ml-100k, ml-1m, or a path to a folder or CSV/TSV file (or --db instead).")
    var data: String?
    @OptionGroup var cleaning: CleaningOptions
    @OptionGroup var model: ModelOptions
    @Option(name: .long, help: "Model directory to write (model.json + weights.safetensors).")
    var out: String
    @Option(name: .long, help: "Train on this protocol's training part only. (default: every event)")
    var `protocol`: String?
    @Option(name: .long, help: "Seed of the split.")
    var seed: UInt64 = 2020
    @OptionGroup var retrieval: RetrievalOptionGroup
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Train on the feedback an event store holds (a SQLite file or a postgres:// URL) instead of --data.",
            valueName: "path-or-url"))
    var db: String?
    @Option(
        name: .customLong("read-db"),
        help: ArgumentHelp(
            "With --db: read the feedback and items from this store instead (a read replica of --db); --publish still writes to --db.",
            valueName: "path-or-url"))
    var readDB: String?
    @Option(name: .long, help: "With --db: feedback types to train on, comma-separated. (default: all)")
    var feedbackTypes: String = ""
    @Flag(
        name: .long,
        help:
            "With --db: record the model in the store as the one to serve; servers whose --models-dir holds --out load it."
    )
    var publish = false

    func validate() throws {
        if let p = `protocol` { _ = try parseProtocol(p) }
        if (data == nil) == (db == nil) { throw ValidationError("give one of --data and --db") }
        if publish && db == nil { throw ValidationError("--publish needs --db") }
        if readDB != nil && db == nil { throw ValidationError("--read-db needs --db") }
    }

    func run() async throws {
        let progress = ProgressBar()
        try await runReporting {
            var store: (any EventStore)?
            if let db { store = try await EventStores.open(db) }
            let dataset: Dataset
            if let store {
                let types = feedbackTypes.split(separator: ",").map(String.init)
                var source = store
                if let readDB { source = try await EventStores.open(readDB) }
                dataset = try cleaning.clean(try await Dataset.fromStore(source, types: types))
                if readDB != nil { await source.close() }
            } else if let data {
                dataset = try cleaning.clean(try DatasetCatalog.load(data, options: cleaning.loadOptions))
            } else {
                throw ValidationError("give one of --data and --db")
            }
            var events: [Int]?
            var protocolName: String?
            var validation: [ValidationCase] = []
            let kind = try model.kind
            if let p = `protocol` {
                let split = try DataSplit.make(try parseProtocol(p), log: dataset.interactions, seed: seed)
                events = split.train
                protocolName = p
                if kind.isNeural { validation = Evaluator.validationCases(for: split) }
            }
            let bundle = try ModelBundle.train(
                kind, parameters: try model.parsedParameters, dataset: dataset, events: events,
                validation: validation, control: model.control,
                record: { seconds in
                    TrainingRecord(
                        dataset: dataset.name, splitProtocol: protocolName, seed: protocolName == nil ? nil : seed,
                        preprocessing: cleaning.preprocessing,
                        interactions: events?.count ?? dataset.interactions.count,
                        users: dataset.interactions.userCount, items: dataset.interactions.itemCount, seconds: seconds)
                }, progress: progress.handler)
            let directory = URL(fileURLWithPath: out, isDirectory: true)
            try bundle.save(to: directory)
            // Serving loads the index from the model directory instead of building it.
            _ = try Retriever.prepare(
                bundle: bundle, options: try retrieval.options, directory: directory, log: { printError($0) },
                progress: { progress.handler("indexing items", $0, $1) })
            print(
                String(
                    format: "trained %@ on %d events in %.2f s → %@", kind.rawValue, bundle.record.interactions,
                    bundle.record.seconds, out))
            if let store, publish {
                let version = try await store.publishModel(
                    name: directory.standardizedFileURL.lastPathComponent, kind: kind.rawValue, report: "")
                print("published as version \(version)")
            }
            await store?.close()
        }
    }
}

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Fit a model on a protocol's training part and evaluate it with full ranking.")

    @OptionGroup var data: DataOptions
    @OptionGroup var model: ModelOptions
    @Option(name: .long, help: .evaluationProtocol)
    var `protocol`: String = "gen-rs"
    @OptionGroup var ctr: CTROptions
    @Option(name: .long, help: "Seed of the split.")
    var seed: UInt64 = 2020
    @Option(name: .long, help: "test or validation.")
    var phase: String = "test"
    @Option(name: .long, help: "Cut-offs, comma-separated.")
    var k: String = "10,20"
    @Option(name: .long, help: "History length cap of seq-loo. (default: 50 for ml-100k, 200 otherwise)")
    var maxHistory: Int?
    @Flag(name: .long, help: "seq-loo: leave the user's history items out of the ranking (Klenitskiy & Vasilev 2023).")
    var excludeHistory = false
    @Option(name: .long, help: "Rank against N sampled negatives instead of every item. (default: every item)")
    var sampledNegatives: Int?
    @Option(name: .long, help: "How negatives are drawn: uniform or popularity.")
    var sampling: String = "uniform"
    @Option(
        name: .long,
        help: "Evaluate a seeded sample of this many users, reported as such. (default: every user)")
    var evalUsers: Int?
    @Option(name: .long, help: "Write every user's top-K list to this TSV file (user, rank, item, score).")
    var exportLists: String?
    @Option(name: .long, help: "Also save the fitted model to this directory.")
    var saveModel: String?
    @Option(name: .long, help: "Repeat with seeds seed, seed+1, ... and report mean ± standard deviation.")
    var repeats: Int = 1
    @OptionGroup var retrieval: RetrievalOptionGroup
    @OptionGroup var rerank: RerankOptions
    @Flag(name: .long, help: "Print the result record as JSON.")
    var json = false

    func validate() throws {
        try rerank.check(protocol: `protocol`, sampledNegatives: sampledNegatives, retrieval: retrieval.retrieval)
        if `protocol` == "ctr" { return try validateCTR() }
        try refuseCTRModel(model.model)
        _ = try parseProtocol(`protocol`)
        guard repeats >= 1 && repeats <= 1000 else { throw ValidationError("--repeats must be in 1...1000") }
        if repeats > 1 && (exportLists != nil || saveModel != nil) {
            throw ValidationError("--export-lists and --save-model take a single run; drop --repeats")
        }
        guard EvaluationPhase(rawValue: phase) != nil else {
            throw ValidationError("--phase must be test or validation")
        }
        guard let ks = parsedKs, !ks.isEmpty, ks.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("--k takes positive integers, e.g. 10,20")
        }
        if let n = sampledNegatives, n <= 0 { throw ValidationError("--sampled-negatives must be positive") }
        if let n = evalUsers, n <= 0 { throw ValidationError("--eval-users must be positive") }
        guard ["uniform", "popularity"].contains(sampling) else {
            throw ValidationError("--sampling must be uniform or popularity")
        }
    }

    var parsedKs: [Int]? {
        let parts = k.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        return parts.contains(nil) ? nil : parts.compactMap { $0 }
    }

    func configuration() throws -> ExperimentConfiguration {
        var config = try data.experiment(protocol: `protocol`, seed: seed)
        config.model = try model.kind
        config.parameters = try model.parsedParameters
        config.phase = EvaluationPhase(rawValue: phase) ?? .test
        config.evaluation.ks = parsedKs ?? [10, 20]
        config.evaluation.keepLists = exportLists != nil
        if let n = sampledNegatives {
            config.evaluation.sampling = sampling == "popularity" ? .popularity : .uniform
            config.evaluation.negatives = n
        }
        config.evaluation.userSample = evalUsers
        config.historyLimit = maxHistory
        config.excludeHistory = excludeHistory
        config.control = model.control
        config.retrieval = try retrieval.options
        try rerank.apply(to: &config)
        return config
    }

    func run() throws {
        if `protocol` == "ctr" { return try runCTR() }
        let progress = ProgressBar()
        if repeats > 1 {
            try runReporting {
                var runs: [ExperimentRecord] = []
                for offset in 0..<UInt64(repeats) {
                    var config = try configuration()
                    config.seed = seed + offset
                    config.evaluation.seed = config.seed
                    runs.append(try Experiment.run(config, progress: progress.handler).record)
                }
                let summary = ExperimentSummary(runs: runs)
                print(json ? try jsonText(summary) : describe(summary, ks: (parsedKs ?? [10, 20]).sorted()))
            }
            return
        }
        try runReporting {
            let config = try configuration()
            let prepared = try Experiment.prepare(config)
            reportSkipped(prepared.dataset.report)
            let (record, bundle, result) = try Experiment.run(config, prepared: prepared, progress: progress.handler)
            if let exportLists, let lists = result.lists {
                let cases = Evaluator.sample(
                    Evaluator.cases(
                        for: prepared.split, phase: config.phase,
                        historyLimit: config.splitProtocol == .sequentialLeaveOneOut
                            ? (config.historyLimit ?? Experiment.defaultHistoryLimit(for: prepared.dataset.name))
                            : nil),
                    options: config.evaluation)
                var text = "user\trank\titem\tscore\n"
                for (testCase, list) in zip(cases, lists) {
                    for (rank, entry) in list.enumerated() {
                        text +=
                            "\(bundle.userIDs[testCase.user])\t\(rank + 1)\t\(bundle.itemIDs[entry.item])\t\(entry.score)\n"
                    }
                }
                try text.write(toFile: exportLists, atomically: true, encoding: .utf8)
            }
            if let saveModel { try bundle.save(to: URL(fileURLWithPath: saveModel)) }
            print(json ? try jsonText(record) : describe(record, ks: config.evaluation.ks.sorted()))
        }
    }

    func describe(_ summary: ExperimentSummary, ks: [Int]) -> String {
        let first = summary.runs[0]
        var rows = Metrics.names.map { name in
            [name]
                + ks.map {
                    String(
                        format: "%.4f ± %.4f", summary.mean["\(name)@\($0)"] ?? 0,
                        summary.standardDeviation["\(name)@\($0)"] ?? 0)
                }
        }
        rows.append(
            ["fit (s)"]
                + ks.map { _ in
                    String(
                        format: "%.2f", summary.runs.map(\.trainingSeconds).reduce(0, +) / Double(summary.runs.count))
                })
        let title =
            "\(first.model) on \(first.dataset), \(first.splitProtocol), \(first.phase), mean ± sd over \(summary.runs.count) "
            + "seeds (\(first.seed)...\(first.seed + UInt64(summary.runs.count - 1))), \(first.sampling) ranking"
        return [title, formatTable(header: ["metric"] + ks.map { "@\($0)" }, rows: rows)].joined(separator: "\n")
    }

    func describe(_ record: ExperimentRecord, ks: [Int]) -> String {
        var rows = Metrics.names.map { name in
            [name] + ks.map { String(format: "%.4f", record.metrics["\(name)@\($0)"] ?? 0) }
        }
        // next-basket's figures (Li et al.): PHR, and recall and NDCG over repeat and explore targets.
        let extras = ["phr", "recall_rep", "ndcg_rep", "recall_expl", "ndcg_expl", "coverage", "gini"]
        for extra in extras where record.metrics["\(extra)@\(ks[0])"] != nil {
            rows.append([extra] + ks.map { String(format: "%.4f", record.metrics["\(extra)@\($0)"] ?? 0) })
        }
        var split =
            record.metrics["users_rep"].map {
                " (\(Int($0)) with repeat targets, \(Int(record.metrics["users_expl"] ?? 0)) with explore targets)"
            } ?? ""
        if record.splitProtocol == SplitProtocol.nextBasket.rawValue {
            split += ", \(record.users - record.evaluatedUsers) with fewer than 3 baskets not evaluated"
        }
        let title =
            "\(record.model) on \(record.dataset), \(record.splitProtocol) (seed \(record.seed)), \(record.phase), "
            + "\(record.evaluatedUsers) users\(split), \(record.sampling) ranking"
        let timing = String(
            format: "load %.2f s, fit %.2f s, evaluate %.2f s, peak memory %.0f MiB", record.loadSeconds,
            record.trainingSeconds,
            record.evaluationSeconds, Double(record.peakMemoryBytes) / 1_048_576)
        return [title, formatTable(header: ["metric"] + ks.map { "@\($0)" }, rows: rows), timing].joined(
            separator: "\n")
    }
}

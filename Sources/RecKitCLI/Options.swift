import ArgumentParser
import Foundation
import RecData
import RecEval
import RecModels
import RecRetrieval

/// Which data set, read and cleaned how.
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: "Data set: ml-100k, ml-1m, or a path to a folder or CSV/TSV file.")
    var data: String
    @OptionGroup var cleaning: CleaningOptions

    var loadOptions: LoadOptions { cleaning.loadOptions }
    var preprocessing: Preprocessing { cleaning.preprocessing }

    /// An experiment on this data under `protocol`, with `seed` for the split and the evaluator.
    func experiment(protocol name: String, seed: UInt64) throws -> ExperimentConfiguration {
        var config = ExperimentConfiguration(data: data)
        config.loadOptions = loadOptions
        config.preprocessing = preprocessing
        config.splitProtocol = try parseProtocol(name)
        config.seed = seed
        config.evaluation.seed = seed
        return config
    }

    /// Loads and cleans the data set, reporting skipped rows on standard error.
    func load() throws -> Dataset {
        try cleaning.clean(try DatasetCatalog.load(data, options: loadOptions))
    }
}

/// How to read and clean a data set (the options of ``DataOptions`` but the data set itself).
struct CleaningOptions: ParsableArguments {
    @Flag(name: .long, help: "Count, report and skip malformed rows instead of stopping at the first.")
    var skipBadRows = false

    @Option(
        name: .long,
        help: "Keep events with rating >= this (explicit to implicit feedback). (default: keep every rating)")
    var minRating: Double?

    @Option(
        name: .long,
        help: "Keep users and items with at least this many events, iterated to a fixed point. (default: no filter)")
    var kCore: Int?

    @Option(name: .long, help: "Duplicate (user, item) events: all, first or last.")
    var duplicates: String = "all"

    @Flag(name: .long, help: "RecBole's benchmark preprocessing: rating >= 3 and 10-core.")
    var recboleBenchmark = false

    @Flag(name: .long, help: "Order events by timestamps rounded to 32-bit floats, as RecBole 1.2.1 does.")
    var float32Timestamps = false

    @Option(name: .long, help: "User column of a CSV/TSV file.")
    var userField = "user_id"
    @Option(name: .long, help: "Item column of a CSV/TSV file.")
    var itemField = "item_id"
    @Option(name: .long, help: "Rating column of a CSV/TSV file (optional in the file).")
    var ratingField = "rating"
    @Option(name: .long, help: "Timestamp column of a CSV/TSV file (optional in the file).")
    var timestampField = "timestamp"
    @Option(
        name: .long,
        help:
            "Basket (order, session) column of a CSV/TSV or atomic file; without it, a user's events with one timestamp form a basket."
    )
    var basketField: String?
    @Option(name: .long, help: "Field separator of a CSV/TSV file. (default: by extension)")
    var separator: String?

    func validate() throws {
        guard DuplicatePolicy(rawValue: duplicates) != nil else {
            throw ValidationError("--duplicates must be all, first or last")
        }
        if let kCore, kCore < 0 { throw ValidationError("--k-core must be at least 0") }
    }

    var loadOptions: LoadOptions {
        var options = LoadOptions()
        options.skipBadRows = skipBadRows
        options.userField = userField
        options.itemField = itemField
        options.ratingField = ratingField
        options.timestampField = timestampField
        options.basketField = basketField
        options.separator = separator
        return options
    }

    var preprocessing: Preprocessing {
        var result = recboleBenchmark ? Preprocessing.recboleBenchmark : Preprocessing()
        result.duplicates = DuplicatePolicy(rawValue: duplicates) ?? .keepAll
        if let minRating { result.minimumRating = minRating }
        if float32Timestamps { result.float32Timestamps = true }
        if let kCore {
            result.userCore = kCore
            result.itemCore = kCore
        }
        return result
    }

    /// `dataset` after the preprocessing these options ask for.
    func clean(_ loaded: Dataset) throws -> Dataset {
        var dataset = loaded
        if !preprocessing.isIdentity { dataset = try preprocessing.apply(to: dataset).dataset }
        reportSkipped(dataset.report)
        return dataset
    }
}

func reportSkipped(_ report: LoadReport) {
    guard report.skippedRows > 0 else { return }
    printError("skipped \(report.skippedRows) malformed rows of \(report.rows), for example:")
    for example in report.skippedExamples.prefix(5) { printError("  \(example)") }
}

/// Which model, with which hyper-parameters.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "Model: \(ModelKind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var model: String

    @Option(name: .customLong("param"), help: "A hyper-parameter, key=value (repeatable).")
    var parameters: [String] = []

    @Option(
        name: .long,
        help:
            "Neural models, ALS and BPR: a checkpoint written every epoch; an existing one is resumed. (default: none)")
    var checkpoint: String?

    @Option(
        name: .long,
        help: "Neural models: append one JSON line per epoch (loss, validation metrics, time). (default: none)")
    var epochLog: String?

    @Option(
        name: .long,
        help:
            "Memory a model may allocate for its largest blocks, e.g. 8G or 512MiB; a model that would need more stops with an error before allocating. (default: the machine's available memory)"
    )
    var maxMemory: String?

    var control: TrainingControl {
        TrainingControl(
            checkpoint: checkpoint.map { URL(fileURLWithPath: $0) },
            epochLog: epochLog.map { URL(fileURLWithPath: $0) },
            memoryLimit: maxMemory.flatMap(MemoryGuard.parseBytes))
    }

    func validate() throws {
        // A click-through model (fm, din, ...) is checked by the command, against --protocol ctr.
        if CTRModelKind(rawValue: model.lowercased()) == nil { _ = try kind }
        _ = try parsedParameters
        if let maxMemory, MemoryGuard.parseBytes(maxMemory) == nil {
            throw ValidationError("--max-memory \(maxMemory): give a size such as 8G, 512MiB or 2.5GiB")
        }
    }

    var kind: ModelKind {
        get throws {
            do { return try ModelKind(named: model) } catch { throw ValidationError(String(describing: error)) }
        }
    }

    var parsedParameters: [String: String] {
        get throws { try Self.parameters(parameters) }
    }

    /// `--param key=value` strings as a dictionary.
    static func parameters(_ list: [String]) throws -> [String: String] {
        try keyValues(list, option: "--param", form: "key=value")
    }
}

/// The values of a repeatable `key=value` option as a dictionary (a later key wins); `form` names
/// the shape in the error, such as `column=text`.
func keyValues(_ list: [String], option: String, form: String) throws -> [String: String] {
    var result: [String: String] = [:]
    for entry in list {
        let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty else {
            throw ValidationError("\(option) takes \(form), got '\(entry)'")
        }
        result[parts[0]] = parts[1]
    }
    return result
}

func parseProtocol(_ text: String) throws -> SplitProtocol {
    guard let value = SplitProtocol(rawValue: text) else {
        throw ValidationError(
            "--protocol must be one of \(SplitProtocol.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    return value
}

extension ArgumentHelp {
    /// The help of every `--protocol` option: all protocols, from the one list that defines them.
    static var splitProtocol: ArgumentHelp {
        let names = SplitProtocol.allCases.map(\.rawValue)
        return ArgumentHelp(
            "Split protocol: \(names.dropLast().joined(separator: ", ")) or \(names.last ?? "") (docs/protocols.md).")
    }
}

/// How recommendations are retrieved: every item scored, or an HNSW index (hnswlib).
struct RetrievalOptionGroup: ParsableArguments {
    @Option(
        name: .long,
        help:
            "exact (score every item), ann (an HNSW index of the item vectors; inner-product models: als, bpr, hybrid, textcnn, sasrec, gru4rec, lstm, caser) or auto (ann from --ann-threshold items up)."
    )
    var retrieval: String = "auto"
    @Option(name: .long, help: "With --retrieval auto: use the index for catalogues of at least this many items.")
    var annThreshold: Int = 100_000
    @Option(
        name: .long,
        help:
            "Index search width: candidates explored per query (more: higher recall, slower). (default: the narrowest of 32, 64, ..., 2048 that reaches --ann-recall)"
    )
    var ef: Int?
    @Option(
        name: .long,
        help:
            "Recall@10 against exact scoring, on 200 seeded training users, that the index must reach; with --retrieval auto a model whose index falls short is served exactly."
    )
    var annRecall: Double = 0.95
    @Option(name: .long, help: "Index links per item (hnswlib's M); changing it rebuilds the index.")
    var annM: Int = 16
    @Option(name: .long, help: "Index space: ip (hnswlib's inner product) or mips (L2 after the MIPS reduction).")
    var annSpace: String = "ip"

    var options: RetrievalOptions {
        get throws {
            guard let mode = RetrievalMode(rawValue: retrieval) else {
                throw ValidationError("--retrieval must be exact, ann or auto")
            }
            guard let space = ANNSettings.Space(rawValue: annSpace) else {
                throw ValidationError("--ann-space must be mips or ip")
            }
            var settings = ANNSettings()
            settings.m = annM
            settings.space = space
            var calibration = CalibrationRequest(target: annRecall)
            if let ef {
                settings.ef = ef
                calibration.ladder = [ef]
            }
            return RetrievalOptions(
                mode: mode, threshold: annThreshold, settings: settings, calibration: calibration)
        }
    }

    func validate() throws {
        _ = try options
        guard annThreshold >= 0 else { throw ValidationError("--ann-threshold must not be negative") }
        guard (1...100_000).contains(ef ?? 1) else { throw ValidationError("--ef must be in 1...100000") }
        guard (0...1).contains(annRecall) else { throw ValidationError("--ann-recall must be in 0...1") }
        guard (2...200).contains(annM) else { throw ValidationError("--ann-m must be in 2...200") }
    }
}

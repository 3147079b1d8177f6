import Foundation
import RecData
import RecModels
import RecRetrieval
import Tensors

/// Everything that defines one train-and-evaluate run.
public struct ExperimentConfiguration: Sendable {
    /// A data-set name (`ml-100k`) or path.
    public var data: String
    public var loadOptions = LoadOptions()
    public var preprocessing = Preprocessing()
    public var splitProtocol: SplitProtocol = .generalRandom
    public var seed: UInt64 = 2020
    public var model: ModelKind = .popularity
    public var parameters: [String: String] = [:]
    public var phase: EvaluationPhase = .test
    public var evaluation = EvaluationOptions()
    /// History cap for `seq-loo`; `nil` takes the protocol's (50 for ml-100k, 200 otherwise).
    public var historyLimit: Int?
    /// Checkpoint and epoch-log files for the neural models.
    public var control = TrainingControl()
    /// `seq-loo`: leave each user's history items out of the ranking.
    public var excludeHistory = false
    /// Exact ranking (the default), or top-K lists from an ANN index (`--retrieval`).
    public var retrieval = RetrievalOptions(mode: .exact)
    /// A second stage that reorders the retrieved lists before the metrics (`--rerank`).
    public var rerank: EvaluationRerank?

    public init(data: String) { self.data = data }
}

/// The result record of `docs/protocols.md`: data, protocol, seed, model and parameters,
/// metrics, timings, peak memory and code version.
public struct ExperimentRecord: Sendable, Codable, Equatable {
    public var dataset: String
    public var splitProtocol: String
    public var seed: UInt64
    public var preprocessing: Preprocessing
    public var phase: String
    public var model: String
    public var parameters: [String: String]
    public var users: Int
    public var items: Int
    public var interactions: Int
    public var evaluatedUsers: Int
    public var sampling: String
    public var metrics: [String: Double]
    public var loadSeconds: Double
    public var trainingSeconds: Double
    public var evaluationSeconds: Double
    public var peakMemoryBytes: Int
    public var reckitVersion: String
    public var date: String

    enum CodingKeys: String, CodingKey {
        case dataset, splitProtocol = "protocol", seed, preprocessing, phase, model, parameters, users, items,
            interactions, evaluatedUsers, sampling, metrics, loadSeconds, trainingSeconds, evaluationSeconds,
            peakMemoryBytes, reckitVersion, date
    }
}

/// Runs configurations: load, clean, split, fit on the training part, evaluate.
public enum Experiment {
    /// The data after loading and preprocessing, and its split; reusable across models.
    public struct PreparedData: Sendable {
        public let dataset: Dataset
        public let split: DataSplit
        public let loadSeconds: Double
    }

    /// Loads, cleans and splits the data of `configuration`.
    public static func prepare(_ configuration: ExperimentConfiguration) throws -> PreparedData {
        let start = Date()
        // A folder holding NAME.train/valid/test.inter is a ready split: use it as it is.
        if let folder = try? DatasetCatalog.resolve(configuration.data), DataSplit.isSplitFolder(folder) {
            let (name, split) = try DataSplit.load(
                from: URL(fileURLWithPath: folder), as: configuration.splitProtocol, options: configuration.loadOptions)
            let dataset = Dataset(name: name, interactions: split.log)
            return PreparedData(dataset: dataset, split: split, loadSeconds: Date().timeIntervalSince(start))
        }
        var dataset = try DatasetCatalog.load(configuration.data, options: configuration.loadOptions)
        if !configuration.preprocessing.isIdentity {
            dataset = try configuration.preprocessing.apply(to: dataset).dataset
        }
        let split = try DataSplit.make(configuration.splitProtocol, log: dataset.interactions, seed: configuration.seed)
        return PreparedData(dataset: dataset, split: split, loadSeconds: Date().timeIntervalSince(start))
    }

    /// The `seq-loo` history cap for a data set: 50 for ml-100k, 200 otherwise (PROTOCOLS.md).
    public static func defaultHistoryLimit(for dataset: String) -> Int { dataset.contains("100k") ? 50 : 200 }

    /// Fits the configured model on the training part and evaluates it.
    public static func run(
        _ configuration: ExperimentConfiguration, prepared: PreparedData? = nil, progress: ProgressHandler? = nil
    ) throws -> (record: ExperimentRecord, bundle: ModelBundle, result: EvaluationResult) {
        let data = try prepared ?? prepare(configuration)
        let dataset = data.dataset
        let validation =
            configuration.model.isNeural
            ? Evaluator.validationCases(for: data.split, historyLimit: historyLimit(configuration, data)) : []
        let bundle = try ModelBundle.train(
            configuration.model, parameters: configuration.parameters, dataset: dataset, events: data.split.train,
            validation: validation, control: configuration.control,
            record: { seconds in
                TrainingRecord(
                    dataset: dataset.name, splitProtocol: configuration.splitProtocol.rawValue,
                    seed: configuration.seed,
                    preprocessing: configuration.preprocessing, interactions: data.split.train.count,
                    users: dataset.interactions.userCount, items: dataset.interactions.itemCount, seconds: seconds)
            }, progress: progress)
        var cases = Evaluator.cases(
            for: data.split, phase: configuration.phase, historyLimit: historyLimit(configuration, data))
        if configuration.excludeHistory {
            // The whole visible history, not only the capped window the model reads.
            let full = Evaluator.cases(for: data.split, phase: configuration.phase)
            for index in cases.indices { cases[index].mask = full[index].history }
        }
        let allCases = cases.count
        cases = Evaluator.sample(cases, options: configuration.evaluation)
        var popularity = [Float](repeating: 0, count: dataset.interactions.itemCount)
        for index in data.split.train { popularity[Int(dataset.interactions.items[index])] += 1 }
        let retriever = try Retriever.prepare(
            bundle: bundle, options: configuration.retrieval, directory: nil,
            progress: progress.map { report in { report("indexing items", $0, $1) } })
        var evaluation = configuration.evaluation
        evaluation.repeatSplit = evaluation.repeatSplit || configuration.splitProtocol == .nextBasket
        if let rerank = configuration.rerank {
            guard evaluation.sampling == .full else {
                throw DatasetError.invalidOption("--rerank reorders full rankings; drop --sampled-negatives")
            }
            evaluation.reranker = try CaseReranker(
                rerank, split: data.split, phase: configuration.phase, dataset: dataset.name)
        }
        let result = try Evaluator.evaluate(
            bundle.model, cases: cases, options: evaluation, itemPopularity: popularity,
            retriever: retriever, progress: progress)
        var bundleWithMetrics = bundle
        bundleWithMetrics.metrics = result.metrics
        let record = ExperimentRecord(
            dataset: dataset.name, splitProtocol: configuration.splitProtocol.rawValue, seed: configuration.seed,
            preprocessing: configuration.preprocessing, phase: configuration.phase.rawValue,
            model: configuration.model.rawValue, parameters: bundle.model.parameters,
            users: dataset.interactions.userCount, items: dataset.interactions.itemCount,
            interactions: dataset.interactions.count, evaluatedUsers: result.users,
            sampling: (configuration.evaluation.sampling == .full
                ? "full" + (retriever.index.map { ", ANN top-K (\($0.settings.summary))" } ?? "")
                : "\(configuration.evaluation.sampling.rawValue)-\(configuration.evaluation.negatives)")
                + (cases.count < allCases
                    ? ", users sampled: \(cases.count) of \(allCases) (seed \(configuration.evaluation.seed))" : "")
                + (configuration.rerank.map { ", top \($0.depth) reranked" } ?? ""),
            metrics: result.metrics, loadSeconds: data.loadSeconds, trainingSeconds: bundle.record.seconds,
            evaluationSeconds: result.seconds, peakMemoryBytes: peakMemoryBytes(),
            reckitVersion: RecKitVersion.string, date: ISO8601DateFormatter().string(from: Date()))
        return (record, bundleWithMetrics, result)
    }

    /// The process's peak resident memory so far, in bytes.
    /// The newest events a `seq-loo` history keeps (`nil`: all, for the other protocols);
    /// `next-basket` keeps every basket unless `--max-history` says otherwise.
    static func historyLimit(_ configuration: ExperimentConfiguration, _ data: PreparedData) -> Int? {
        switch configuration.splitProtocol {
        case .sequentialLeaveOneOut: return configuration.historyLimit ?? defaultHistoryLimit(for: data.dataset.name)
        case .nextBasket: return configuration.historyLimit
        default: return nil
        }
    }

    public static func peakMemoryBytes() -> Int {
        var usage = rusage()
        #if os(Linux)
            getrusage(RUSAGE_SELF.rawValue, &usage)
            return usage.ru_maxrss * 1024
        #else
            getrusage(RUSAGE_SELF, &usage)
            return usage.ru_maxrss
        #endif
    }
}

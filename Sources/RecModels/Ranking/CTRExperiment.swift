import Foundation
import RecData

/// The figures of one `ctr` run: the test and validation metrics, the curve and the timings.
public struct CTRResult: Sendable, Codable, Equatable {
    public var model: String
    public var dataset: String
    public var protocolName = "ctr"
    public var split: String
    public var seed: UInt64
    public var parameters: [String: String]
    /// Events in each part.
    public var trainEvents: Int
    public var validationEvents: Int
    public var testEvents: Int
    /// `auc`, `logloss`, `gauc` on the test part (an undefined AUC or GAUC is left out).
    public var test: [String: Double]
    /// The same on the validation part.
    public var validation: [String: Double]
    /// The epoch whose weights were kept (best validation AUC).
    public var bestEpoch: Int
    public var epochs: [CTREpoch]
    public var loadSeconds: Double
    public var fitSeconds: Double
    public var evaluateSeconds: Double

    enum CodingKeys: String, CodingKey {
        case model, dataset, split, seed, parameters, trainEvents, validationEvents, testEvents, test, validation
        case bestEpoch, epochs, loadSeconds, fitSeconds, evaluateSeconds
        case protocolName = "protocol"
    }
}

/// One `ctr` experiment: load, split, fit on the training part with early stopping on the
/// validation part, measure AUC, log loss and GAUC on both held-out parts.
public enum CTRExperiment {
    /// Runs `kind` on `data` (a catalogue name or a folder of atomic files).
    ///
    /// - Parameters:
    ///   - seed: Seeds the random split and, unless `parameters` has `seed`, the weights and shuffles.
    ///   - progress: Called after every epoch.
    /// - Returns: The figures and the fitted ranker.
    public static func run(
        data: String, kind: CTRModelKind, parameters: [String: String] = [:], split splitKind: CTRSplitKind = .random,
        seed: UInt64 = 2020, progress: ((CTREpoch) -> Void)? = nil
    ) throws -> (result: CTRResult, ranker: CTRRanker) {
        let started = Date()
        let dataset = try CTRDataset.load(data)
        let split = dataset.split(splitKind, seed: seed)
        let loaded = Date()
        var settings = parameters
        if settings["seed"] == nil { settings["seed"] = String(seed) }
        let ranker = try CTRRanker.fit(
            kind: kind, parameters: settings, dataset: dataset, split: split, progress: progress)
        let fitted = Date()
        func measure(_ events: [Int]) -> [String: Double] {
            let batch = dataset.batch(events, in: ranker.space)
            let all = CTRMetrics.all(probabilities: ranker.predict(batch), labels: batch.labels, users: batch.users)
            return all.filter { !$0.value.isNaN }
        }
        let test = measure(split.test)
        let validation = measure(split.validation)
        // The trainer keeps the first epoch that reached the best validation AUC.
        var best = ranker.epochs.first
        for epoch in ranker.epochs where epoch.validationAUC > best?.validationAUC ?? .infinity { best = epoch }
        let result = CTRResult(
            model: kind.rawValue, dataset: dataset.name, split: splitKind.rawValue, seed: seed, parameters: parameters,
            trainEvents: split.train.count, validationEvents: split.validation.count, testEvents: split.test.count,
            test: test, validation: validation, bestEpoch: best?.epoch ?? 0, epochs: ranker.epochs,
            loadSeconds: loaded.timeIntervalSince(started), fitSeconds: fitted.timeIntervalSince(loaded),
            evaluateSeconds: Date().timeIntervalSince(fitted))
        return (result, ranker)
    }
}

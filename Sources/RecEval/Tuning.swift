import Foundation
import RecData
import RecModels
import Tensors

/// One hyper-parameter's range: a list of values, or an interval sampled uniformly (optionally
/// on a log scale; integers when both ends are integers).
public enum SearchDimension: Sendable, Equatable {
    case choice([String])
    case interval(low: Double, high: Double, log: Bool, integer: Bool)

    /// Parses `v1,v2,...`, `lo..hi` or `lo..hi:log` (also `lo..hilog`).
    public init(parsing text: String) throws {
        if let range = text.range(of: "..") {
            var upper = String(text[range.upperBound...])
            var log = false
            for suffix in [":log", "log"] where upper.hasSuffix(suffix) {
                upper.removeLast(suffix.count)
                log = true
                break
            }
            let lowerText = String(text[..<range.lowerBound])
            guard let low = Double(lowerText), let high = Double(upper), low.isFinite, high.isFinite, low <= high
            else { throw DatasetError.invalidOption("search range '\(text)' needs lo..hi with lo <= hi") }
            if log && low <= 0 { throw DatasetError.invalidOption("log range '\(text)' needs a positive lower end") }
            self = .interval(low: low, high: high, log: log, integer: Int(lowerText) != nil && Int(upper) != nil)
        } else {
            let values = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard !values.isEmpty, values.allSatisfy({ !$0.isEmpty }) else {
                throw DatasetError.invalidOption("search values '\(text)' need v1,v2,...")
            }
            self = .choice(values)
        }
    }

    /// One value drawn from the dimension.
    public func sample(using generator: inout SplitMix64) -> String {
        switch self {
        case .choice(let values):
            return values[Int(generator.next() % UInt64(values.count))]
        case .interval(let low, let high, let log, let integer):
            let u = Double(generator.next() >> 11) * 0x1p-53
            let value =
                log
                ? Foundation.exp(Foundation.log(low) + u * (Foundation.log(high) - Foundation.log(low)))
                : low + u * (high - low)
            return integer ? String(Int(value.rounded())) : String(format: "%.6g", value)
        }
    }
}

/// One tuning trial: its parameters and validation metrics.
public struct TuningTrial: Sendable, Codable, Equatable {
    public var trial: Int
    public var parameters: [String: String]
    public var metrics: [String: Double]
    public var seconds: Double
}

/// A tuning run: every trial, the best, and test figures for the best and for the defaults.
public struct TuningResult: Sendable, Codable, Equatable {
    public var model: String
    public var objective: String
    public var trials: [TuningTrial]
    public var best: TuningTrial
    public var defaults: TuningTrial
    /// Test metrics, each computed once: the best setting's and the defaults'.
    public var bestTest: [String: Double]
    public var defaultTest: [String: Double]
}

/// Random search over a space on the validation split only; the best setting is then evaluated
/// on the test split once, beside the defaults.
///
/// Trial 0 is the model's defaults; trial `t > 0` draws each dimension from a generator seeded by
/// `(seed, t)`, so a run resumed from its trial log (`log`) draws the same settings and skips the
/// trials already there.
public enum Tuner {
    public static func run(
        _ configuration: ExperimentConfiguration, space: [String: SearchDimension], base: [String: String] = [:],
        trials: Int, budgetSeconds: Double? = nil, seed: UInt64 = 2020, log: URL? = nil,
        objective: String = "ndcg@10", progress: ProgressHandler? = nil, onTrial: ((TuningTrial) -> Void)? = nil
    ) throws -> TuningResult {
        let prepared = try Experiment.prepare(configuration)
        var done = try log.map(readLog) ?? []
        let started = Date()
        for index in 0..<max(1, trials) {
            if done.contains(where: { $0.trial == index }) { continue }
            if let budgetSeconds, index > 0, Date().timeIntervalSince(started) > budgetSeconds { break }
            let parameters = base.merging(setting(index, space: space, seed: seed)) { $1 }
            var config = configuration
            config.parameters = parameters
            config.phase = .validation
            let trialStart = Date()
            let (record, _, _) = try Experiment.run(config, prepared: prepared, progress: progress)
            let trial = TuningTrial(
                trial: index, parameters: parameters, metrics: record.metrics,
                seconds: Date().timeIntervalSince(trialStart))
            done.append(trial)
            if let log { try JSONLines.append(trial, to: log, name: "trial log") }
            onTrial?(trial)
        }
        done.sort { $0.trial < $1.trial }
        guard let defaults = done.first(where: { $0.trial == 0 }),
            let best = done.max(by: {
                ($0.metrics[objective] ?? -1, -$0.trial) < ($1.metrics[objective] ?? -1, -$1.trial)
            })
        else { throw DatasetError.invalidOption("no trial finished") }
        func test(_ parameters: [String: String]) throws -> [String: Double] {
            var config = configuration
            config.parameters = parameters
            config.phase = .test
            return try Experiment.run(config, prepared: prepared, progress: progress).record.metrics
        }
        let bestTest = try test(best.parameters)
        let defaultTest = best.trial == 0 ? bestTest : try test(defaults.parameters)
        return TuningResult(
            model: configuration.model.rawValue, objective: objective, trials: done, best: best, defaults: defaults,
            bestTest: bestTest, defaultTest: defaultTest)
    }

    /// The setting of trial `index`: empty (the defaults) for trial 0.
    static func setting(_ index: Int, space: [String: SearchDimension], seed: UInt64) -> [String: String] {
        guard index > 0 else { return [:] }
        var generator = SplitMix64(seed: seed ^ (UInt64(index) &* 0xD1B5_4A32_D192_ED03))
        var result: [String: String] = [:]
        for key in space.keys.sorted() { result[key] = space[key]?.sample(using: &generator) }
        return result
    }

    static func readLog(_ url: URL) throws -> [TuningTrial] {
        guard FileManager.default.fileExists(atPath: url.path) else { return [] }
        let text = try String(contentsOf: url, encoding: .utf8)
        return try text.split(separator: "\n").enumerated().map { number, line in
            do { return try JSONDecoder().decode(TuningTrial.self, from: Data(line.utf8)) } catch {
                throw DatasetError.invalidOption("\(url.path):\(number + 1): not a trial record: \(error)")
            }
        }
    }
}

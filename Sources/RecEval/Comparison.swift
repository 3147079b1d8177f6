import Foundation
import RecData
import RecModels
import Tensors

/// One model's row of a comparison: accuracy and beyond-accuracy metrics, cost, and what a
/// report draws (the training curve, where its recommendations fall in the popularity ranking).
public struct ComparisonEntry: Sendable, Codable, Equatable {
    public var model: String
    public var parameters: [String: String]
    /// Every metric at every cut-off `1…maxK` (`ndcg@10`, `recall@20`, `coverage@10`, …).
    public var metrics: [String: Double]
    public var trainingSeconds: Double
    public var evaluationSeconds: Double
    /// Scoring one known user (full catalogue), milliseconds.
    public var latencyP50: Double
    public var latencyP99: Double
    /// `model.json` plus `weights.safetensors`.
    public var sizeBytes: Int
    /// The process's peak resident memory while this model trained and was evaluated.
    public var peakMemoryBytes: Int
    public var epochs: [EpochRecord]
    /// The share of the top-10 recommendations that falls in each popularity decile of the
    /// catalogue (decile 0: the most popular tenth of the items).
    public var recommendedByDecile: [Double]
}

/// Every model on one split, and the data a report needs.
public struct ComparisonReport: Sendable, Codable, Equatable {
    public var dataset: String
    public var splitProtocol: String
    public var seed: UInt64
    public var users: Int
    public var items: Int
    public var interactions: Int
    public var evaluatedUsers: Int
    public var maxK: Int
    /// The share of training interactions in each popularity decile of the catalogue.
    public var interactionsByDecile: [Double]
    public var entries: [ComparisonEntry]
    public var reckitVersion: String
    public var date: String

    enum CodingKeys: String, CodingKey {
        case dataset, splitProtocol = "protocol", seed, users, items, interactions, evaluatedUsers, maxK,
            interactionsByDecile, entries, reckitVersion, date
    }
}

public enum Comparison {
    /// Trains and evaluates each `(kind, parameters)` on the split of `configuration` (one split
    /// for all), with cut-offs `1…maxK`.
    public static func run(
        _ configuration: ExperimentConfiguration, models: [(kind: ModelKind, parameters: [String: String])],
        maxK: Int = 50, latencyUsers: Int = 200, progress: ProgressHandler? = nil
    ) throws -> ComparisonReport {
        let prepared = try Experiment.prepare(configuration)
        let log = prepared.dataset.interactions
        var popularity = [Double](repeating: 0, count: log.itemCount)
        for index in prepared.split.train { popularity[Int(log.items[index])] += 1 }
        let deciles = Self.deciles(popularity: popularity)
        var interactionsByDecile = [Double](repeating: 0, count: 10)
        for (item, count) in popularity.enumerated() { interactionsByDecile[deciles[item]] += count }
        let totalInteractions = max(1, interactionsByDecile.reduce(0, +))
        interactionsByDecile = interactionsByDecile.map { $0 / totalInteractions }
        var entries: [ComparisonEntry] = []
        var evaluatedUsers = 0
        for (kind, parameters) in models {
            PeakMemory.reset()
            var config = configuration
            config.model = kind
            config.parameters = parameters
            config.evaluation.ks = Array(1...maxK)
            config.evaluation.keepLists = true
            let (record, bundle, result) = try Experiment.run(config, prepared: prepared, progress: progress)
            evaluatedUsers = result.users
            let cases = Evaluator.cases(for: prepared.split, phase: config.phase)
            let latency = try Self.latency(bundle.model, cases: cases.prefix(latencyUsers).map { $0 })
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("reckit-compare-\(UUID())")
            defer { try? FileManager.default.removeItem(at: folder) }
            try bundle.save(to: folder)
            var recommended = [Double](repeating: 0, count: 10)
            var listed = 0.0
            for list in result.lists ?? [] {
                for scored in list.prefix(10) {
                    recommended[deciles[Int(scored.item)]] += 1
                    listed += 1
                }
            }
            entries.append(
                ComparisonEntry(
                    model: kind.rawValue, parameters: bundle.model.parameters, metrics: record.metrics,
                    trainingSeconds: record.trainingSeconds, evaluationSeconds: record.evaluationSeconds,
                    latencyP50: latency.p50, latencyP99: latency.p99, sizeBytes: Self.size(of: folder),
                    peakMemoryBytes: PeakMemory.bytes(), epochs: bundle.epochs,
                    recommendedByDecile: recommended.map { $0 / max(1, listed) }))
        }
        return ComparisonReport(
            dataset: prepared.dataset.name, splitProtocol: configuration.splitProtocol.rawValue,
            seed: configuration.seed, users: log.userCount, items: log.itemCount, interactions: log.count,
            evaluatedUsers: evaluatedUsers, maxK: maxK, interactionsByDecile: interactionsByDecile, entries: entries,
            reckitVersion: RecKitVersion.string, date: ISO8601DateFormatter().string(from: Date()))
    }

    /// The popularity decile (0 = most popular tenth) of every item; ties broken by index.
    static func deciles(popularity: [Double]) -> [Int] {
        let order = popularity.indices.sorted {
            popularity[$0] > popularity[$1] || (popularity[$0] == popularity[$1] && $0 < $1)
        }
        var result = [Int](repeating: 0, count: popularity.count)
        for (rank, item) in order.enumerated() { result[item] = min(9, rank * 10 / max(1, popularity.count)) }
        return result
    }

    /// p50 and p99 of scoring one user at a time, in milliseconds.
    static func latency(_ model: any Recommender, cases: [EvaluationCase]) throws -> (p50: Double, p99: Double) {
        guard !cases.isEmpty else { return (0, 0) }
        var scores = [Float](repeating: 0, count: model.itemCount)
        var times: [Double] = []
        for item in cases {
            let start = DispatchTime.now().uptimeNanoseconds
            try model.score(ScoringContext(user: item.user, history: item.history), into: &scores)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        times.sort()
        func at(_ q: Double) -> Double { times[min(times.count - 1, Int(q * Double(times.count)))] }
        return (at(0.5), at(0.99))
    }

    static func size(of folder: URL) -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.reduce(0) { total, name in
            let attributes = try? FileManager.default.attributesOfItem(atPath: folder.appendingPathComponent(name).path)
            return total + ((attributes?[.size] as? NSNumber)?.intValue ?? 0)
        }
    }
}

/// The process's peak resident set, resettable on Linux (`/proc/self/clear_refs`), so each
/// model of a comparison gets its own peak.
public enum PeakMemory {
    /// Starts a new peak at the current resident set (Linux; elsewhere the peak is the process's).
    public static func reset() {
        #if os(Linux)
            try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
        #endif
    }

    /// The peak resident set since the last ``reset()`` (Linux: `VmHWM`), in bytes.
    public static func bytes() -> Int {
        #if os(Linux)
            if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
                let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
                let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "")
            {
                return kilobytes * 1024
            }
        #endif
        return Experiment.peakMemoryBytes()
    }
}

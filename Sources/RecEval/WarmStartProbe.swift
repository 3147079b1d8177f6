import Foundation
import RecData
import RecModels

/// What the trainer's `--warm-start` saves, on a log split by time: the newest 10% of the events
/// are held out; a previous model is trained on the rest but the newest `added` fraction of all
/// events; then, with those events added, a full retrain and a warm start from the previous
/// model's weights are timed (medians of `repeats`) and ranked on the held-out events as the
/// trainer's quality gate ranks them. What `reckit bench warm-start` prints.
public enum WarmStartProbe {
    public struct Report: Sendable, Codable, Equatable {
        public var dataset: String
        public var events: Int
        /// Events the previous model and the retrained ones were trained on.
        public var previousEvents: Int
        public var retrainedEvents: Int
        public var heldOutUsers: Int
        /// Seconds: the previous model's training, the medians of the full retrains and warm starts.
        public var previousSeconds: Double
        public var fullSeconds: Double
        public var warmSeconds: Double
        public var previous: QualityGate.Score
        public var full: QualityGate.Score
        public var warm: QualityGate.Score
    }

    /// The model kind gives no warm start, or its previous model none.
    public struct NoWarmStart: Error, CustomStringConvertible {
        public var description: String
    }

    /// `parameters` apply to every training (ALS without any trains 64 factors for 15
    /// iterations); the warm start runs `warmIterations` iterations.
    public static func measure(
        _ dataset: Dataset, kind: ModelKind, parameters: [String: String], warmIterations: Int, added: Double,
        repeats: Int
    ) throws -> Report {
        guard kind.warmStarts else { throw NoWarmStart(description: "--model \(kind.rawValue) has no warm start") }
        let log = dataset.interactions
        let (train, cases) = QualityGate.holdout(log, fraction: 0.1)
        let byTime = train.sorted {
            let (a, b) = (log.timestamps?[$0] ?? Double($0), log.timestamps?[$1] ?? Double($1))
            return a != b ? a < b : $0 < $1
        }
        let base = Array(byTime.prefix(byTime.count - Int(Double(log.count) * added)))
        var chosen = parameters
        if kind == .als && chosen.isEmpty { chosen = ["factors": "64", "iterations": "15"] }
        func fit(_ events: [Int], warm: WarmStart? = nil) throws -> ModelBundle {
            try ModelBundle.train(kind, parameters: chosen, dataset: dataset, events: events, warmStart: warm) {
                TrainingRecord(
                    dataset: dataset.name, interactions: events.count, users: log.userCount, items: log.itemCount,
                    seconds: $0)
            }
        }
        let previous = try fit(base)
        guard let warm = previous.warmStart(iterations: warmIterations) else {
            throw NoWarmStart(description: "the previous model gives no warm start")
        }
        var fullRuns: [ModelBundle] = []
        var warmRuns: [ModelBundle] = []
        for _ in 0..<max(1, repeats) {
            fullRuns.append(try fit(train))
            warmRuns.append(try fit(train, warm: warm))
        }
        func median(_ runs: [ModelBundle]) -> Double {
            let seconds = runs.map(\.record.seconds).sorted()
            return seconds[seconds.count / 2]
        }
        return Report(
            dataset: dataset.name, events: log.count, previousEvents: base.count, retrainedEvents: train.count,
            heldOutUsers: cases.count, previousSeconds: previous.record.seconds, fullSeconds: median(fullRuns),
            warmSeconds: median(warmRuns), previous: try QualityGate.score(previous, cases: cases),
            full: try QualityGate.score(fullRuns[0], cases: cases),
            warm: try QualityGate.score(warmRuns[0], cases: cases))
    }
}

import ArgumentParser
import Foundation
import RecData
import RecEval
import RecModels

extension BenchCommand {
    /// `reckit bench warm-start`: what the trainer's `--warm-start` saves, on a log split by time.
    struct WarmStartBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "warm-start",
            abstract: "A model retrained after 1% more events: a warm start beside a full retrain.",
            discussion: """
                The newest 10% of the events (by time) are held out. The previous model is trained on \
                the rest but the newest 1% of all events; then, with those events added, a full \
                retrain and a warm start from the previous model's weights are timed (medians of \
                --repeats) and ranked on the held-out events (NDCG@10 and recall@10, as the trainer's \
                quality gate ranks them).

                Models with a warm start: als, bpr, hybrid, sasrec, gru4rec, lstm, caser. Without \
                --param, ALS trains 64 factors for 15 iterations.
                """)

        @Option(name: .long, help: "Data set: ml-100k, ml-1m, or a path.")
        var data: String = "ml-1m"
        @Option(name: .long, help: "Model.")
        var model: String = "als"
        @Option(name: .customLong("param"), help: "A hyper-parameter of the full training, key=value (repeatable).")
        var parameters: [String] = []
        @Option(name: .long, help: "Iterations (epochs) of the warm start.")
        var warmIterations: Int = 1
        @Option(name: .long, help: "Fraction of all events added since the previous model.")
        var added: Double = 0.01
        @Option(name: .long, help: "Timed runs of each training (the median is reported).")
        var repeats: Int = 3

        func run() throws {
            try runReporting {
                let dataset = try DatasetCatalog.load(data)
                let log = dataset.interactions
                let (train, cases) = QualityGate.holdout(log, fraction: 0.1)
                let byTime = train.sorted {
                    let (a, b) = (log.timestamps?[$0] ?? Double($0), log.timestamps?[$1] ?? Double($1))
                    return a != b ? a < b : $0 < $1
                }
                let base = Array(byTime.prefix(byTime.count - Int(Double(log.count) * added)))
                guard let kind = ModelKind(rawValue: model), kind.warmStarts else {
                    throw ValidationError("--model \(model) has no warm start")
                }
                var chosen = try ModelOptions.parameters(parameters)
                if kind == .als && chosen.isEmpty { chosen = ["factors": "64", "iterations": "15"] }
                func fit(_ events: [Int], warm: WarmStart? = nil) throws -> ModelBundle {
                    try ModelBundle.train(
                        kind, parameters: chosen, dataset: dataset, events: events, warmStart: warm
                    ) {
                        TrainingRecord(
                            dataset: dataset.name, interactions: events.count, users: log.userCount,
                            items: log.itemCount, seconds: $0)
                    }
                }
                let previous = try fit(base)
                let warm = try require(previous.warmStart(iterations: warmIterations))
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
                let (fullSeconds, warmSeconds) = (median(fullRuns), median(warmRuns))
                let previousScore = try QualityGate.score(previous, cases: cases)
                let fullScore = try QualityGate.score(fullRuns[0], cases: cases)
                let warmScore = try QualityGate.score(warmRuns[0], cases: cases)
                print(
                    "\(dataset.name): \(log.count) events; previous model on \(base.count), retrained on \(train.count) (+\(train.count - base.count)), \(cases.count) held-out users"
                )
                func line(_ name: String, _ seconds: Double?, _ score: QualityGate.Score) -> String {
                    String(
                        format: "%@ %@ NDCG@10 %.4f recall@10 %.4f",
                        name.padding(toLength: 28, withPad: " ", startingAt: 0),
                        seconds.map { String(format: "%7.2f s", $0) } ?? "         ", score.ndcg, score.recall)
                }
                print(line("previous model", previous.record.seconds, previousScore))
                print(line("full retrain", fullSeconds, fullScore))
                print(line("warm start (\(warmIterations) iterations)", warmSeconds, warmScore))
                print(
                    String(
                        format: "warm / full: time %.3f, NDCG@10 %.4f, recall@10 %.4f", warmSeconds / fullSeconds,
                        warmScore.ndcg / fullScore.ndcg, warmScore.recall / fullScore.recall))
            }
        }
    }
}

/// `value`, or a failure naming what was missing.
private func require<T>(_ value: T?) throws -> T {
    guard let value else { throw ValidationError("the previous model gives no warm start") }
    return value
}

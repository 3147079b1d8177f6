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
                guard let kind = ModelKind(rawValue: model), kind.warmStarts else {
                    throw ValidationError("--model \(model) has no warm start")
                }
                let report: WarmStartProbe.Report
                do {
                    report = try WarmStartProbe.measure(
                        dataset, kind: kind, parameters: try ModelOptions.parameters(parameters),
                        warmIterations: warmIterations, added: added, repeats: repeats)
                } catch let error as WarmStartProbe.NoWarmStart {
                    throw ValidationError(error.description)
                }
                print(
                    "\(report.dataset): \(report.events) events; previous model on \(report.previousEvents), retrained on \(report.retrainedEvents) (+\(report.retrainedEvents - report.previousEvents)), \(report.heldOutUsers) held-out users"
                )
                func line(_ name: String, _ seconds: Double?, _ score: QualityGate.Score) -> String {
                    String(
                        format: "%@ %@ NDCG@10 %.4f recall@10 %.4f",
                        name.padding(toLength: 28, withPad: " ", startingAt: 0),
                        seconds.map { String(format: "%7.2f s", $0) } ?? "         ", score.ndcg, score.recall)
                }
                print(line("previous model", report.previousSeconds, report.previous))
                print(line("full retrain", report.fullSeconds, report.full))
                print(line("warm start (\(warmIterations) iterations)", report.warmSeconds, report.warm))
                print(
                    String(
                        format: "warm / full: time %.3f, NDCG@10 %.4f, recall@10 %.4f",
                        report.warmSeconds / report.fullSeconds, report.warm.ndcg / report.full.ndcg,
                        report.warm.recall / report.full.recall))
            }
        }
    }
}

import ArgumentParser
import Foundation
import RecData
import RecEval
import RecModels

struct TuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract:
            "Random search on the validation split; the best setting is evaluated on test once, beside the defaults.")

    @OptionGroup var data: DataOptions
    @OptionGroup var model: ModelOptions
    @Option(name: .long, help: "A dimension: key=v1,v2,... or key=lo..hi or key=lo..hi:log (repeatable).")
    var space: [String] = []
    @Option(name: .long, help: "Trials, the defaults (trial 0) included.")
    var trials: Int = 10
    @Option(name: .long, help: "Start no new trial after this many seconds. (default: no limit)")
    var budget: Double?
    @Option(name: .long, help: .splitProtocol)
    var `protocol`: String = "gen-rs"
    @Option(name: .long, help: "Seed of the split and of the search.")
    var seed: UInt64 = 2020
    @Option(name: .long, help: "Append every trial as a JSON line; an existing log is resumed.")
    var log: String?
    @Option(name: .long, help: "Write a self-contained HTML report with its charts to this file.")
    var report: String?
    @Flag(name: .long, help: "Print the whole result as JSON.")
    var json = false

    func validate() throws {
        _ = try parseProtocol(`protocol`)
        _ = try parsedSpace()
        guard trials >= 1 else { throw ValidationError("--trials must be at least 1") }
    }

    func parsedSpace() throws -> [String: SearchDimension] {
        var result: [String: SearchDimension] = [:]
        for entry in space {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else {
                throw ValidationError("--space takes key=v1,v2 or key=lo..hi[:log], got '\(entry)'")
            }
            do { result[parts[0]] = try SearchDimension(parsing: parts[1]) } catch {
                throw ValidationError(String(describing: error))
            }
        }
        return result
    }

    func run() throws {
        let progress = ProgressBar()
        try runReporting {
            var config = try data.experiment(protocol: `protocol`, seed: seed)
            config.model = try model.kind
            let result = try Tuner.run(
                config, space: try parsedSpace(), base: try model.parsedParameters, trials: trials,
                budgetSeconds: budget, seed: seed, log: log.map { URL(fileURLWithPath: $0) }, progress: progress.handler
            ) { trial in
                printError(
                    String(
                        format: "trial %d: validation NDCG@10 %.4f (%.1f s) %@", trial.trial,
                        trial.metrics["ndcg@10"] ?? 0,
                        trial.seconds,
                        trial.parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                            .joined(separator: " ")))
            }
            try writeReport(ReportHTML.render(result), to: report)
            if json {
                print(try jsonText(result))
                return
            }
            print(Self.describe(result))
        }
    }

    static func describe(_ result: TuningResult) -> String {
        func f(_ metrics: [String: Double], _ key: String) -> String { String(format: "%.4f", metrics[key] ?? 0) }
        let setting = result.best.parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            .joined(separator: " ")
        let gain = (result.best.metrics["ndcg@10"] ?? 0) / max(1e-12, result.defaults.metrics["ndcg@10"] ?? 0) - 1
        return """
            \(result.model): \(result.trials.count) trials; best trial \(result.best.trial): \(setting.isEmpty ? "(defaults)" : setting)
            validation NDCG@10: defaults \(f(result.defaults.metrics, "ndcg@10")), best \(f(result.best.metrics, "ndcg@10")) (\(String(format: "%+.1f%%", gain * 100)))
            test NDCG@10 / Recall@10 (once each): defaults \(f(result.defaultTest, "ndcg@10")) / \(f(result.defaultTest, "recall@10")), \
            best \(f(result.bestTest, "ndcg@10")) / \(f(result.bestTest, "recall@10"))
            """
    }
}

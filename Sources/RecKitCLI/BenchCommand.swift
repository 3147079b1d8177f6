import ArgumentParser
import Foundation
import RecEval
import RecModels

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Micro-benchmarks of the serving path.", subcommands: [FoldIn.self])

    struct FoldIn: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "fold-in",
            abstract: "Latency of scoring a user the model never saw, from a history of N items (fold-in + every item)."
        )

        @Option(name: .long, help: "Model directory.")
        var model: String
        @Option(name: .long, help: "History length.")
        var history: Int = 200
        @Option(name: .long, help: "Requests to time.")
        var requests: Int = 1000
        @Flag(name: .long, help: "Print JSON.")
        var json = false

        func validate() throws {
            guard history > 0, requests > 0 else { throw ValidationError("--history and --requests must be positive") }
        }

        func run() throws {
            try runReporting {
                let bundle = try ModelBundle.load(from: URL(fileURLWithPath: model))
                let summary = try LatencyProbe.foldIn(
                    bundle.model, historyLength: min(history, bundle.model.itemCount), requests: requests)
                if json {
                    print(try jsonText(summary))
                } else {
                    print(
                        String(
                            format: "%@, history %d, %d requests: p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, mean %.3f ms",
                            summary.model, summary.historyLength, summary.requests, summary.p50, summary.p90,
                            summary.p99, summary.mean))
                }
            }
        }
    }
}

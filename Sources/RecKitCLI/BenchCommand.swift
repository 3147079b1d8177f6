import ArgumentParser
import Foundation
import RecData
import RecEval
import RecModels
import RecRetrieval
import RecStore

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Micro-benchmarks of the serving path and the numeric core.",
        subcommands: [
            FoldIn.self, ANN.self, StoreRead.self, WarmStartBench.self, Gemm.self, Transformer.self, GRU.self,
            ExperimentBench.self, RankBench.self,
        ])

    struct StoreRead: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "store-read",
            abstract:
                "Latency of the request-time store read (a user's history and the hidden items) for random users 1...N."
        )

        @Option(name: .long, help: ArgumentHelp("A SQLite file or a postgres:// URL.", valueName: "path-or-url"))
        var db: String
        @Option(name: .long, help: "Users are the ids 1...N (as `data synth` writes them).")
        var users: Int
        @Option(name: .long, help: "Reads to time.")
        var requests: Int = 5000
        @Option(name: .long, help: "Seed of the user draw.")
        var seed: UInt64 = 7

        func run() async throws {
            try await runReporting {
                let store = try await EventStores.open(db)
                let summary = try await StoreReadProbe.measure(store, users: users, requests: requests, seed: seed)
                await store.close()
                print(
                    String(
                        format:
                            "%d reads over %d feedback rows, %.1f rows per user read: p50 %.3f ms, p99 %.3f ms, max %.3f ms",
                        summary.requests, summary.storeFeedback, summary.rowsPerRead, summary.p50, summary.p99,
                        summary.max))
            }
        }
    }

    struct ANN: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ann",
            abstract:
                "Recall and latency of the HNSW index against exact scoring, for seeded users of a model, one query at a time."
        )

        @Option(name: .long, help: "Model directory (an inner-product model; its saved index is used or built).")
        var model: String
        @Option(name: .long, help: "Users to sample (seeded).")
        var users: Int = 1000
        @Option(name: .long, help: "Seed of the user sample.")
        var seed: UInt64 = 7
        @Option(name: [.customShort("k"), .long], help: "List length.")
        var count: Int = 10
        @Option(name: .long, help: "Search widths to measure, comma-separated.")
        var ef: String = "64,128,256,384,512,1024"
        @Option(name: .long, help: "Index links per item (hnswlib's M).")
        var annM: Int = 16
        @Option(name: .long, help: "Index space: ip or mips.")
        var annSpace: String = "ip"

        func run() throws {
            try runReporting {
                let directory = URL(fileURLWithPath: model, isDirectory: true)
                let bundle = try ModelBundle.load(from: directory)
                var settings = ANNSettings()
                settings.m = annM
                guard let space = ANNSettings.Space(rawValue: annSpace) else {
                    throw ValidationError("--ann-space must be mips or ip")
                }
                settings.space = space
                let widths = ef.split(separator: ",").compactMap { Int($0) }
                let retriever = try Retriever.prepare(
                    bundle: bundle, options: RetrievalOptions(mode: .ann, settings: settings),
                    directory: directory, log: { printError($0) })
                guard let index = retriever.index else {
                    throw RetrievalError.unsupportedModel(type(of: bundle.model).kind.rawValue)
                }
                let report = try ANNProbe.measure(
                    bundle, index: index, users: users, seed: seed, count: count, widths: widths)
                print(
                    String(
                        format: "%@, %d items, %d users, top %d, one query at a time; index %@", report.model,
                        report.items, report.users, count, report.index))
                print(String(format: "exact: p50 %.3f ms, p99 %.3f ms", report.exactP50, report.exactP99))
                print("ef\trecall@\(count)\tp50 ms\tp99 ms\tfallbacks\tspeed-up (p50)")
                for row in report.rows {
                    print(
                        String(
                            format: "%d\t%.4f\t%.3f\t%.3f\t%d\t%.0f×", row.ef, row.recall, row.p50, row.p99,
                            row.fallbacks, row.speedUp))
                }
            }
        }
    }

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

    struct Gemm: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gemm",
            abstract: "GFLOP/s of RecKit's GEMM entry point and tensor matmul beside a direct cblas_sgemm call.")

        @Option(name: .long, help: "Alternating timed samples per shape and path.")
        var samples: Int = 5
        @Flag(name: .long, help: "Print JSON.")
        var json = false

        func validate() throws {
            guard samples > 0 else { throw ValidationError("--samples must be positive") }
        }

        func run() throws {
            let rows = NumericProbe.defaultGemmShapes.map { NumericProbe.gemm($0, samples: samples) }
            if json {
                print(try jsonText(rows))
                return
            }
            print("GFLOP/s, Float32, row-major, medians of \(samples) alternating samples")
            print("| m×k · k×n | cblas_sgemm | BLAS.gemm | ratio | Variable.matmul | ratio |")
            print("| --- | --- | --- | --- | --- | --- |")
            for row in rows {
                let s = row.shape
                print(
                    String(
                        format: "| %d×%d · %d×%d | %.1f | %.1f | %.2f | %.1f | %.2f |", s.m, s.k, s.k, s.n,
                        row.direct, row.entryPoint, row.entryPoint / row.direct, row.tensorMatmul,
                        row.tensorMatmul / row.direct))
            }
        }
    }

    struct Transformer: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "transformer",
            abstract: "Forward + backward time of one causal Transformer block, and the process's peak memory.")

        @OptionGroup var step: StepOptions
        @Option(name: .long, help: "Sequence length.")
        var length: Int = 200
        @Option(name: .long, help: "Model width.")
        var width: Int = 64
        @Option(name: .long, help: "Attention heads.")
        var heads: Int = 2
        @Option(name: .long, help: "Feed-forward hidden size.")
        var feedForward: Int = 256

        func validate() throws {
            try step.validate()
            guard length > 0, width > 0, heads > 0, feedForward > 0, width % heads == 0 else {
                throw ValidationError("sizes must be positive and --width divisible by --heads")
            }
        }

        func run() throws {
            step.report(
                NumericProbe.transformerStep(
                    batch: step.batch, length: length, width: width, heads: heads, feedForward: feedForward,
                    warmup: step.warmup, steps: step.steps))
        }
    }

    struct GRU: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gru", abstract: "Forward + backward time of one GRU layer, and the process's peak memory.")

        @OptionGroup var step: StepOptions
        @Option(name: .long, help: "Sequence length.")
        var length: Int = 50
        @Option(name: .long, help: "Input width (an item embedding).")
        var inputSize: Int = 64
        @Option(name: .long, help: "Hidden size.")
        var hidden: Int = 128

        func validate() throws {
            try step.validate()
            guard length > 0, inputSize > 0, hidden > 0 else { throw ValidationError("sizes must be positive") }
        }

        func run() throws {
            step.report(
                NumericProbe.gruStep(
                    batch: step.batch, length: length, inputSize: inputSize, hidden: hidden, warmup: step.warmup,
                    steps: step.steps))
        }
    }

    /// Options shared by the layer-step benchmarks. Run each in its own process, so that the
    /// peak memory it reports is its own.
    struct StepOptions: ParsableArguments {
        @Option(name: .long, help: "Batch size.")
        var batch: Int = 128
        @Option(name: .long, help: "Untimed warm-up steps.")
        var warmup: Int = 3
        @Option(name: .long, help: "Timed steps.")
        var steps: Int = 10
        @Flag(name: .long, help: "Print JSON.")
        var json = false

        func validate() throws {
            guard batch > 0, steps > 0, warmup >= 0 else {
                throw ValidationError("--batch and --steps must be positive, --warmup not negative")
            }
        }

        func report(_ summary: NumericProbe.StepSummary) {
            if json, let text = try? jsonText(summary) {
                print(text)
                return
            }
            print(
                String(
                    format: "%@ (%@): median %.1f ms per step (min %.1f, max %.1f) over %d steps after %d warm-up; "
                        + "peak RSS %.0f MiB", summary.benchmark, summary.configuration, summary.medianMilliseconds,
                    summary.minimumMilliseconds, summary.maximumMilliseconds, summary.steps, summary.warmup,
                    summary.peakResidentMiB))
        }
    }
}

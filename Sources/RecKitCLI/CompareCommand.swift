import ArgumentParser
import Foundation
import RecData
import RecEval
import RecModels

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Train and evaluate several models on one split: a table, --json, and an HTML report.")

    @OptionGroup var data: DataOptions
    @Option(name: .long, help: "Models, comma-separated (e.g. pop,itemknn,ease,als,sasrec).")
    var models: String
    @Option(name: .customLong("param"), help: "A hyper-parameter of one model, model.key=value (repeatable).")
    var parameters: [String] = []
    @Option(name: .long, help: .splitProtocol)
    var `protocol`: String = "gen-rs"
    @Option(name: .long, help: "Seed of the split (the same split for every model).")
    var seed: UInt64 = 2020
    @Option(name: .long, help: "History length cap of seq-loo. (default: 50 for ml-100k, 200 otherwise)")
    var maxHistory: Int?
    @Option(
        name: .long,
        help: "Evaluate a seeded sample of this many users, the same for every model. (default: every user)")
    var evalUsers: Int?
    @Option(name: .long, help: "Write a self-contained HTML report (SVG charts, model cards) to this file.")
    var report: String?
    @OptionGroup var rerank: RerankOptions
    @Flag(name: .long, help: "Print the whole comparison as JSON.")
    var json = false

    func validate() throws {
        try rerank.check(protocol: `protocol`)
        _ = try parseProtocol(`protocol`)
        if let n = evalUsers, n <= 0 { throw ValidationError("--eval-users must be positive") }
        _ = try plan()
    }

    /// The models in order, each with its own parameters.
    func plan() throws -> [(kind: ModelKind, parameters: [String: String])] {
        let kinds = try models.split(separator: ",").map { name -> ModelKind in
            do { return try ModelKind(named: name.trimmingCharacters(in: .whitespaces)) } catch {
                throw ValidationError(String(describing: error))
            }
        }
        guard !kinds.isEmpty else { throw ValidationError("--models needs at least one model") }
        var perModel: [ModelKind: [String: String]] = [:]
        for parameter in parameters {
            let parts = parameter.split(separator: "=", maxSplits: 1).map(String.init)
            let path = parts.first?.split(separator: ".", maxSplits: 1).map(String.init) ?? []
            guard parts.count == 2, path.count == 2, let kind = try? ModelKind(named: path[0]), kinds.contains(kind)
            else {
                throw ValidationError("--param takes model.key=value for a model of --models, got '\(parameter)'")
            }
            perModel[kind, default: [:]][path[1]] = parts[1]
        }
        return kinds.map { ($0, perModel[$0] ?? [:]) }
    }

    func run() throws {
        let progress = ProgressBar()
        try runReporting {
            var config = try data.experiment(protocol: `protocol`, seed: seed)
            config.historyLimit = maxHistory
            config.evaluation.userSample = evalUsers
            try rerank.apply(to: &config)
            let comparison = try Comparison.run(config, models: try plan(), progress: progress.handler)
            try writeReport(ReportHTML.render(comparison), to: report)
            let stages = rerank.rerank.map { "two stages: each model's top \(rerank.rerankDepth) reranked by \($0)\n" }
            print(json ? try jsonText(comparison) : (stages ?? "") + Self.table(comparison))
        }
    }

    static func table(_ report: ComparisonReport) -> String {
        let rows = report.entries.map { entry -> [String] in
            let m = entry.metrics
            func f(_ key: String) -> String { String(format: "%.4f", m[key] ?? 0) }
            return [
                entry.model, f("ndcg@10"), f("recall@10"), f("hit@10"), f("coverage@10"), f("gini@10"),
                String(format: "%.1f", m["avgpop@10"] ?? 0), String(format: "%.2f", entry.trainingSeconds),
                String(format: "%.3f", entry.latencyP50), String(format: "%.3f", entry.latencyP99),
                String(format: "%.2f", Double(entry.sizeBytes) / 1_048_576),
                String(format: "%.0f", Double(entry.peakMemoryBytes) / 1_048_576),
            ]
        }
        let header = [
            "model", "NDCG@10", "Recall@10", "HR@10", "cov@10", "Gini@10", "pop@10", "train s", "p50 ms", "p99 ms",
            "MiB disk", "MiB peak",
        ]
        return "\(report.dataset), \(report.splitProtocol), seed \(report.seed), \(report.evaluatedUsers) users\n"
            + formatTable(header: header, rows: rows)
    }
}

/// An error whose description is its text.
struct ReportWriteError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Writes an HTML report when a path is given.
func writeReport(_ html: String, to path: String?) throws {
    guard let path else { return }
    do {
        try Data(html.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    } catch {
        throw ReportWriteError("cannot write the report \(path): \(error.localizedDescription)")
    }
    printError("report: \(path)")
}

import ArgumentParser
import Foundation
import RecData
import RecEval
import RecModels

struct FeaturesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features",
        abstract: "Rank feature groups: leave-one-group-out ablation and greedy forward selection on validation.")

    @OptionGroup var data: DataOptions
    @OptionGroup var model: ModelOptions
    @Option(
        name: .long,
        help: """
            gen-rs, seq-loo, temporal or cold-user (groups: the item and user tables' columns, scored by validation \
            NDCG@10), or ctr with a click-through model (groups: the ctr fields user, item, context and sequence, \
            the ids always kept, scored by validation AUC).
            """)
    var `protocol`: String = "gen-rs"
    @OptionGroup var ctr: CTROptions
    @Option(name: .long, help: "Seed of the split.")
    var seed: UInt64 = 2020
    @Flag(name: .long, help: "Ablation only: skip greedy forward selection.")
    var noForward = false
    @Option(name: .long, help: "Write a self-contained HTML report with its charts to this file.")
    var report: String?
    @Flag(name: .long, help: "Print the result as JSON.")
    var json = false

    func validate() throws {
        if `protocol` == "ctr" { return _ = try ctrModelKind(model.model) }
        try refuseCTRModel(model.model)
        _ = try parseProtocol(`protocol`)
    }

    func run() throws {
        let progress = ProgressBar()
        try runReporting {
            if `protocol` == "ctr" {
                let result = try FeatureSelection.runCTR(
                    data: data.data, kind: try ctrModelKind(model.model), parameters: try model.parsedParameters,
                    split: try ctr.splitKind, seed: seed, forward: !noForward
                ) { printError(String(format: "%@: validation AUC %.4f", $0, $1)) }
                try writeReport(ReportHTML.render(result), to: report)
                print(json ? try jsonText(result) : Self.describe(result))
                return
            }
            var config = try data.experiment(protocol: `protocol`, seed: seed)
            config.model = try model.kind
            config.parameters = try model.parsedParameters
            let result = try FeatureSelection.run(config, forward: !noForward, progress: progress.handler) {
                printError(String(format: "%@: validation NDCG@10 %.4f", $0, $1))
            }
            try writeReport(ReportHTML.render(result), to: report)
            print(json ? try jsonText(result) : Self.describe(result))
        }
    }

    static func describe(_ result: FeatureSelectionResult) -> String {
        let rows = result.ablation.map {
            [$0.group.description, String(format: "%.4f", $0.without), String(format: "%+.4f", $0.contribution)]
        }
        var text = String(
            format: "%@, validation %@: all groups %.4f, none %.4f\n", result.model, result.objective, result.withAll,
            result.withNone)
        text += formatTable(header: ["group (most useful first)", "without it", "contribution"], rows: rows)
        if !result.forward.isEmpty {
            text += "\nforward selection: "
            text += result.forward.map { String(format: "+%@ → %.4f", $0.added.description, $0.objective) }
                .joined(separator: ", ")
        }
        return text
    }
}

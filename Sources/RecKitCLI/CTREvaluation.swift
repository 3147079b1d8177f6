import ArgumentParser
import Foundation
import RecData
import RecModels

/// The options only the `ctr` protocol reads (issue 46).
struct CTROptions: ParsableArguments {
    @Option(
        name: .long,
        help: """
            With --protocol ctr: random (seeded 8:1:1) or temporal (global time order 8:1:1). Its models: \
            \(CTRModelKind.allCases.map(\.rawValue).joined(separator: ", ")).
            """)
    var split: String = "random"

    var splitKind: CTRSplitKind {
        get throws {
            guard let kind = CTRSplitKind(rawValue: split) else {
                throw ValidationError("--split must be random or temporal")
            }
            return kind
        }
    }

    func validate() throws { _ = try splitKind }
}

extension ArgumentHelp {
    /// The help of `--protocol` where `ctr` is accepted too.
    static var evaluationProtocol: ArgumentHelp {
        let names = SplitProtocol.allCases.map(\.rawValue)
        return ArgumentHelp(
            "Split protocol: \(names.joined(separator: ", ")) or ctr (click-through; docs/protocols.md).")
    }
}

/// `--model` for the `ctr` protocol, with the error that names the kinds it takes.
func ctrModelKind(_ name: String) throws -> CTRModelKind {
    guard let kind = CTRModelKind(rawValue: name.lowercased()) else {
        throw ValidationError(
            "--protocol ctr takes --model \(CTRModelKind.allCases.map(\.rawValue).joined(separator: ", ")), not \(name)"
        )
    }
    return kind
}

/// Refuses a click-through model under a ranking protocol, before anything is loaded.
func refuseCTRModel(_ name: String) throws {
    if CTRModelKind(rawValue: name.lowercased()) != nil {
        throw ValidationError("\(name) is a click-through model: give --protocol ctr")
    }
}

extension EvaluateCommand {
    func validateCTR() throws {
        _ = try ctrModelKind(model.model)
        _ = try ctr.splitKind
        guard repeats >= 1 && repeats <= 1000 else { throw ValidationError("--repeats must be in 1...1000") }
        if repeats > 1 && saveModel != nil { throw ValidationError("--save-model takes a single run; drop --repeats") }
    }

    /// `evaluate --protocol ctr`: AUC, log loss and GAUC on the test part (and validation).
    func runCTR() throws {
        try runReporting {
            let kind = try ctrModelKind(model.model)
            var results: [CTRResult] = []
            for offset in 0..<UInt64(repeats) {
                let (result, ranker) = try CTRExperiment.run(
                    data: data.data, kind: kind, parameters: try model.parsedParameters, split: try ctr.splitKind,
                    seed: seed + offset
                ) { epoch in
                    printError(
                        String(
                            format: "epoch %d: loss %.4f, validation AUC %.4f, %.1f s", epoch.epoch, epoch.loss,
                            epoch.validationAUC, epoch.seconds))
                }
                if let saveModel { try ranker.save(to: URL(fileURLWithPath: saveModel)) }
                results.append(result)
            }
            if json {
                print(results.count == 1 ? try jsonText(results[0]) : try jsonText(results))
            } else {
                print(describeCTR(results))
            }
        }
    }

    func describeCTR(_ results: [CTRResult]) -> String {
        let first = results[0]
        func cell(_ values: [Double]) -> String {
            guard values.count == results.count else { return "n/a" }
            let mean = values.reduce(0, +) / Double(values.count)
            guard values.count > 1 else { return String(format: "%.4f", mean) }
            let squares = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
            return String(format: "%.4f ± %.4f", mean, (squares / Double(values.count - 1)).squareRoot())
        }
        let rows = ["auc", "logloss", "gauc"].map { name in
            [name, cell(results.compactMap { $0.test[name] }), cell(results.compactMap { $0.validation[name] })]
        }
        let seeds =
            results.count == 1
            ? "seed \(first.seed)" : "seeds \(first.seed)...\(first.seed + UInt64(results.count - 1))"
        let title =
            "\(first.model) on \(first.dataset), ctr \(first.split) (\(seeds)), train \(first.trainEvents), "
            + "validation \(first.validationEvents), test \(first.testEvents) events"
        let timing = results.map {
            String(
                format: "load %.2f s, fit %.2f s (%d epochs, best %d), evaluate %.2f s", $0.loadSeconds, $0.fitSeconds,
                $0.epochs.count, $0.bestEpoch, $0.evaluateSeconds)
        }
        return ([title, formatTable(header: ["metric", "test", "validation"], rows: rows)] + timing).joined(
            separator: "\n")
    }
}

extension DataCommand.Split {
    /// `data split --protocol ctr`: the split as CSV files with every feature (``CTRSplitFiles``).
    func runCTR() throws {
        try runReporting {
            let dataset = try CTRDataset.load(data.data)
            let split = dataset.split(try ctr.splitKind, seed: seed)
            try CTRSplitFiles.write(dataset, split: split, to: URL(fileURLWithPath: out))
            print(
                "train \(split.train.count), validation \(split.validation.count), test \(split.test.count) events → "
                    + "\(out)/{train,valid,test}.csv, items.csv")
        }
    }
}

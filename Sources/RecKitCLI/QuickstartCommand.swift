import ArgumentParser
import Foundation
import RecData
import RecEval
import RecModels

struct QuickstartCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quickstart",
        abstract:
            "Fetch ml-100k, compare models on gen-rs and sequence models on seq-loo, train one, show explained recommendations."
    )

    @Option(name: .long, help: "Data set to use.")
    var data: String = "ml-100k"
    @Option(name: .long, help: "Models to compare, comma-separated.")
    var models: String = "pop,itemknn,userknn,ease"
    @Option(
        name: .long,
        help: "Models to compare on seq-loo (next-item prediction), comma-separated; an empty list skips this step.")
    var sequenceModels: String = "pop,sasrec"
    @Option(name: .long, help: "Model to train on every event and recommend with.")
    var model: String = "ease"
    @Option(name: .long, help: "Where to save the trained model. (default: $RECKIT_DATA/models/DATA-MODEL)")
    var out: String?
    @Option(name: .long, help: "Users to show recommendations for (comma-separated ids).")
    var users: String = "1,2,3"

    func run() throws {
        let progress = ProgressBar()
        try runReporting {
            if DatasetCatalog.entries.contains(where: { $0.name == data }) {
                try DatasetCatalog.fetch(data, log: printError)
            }
            let config = ExperimentConfiguration(data: data)
            let prepared = try Experiment.prepare(config)
            let log = prepared.dataset.interactions
            print(
                "\(prepared.dataset.name): \(log.count) interactions, \(log.userCount) users, \(log.itemCount) items\n")
            print("gen-rs (seed \(config.seed)), full ranking over every item, test split:")
            try compare(models, config, prepared: prepared, progress: progress)
            if !sequenceModels.isEmpty {
                var sequential = config
                sequential.splitProtocol = .sequentialLeaveOneOut
                print("\nseq-loo: each user's last event is the test target, the one before it validation:")
                try compare(
                    sequenceModels, sequential, prepared: try Experiment.prepare(sequential), progress: progress)
            }

            let kind = try ModelKind(named: model)
            let bundle = try ModelBundle.train(
                kind, dataset: prepared.dataset,
                record: { seconds in
                    TrainingRecord(
                        dataset: prepared.dataset.name, interactions: log.count, users: log.userCount,
                        items: log.itemCount,
                        seconds: seconds)
                })
            let directory =
                out.map { URL(fileURLWithPath: $0) }
                ?? DatasetCatalog.cacheDirectory.appendingPathComponent(
                    "models/\(prepared.dataset.name)-\(kind.rawValue)")
            try bundle.save(to: directory)
            print("\ntrained \(kind.rawValue) on all \(log.count) events → \(directory.path)")
            for user in users.split(separator: ",").map({ UserID(String($0)) }) {
                guard let context = bundle.context(forUser: user) else { continue }
                let recent = context.history.suffix(3).map { bundle.itemTitles[Int($0)] }
                print("\nuser \(user) (\(context.history.count) items; recently \(recent.joined(separator: "; "))):")
                for (rank, entry) in try bundle.recommendations(user: user, history: [], count: 5, reasons: 2)
                    .enumerated()
                {
                    let reasons = entry.reasons.map {
                        String(format: "%@ %.2f", $0.title ?? $0.feature ?? "?", $0.weight)
                    }
                    print(
                        String(format: "  %d. %@  because: %@", rank + 1, entry.title, reasons.joined(separator: "; ")))
                }
            }
            if let toyStory = bundle.itemTitles.firstIndex(where: { $0.hasPrefix("Toy Story") }),
                let similar = try bundle.similarItems(to: ItemID(bundle.itemIDs.externalIDs[toyStory]), count: 5)
            {
                print("\nsimilar to \(bundle.itemTitles[toyStory]): \(similar.map(\.title).joined(separator: "; "))")
            }
            print("\nnext: reckit recommend --model \(directory.path) --user 1")
        }
    }

    /// Runs each model of `list` on `prepared` and prints one table row per model.
    func compare(
        _ list: String, _ configuration: ExperimentConfiguration, prepared: Experiment.PreparedData,
        progress: ProgressBar
    ) throws {
        var config = configuration
        var rows: [[String]] = []
        for name in list.split(separator: ",") {
            config.model = try ModelKind(named: String(name))
            let record = try Experiment.run(config, prepared: prepared, progress: progress.handler).record
            rows.append(
                [record.model]
                    + ["ndcg@10", "recall@10", "hit@10", "ndcg@20", "recall@20", "coverage@10"].map {
                        String(format: "%.4f", record.metrics[$0] ?? 0)
                    } + [String(format: "%.2f s", record.trainingSeconds)])
        }
        print(
            formatTable(
                header: ["model", "NDCG@10", "Recall@10", "Hit@10", "NDCG@20", "Recall@20", "Cov@10", "fit"],
                rows: rows))
    }
}

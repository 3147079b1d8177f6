import Foundation
import RecData
import RecModels
import Testing
import _RecTestSupport

@testable import RecEval

/// The synthetic generator plants structure that models find: on its log, item-kNN and SASRec
/// beat popularity at next-item prediction (`seq-loo`).
struct PlantedStructureTests {
    @Test func itemKNNAndSASRecBeatPopularityOnASyntheticLog() throws {
        let folder = temporaryDirectory("planted")
        var spec = SyntheticLog(users: 150, items: 120, events: 6_000, topics: 6, seed: 3)
        spec.chain = 0.5
        try spec.write(to: folder, name: "planted")
        var configuration = ExperimentConfiguration(data: folder.path)
        configuration.splitProtocol = .sequentialLeaveOneOut
        let prepared = try Experiment.prepare(configuration)
        func ndcg(_ model: ModelKind, _ parameters: [String: String] = [:]) throws -> Double {
            var run = configuration
            (run.model, run.parameters) = (model, parameters)
            return try Experiment.run(run, prepared: prepared).record.metrics["ndcg@10"] ?? 0
        }
        let popularity = try ndcg(.popularity)
        let itemKNN = try ndcg(.itemKNN)
        let sasrec = try ndcg(
            .sasrec,
            [
                "hidden_size": "16", "blocks": "1", "inner_size": "32", "max_length": "10", "epochs": "30",
                "batch_size": "32", "learning_rate": "0.01", "dropout": "0", "patience": "100",
            ])
        #expect(itemKNN > 1.5 * popularity, "itemknn \(itemKNN), pop \(popularity)")
        #expect(sasrec > 1.5 * popularity, "sasrec \(sasrec), pop \(popularity)")
    }
}

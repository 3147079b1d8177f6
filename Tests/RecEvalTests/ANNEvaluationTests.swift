import Foundation
import RecData
import RecModels
import RecRetrieval
import Testing
import _RecTestSupport

@testable import RecEval

/// `evaluate --retrieval ann`: the top-K lists come from the HNSW index, with masks applied inside
/// the search, and are reported as such.
struct ANNEvaluationTests {
    @Test func annTopKListsScoreAsExactRankingOnASmallCatalogue() throws {
        let folder = temporaryDirectory("ann-eval")
        try SyntheticLog(users: 300, items: 400, events: 9_000, seed: 4).write(to: folder, name: "ann")
        var configuration = ExperimentConfiguration(data: folder.path)
        configuration.model = .als
        configuration.parameters = ["factors": "16", "iterations": "5"]
        configuration.evaluation.keepLists = true
        let prepared = try Experiment.prepare(configuration)
        let exact = try Experiment.run(configuration, prepared: prepared)
        // At a fixed width of 256 (the calibration's ladder would choose the narrowest width
        // that reaches recall 0.95, and this test holds the lists to exact ranking's).
        configuration.retrieval = RetrievalOptions(mode: .ann, calibration: CalibrationRequest(ladder: [256]))
        let ann = try Experiment.run(configuration, prepared: prepared)
        #expect(ann.record.sampling == "full, ANN top-K (hnswlib ip M 16 efC 200 ef 256, exact head 4096)")
        #expect(exact.record.sampling == "full")
        // gen-rs masks each user's training items: the index must fetch past them.
        let cases = Evaluator.cases(for: prepared.split, phase: .test)
        let lists = try #require(ann.result.lists)
        for (testCase, list) in zip(cases, lists) {
            #expect(list.count == 20)
            #expect(Set(list.map(\.item)).isDisjoint(with: testCase.mask))
        }
        for (name, value) in exact.record.metrics where name.hasPrefix("ndcg") || name.hasPrefix("recall") {
            #expect(abs((ann.record.metrics[name] ?? -1) - value) < 1e-9, "\(name)")
        }
        // Nearly the same items (near-ties may swap: the scores differ in the last bits, BLAS
        // against a dot loop, and HNSW is approximate).
        let exactLists = try #require(exact.result.lists)
        let shared = zip(exactLists, lists).map { Set($0.0.map(\.item)).intersection($0.1.map(\.item)).count }
        let overlap = Double(shared.reduce(0, +)) / Double(20 * lists.count)
        #expect(overlap >= 0.98, "\(overlap)")
    }
}

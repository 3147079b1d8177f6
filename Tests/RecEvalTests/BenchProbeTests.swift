import Foundation
import RecData
import RecModels
import RecRetrieval
import Testing
import _RecTestSupport

@testable import RecEval

/// The measurements behind `reckit bench ann` and `reckit bench warm-start`.
struct BenchProbeTests {
    func als(_ log: InteractionLog) throws -> ModelBundle {
        try ModelBundle.train(
            .als, parameters: ["factors": "8", "iterations": "5"], dataset: Dataset(name: "board", interactions: log)
        ) {
            TrainingRecord(
                dataset: "board", interactions: log.count, users: log.userCount, items: log.itemCount, seconds: $0)
        }
    }

    /// A search as wide as the catalogue finds exact scoring's top items; one row per width, in
    /// order, over the sampled users.
    @Test func annRecallAtAFullWidthIsExactScoringsAndRowsFollowTheWidths() throws {
        let (log, _) = Fixtures.checkerboard()
        let bundle = try als(log)
        let source = try #require(bundle.model as? any InnerProductRetrieval)
        let index = try ItemIndex(items: try source.retrievalItems())
        let report = try ANNProbe.measure(bundle, index: index, users: 50, seed: 3, count: 3, widths: [1, 64])
        #expect(report.rows.map(\.ef) == [1, 64])
        #expect(report.users == 24 && report.items == 24 && report.model == "als")
        #expect(report.rows[1].recall == 1)
        #expect(report.rows.allSatisfy { $0.recall >= 0 && $0.recall <= 1 && $0.p50 <= $0.p99 })
        #expect(report.exactP50 <= report.exactP99)
    }

    @Test func annRefusesAModelWithoutInnerProducts() throws {
        let (log, _) = Fixtures.checkerboard()
        let pop = try ModelBundle.train(.popularity, dataset: Dataset(name: "board", interactions: log)) {
            TrainingRecord(dataset: "board", interactions: log.count, users: 24, items: 24, seconds: $0)
        }
        let index = try ItemIndex(
            items: try #require(try als(log).model as? any InnerProductRetrieval).retrievalItems())
        #expect(throws: RetrievalError.self) {
            try ANNProbe.measure(pop, index: index, users: 5, seed: 3, count: 3, widths: [8])
        }
    }

    /// The previous model sees fewer events than the retrained ones, by the added fraction; both
    /// retrains are scored on the same held-out users.
    @Test func warmStartTrainsThePreviousModelOnFewerEventsAndScoresBothRetrains() throws {
        let log = Fixtures.randomLog(users: 60, items: 40, eventsPerUser: 8...12, seed: 5)
        let dataset = Dataset(name: "random", interactions: log)
        let report = try WarmStartProbe.measure(
            dataset, kind: .als, parameters: ["factors": "4", "iterations": "3"], warmIterations: 1, added: 0.1,
            repeats: 1)
        #expect(report.events == log.count)
        #expect(report.retrainedEvents - report.previousEvents == Int(Double(log.count) * 0.1))
        #expect(report.heldOutUsers > 0)
        #expect(report.full.users == report.warm.users && report.full.users == report.previous.users)
        #expect(throws: WarmStartProbe.NoWarmStart.self) {
            try WarmStartProbe.measure(
                dataset, kind: .popularity, parameters: [:], warmIterations: 1, added: 0.1, repeats: 1)
        }
    }
}

import Foundation
import RecData
import RecModels
import Tensors
import Testing
import _RecTestSupport

@testable import RecRetrieval

/// Every model that claims `InnerProductRetrieval` scores exactly `query · item vector`, so an
/// index over its vectors ranks as the model does; models that do not score that way refuse
/// `--retrieval ann`.
struct InnerProductModelsTests {
    static let parameters: [ModelKind: [String: String]] = [
        .als: ["factors": "8", "iterations": "3"],
        .bpr: ["factors": "8", "iterations": "3"],
        .hybrid: ["factors": "8", "epochs": "3"],
        .textCNN: ["factors": "8", "epochs": "2"],
        .sasrec: ["epochs": "1", "hidden_size": "16", "max_length": "8"],
        .gru4rec: ["epochs": "1", "hidden_size": "16", "embedding_size": "16", "max_length": "8"],
        .lstm: ["epochs": "1", "hidden_size": "16", "embedding_size": "16", "max_length": "8"],
        .caser: ["epochs": "1", "hidden_size": "16", "max_length": "5"],
    ]

    @Test(arguments: [ModelKind.als, .bpr, .hybrid, .textCNN, .sasrec, .gru4rec, .lstm, .caser])
    func queriesTimesItemVectorsAreTheModelsScores(kind: ModelKind) throws {
        let log = Fixtures.randomLog(users: 30, items: 25, eventsPerUser: 4...12, seed: 12)
        var model = try kind.make(parameters: Self.parameters[kind] ?? [:])
        try model.fit(TrainingData(log: log, itemFeatures: Fixtures.itemFeatures(for: log)), progress: nil)
        let source = try #require(model as? any InnerProductRetrieval)
        let items = try source.retrievalItems()
        #expect(items.rows == log.itemCount)
        let histories = log.chronologicalEventsByUser().map { $0.map { log.items[$0] } }
        let contexts =
            (0..<6).map { ScoringContext(user: Int32($0), history: histories[$0]) }
            + [ScoringContext(history: [3, 7, 7, 1])]
        let queries = try source.retrievalQueries(contexts)
        #expect(queries.rows == contexts.count && queries.columns == items.columns)
        for (r, context) in contexts.enumerated() {
            var scores: [Float] = []
            try model.score(context, into: &scores)
            let products = (0..<items.rows).map { i in
                zip(queries.row(r), items.row(i)).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            }
            #expect(allClose(products, scores, rtol: 1e-4, atol: 1e-4), "\(kind) context \(r)")
        }
    }

    @Test func modelsThatDoNotScoreByInnerProductRefuseTheIndex() throws {
        let log = Fixtures.randomLog(users: 20, items: 15, eventsPerUser: 3...8, seed: 13)
        var model = try ModelKind.itemKNN.make(parameters: [:])
        try model.fit(TrainingData(log: log), progress: nil)
        #expect(throws: RetrievalError.self) { try RetrievalOptions(mode: .ann).usesIndex(for: model) }
        #expect(try !RetrievalOptions(mode: .auto, threshold: 1).usesIndex(for: model))
        let retriever = try Retriever.prepare(
            model: model, options: RetrievalOptions(mode: .auto), directory: nil,
            sample: { _ in CalibrationSample(queries: Matrix(rows: 0, columns: 0), seen: []) })
        #expect(retriever.index == nil)
    }
}

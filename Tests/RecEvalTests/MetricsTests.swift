import Foundation
import RecData
import RecModels
import Tensors
import Testing
import _RecTestSupport

@testable import RecEval

struct MetricsTests {
    /// A full row, hand-ranked: targets 1 and 3 score 0.5 and 0.9; item 4 (0.9) is masked, item 0
    /// ties with target 1 and counts against it, as does the other target (3, above it).
    @Test func ranksInAFullRowCountTiesAgainstTheTargetAndSkipMaskedItems() {
        let row: [Float] = [0.5, 0.5, 0.2, 0.9, 0.9, .nan]
        #expect(Metrics.ranks(of: [1, 3], in: row[...], masked: [4]) == [3, 1])
        #expect(Metrics.ranks(of: [4, 5], in: row[...], masked: [4]) == [Int.max, Int.max])
        // The same ranks as the evaluator's top-k rule.
        let top = row.enumerated().filter { $0.offset != 4 && !$0.element.isNaN }.map(\.element).sorted(by: >)
        #expect(Metrics.rank(of: row[1], top: top, limit: 5) == 3)
        // A slice of a batch keeps its own indices.
        let batch: [Float] = [9, 9] + row
        #expect(Metrics.ranks(of: [1, 3], in: batch[2...], masked: [4]) == [3, 1])
    }

    /// Hand-computed: two held-out items at ranks 1 and 3, k = 3.
    /// recall 2/2, precision 2/3, dcg = 1 + 1/log2(4) = 1.5, idcg = 1 + 1/log2(3), mrr 1.
    @Test func twoTargetsHandComputed() {
        let values = Metrics.atK(3, ranks: [1, 3])
        let idcg = 1 + 1 / log2(3.0)
        #expect(values[0] == 1)
        #expect(abs(values[1] - 2.0 / 3) < 1e-12)
        #expect(abs(values[2] - 1.5 / idcg) < 1e-12)
        #expect(values[3] == 1)
        #expect(values[4] == 1)
    }

    @Test func missesAndPartialHits() {
        // One of three held-out items found, at rank 2, k = 2: idcg over min(3, 2) = 2 positions.
        let values = Metrics.atK(2, ranks: [2, 5, Int.max])
        #expect(abs(values[0] - 1.0 / 3) < 1e-12)
        #expect(abs(values[1] - 0.5) < 1e-12)
        #expect(abs(values[2] - (1 / log2(3.0)) / (1 + 1 / log2(3.0))) < 1e-12)
        #expect(values[3] == 0.5)
        #expect(Metrics.atK(2, ranks: [3, 4]) == [0, 0, 0, 0, 0])
    }

    @Test func perfectRankingHasNDCGOne() {
        for n in 1...12 {
            let values = Metrics.atK(10, ranks: Array(1...n))
            #expect(abs(values[2] - 1) < 1e-12)
        }
    }

    @Test func rankCountsTiesAgainstTheTarget() {
        // Scores (descending) 5, 4, 4, 4, 1; a target scoring 4 ties with two others → rank 4.
        #expect(Metrics.rank(of: 4, top: [5, 4, 4, 4, 1], limit: 10) == 4)
        #expect(Metrics.rank(of: 5, top: [5, 4, 4, 4, 1], limit: 10) == 1)
        // With limit 3, top holds limit + 1 = 4 scores; the 4th is 4 ≥ target → beyond the limit.
        #expect(Metrics.rank(of: 4, top: [5, 4, 4, 4], limit: 3) == Int.max)
        #expect(Metrics.rank(of: .nan, top: [5], limit: 3) == Int.max)
    }

    @Test func coverageAndGiniByHand() {
        // Items 0..3; lists recommend item 0 twice and item 1 once: coverage 2/4.
        #expect(Metrics.coverage([[0, 1], [0]], itemCount: 4) == 0.5)
        // Counts sorted [0, 0, 1, 2], n = 4, total 3: Σ (2i - n - 1) c_i = (1)(1) + (3)(2) = 7 → 7 / 12.
        #expect(abs(Metrics.gini([[0, 1], [0]], itemCount: 4) - 7.0 / 12) < 1e-12)
        #expect(Metrics.gini([[0], [1], [2], [3]], itemCount: 4) == 0)
    }
}

/// A scorer with a fixed score table, for evaluator tests.
struct TableScorer: Recommender {
    static let kind = ModelKind.random
    var table: [Float]
    init(parameters: [String: String]) throws { table = [] }
    init(_ table: [Float]) { self.table = table }
    var parameters: [String: String] { [:] }
    var itemCount: Int { table.count }
    mutating func fit(_ data: TrainingData, progress: ProgressHandler?) throws {}
    func score(_ context: ScoringContext, into scores: inout [Float]) throws { scores = table }
    func similarItems(to item: Int32, count: Int) throws -> [ScoredItem] { [] }
    func explain(_ context: ScoringContext, item: Int32, count: Int) throws -> [Contribution] { [] }
    func weights() throws -> [String: SafeTensor] { [:] }
    mutating func load(weights: [String: SafeTensor]) throws {}
}

struct EvaluatorTests {
    @Test func constantScorerRanksLastAndMaskIsApplied() throws {
        let cases = [EvaluationCase(user: 0, history: [0], targets: [3], mask: [0])]
        var options = EvaluationOptions()
        options.ks = [1, 3]
        let constant = try Evaluator.evaluate(TableScorer([1, 1, 1, 1, 1]), cases: cases, options: options)
        #expect(constant.metrics["hit@3"] == 0)
        // Scores 9 (masked), 1, 2, 5, 3: target 3 scores 5 and is first once item 0 is masked.
        let planted = try Evaluator.evaluate(TableScorer([9, 1, 2, 5, 3]), cases: cases, options: options)
        #expect(planted.metrics["ndcg@1"] == 1)
        #expect(planted.metrics["mrr@3"] == 1)
    }

    @Test func multipleTargetsMatchHandComputedMetrics() throws {
        // Scores: item 4 > 3 > 2 > 1 > 0; targets 3 and 1 → ranks 2 and 4; k = 3.
        let cases = [EvaluationCase(user: 0, history: [], targets: [3, 1], mask: [])]
        var options = EvaluationOptions()
        options.ks = [3]
        let result = try Evaluator.evaluate(TableScorer([0, 1, 2, 3, 4]), cases: cases, options: options)
        let expected = Metrics.atK(3, ranks: [2, 4])
        #expect(result.metrics["recall@3"] == expected[0])
        #expect(result.metrics["ndcg@3"] == expected[2])
        #expect(abs(expected[2] - (1 / log2(3.0)) / (1 + 1 / log2(3.0))) < 1e-12)
    }

    @Test func casesFollowTheProtocols() throws {
        let log = InteractionLog(
            pairs: [("a", "x"), ("a", "y"), ("a", "z"), ("a", "w"), ("b", "x")], timestamps: [1, 2, 3, 4, 1])
        let seq = try DataSplit.make(.sequentialLeaveOneOut, log: log)
        let test = Evaluator.cases(for: seq, phase: .test, historyLimit: 2)
        #expect(test == [EvaluationCase(user: 0, history: [1, 2], targets: [3], mask: [], historyBaskets: [1, 2])])
        let valid = Evaluator.cases(for: seq, phase: .validation)
        #expect(valid == [EvaluationCase(user: 0, history: [0, 1], targets: [2], mask: [], historyBaskets: [0, 1])])
    }

    @Test func batchedEvaluationEqualsPerUserTopK() throws {
        let log = Fixtures.randomLog(users: 30, items: 40, eventsPerUser: 5...20, seed: 9)
        let split = try DataSplit.make(.generalRandom, log: log, seed: 3)
        var model = try ModelKind.itemKNN.make(parameters: ["k": "10"])
        try model.fit(TrainingData(log: split.trainingLog()), progress: nil)
        let cases = Evaluator.cases(for: split, phase: .test)
        var options = EvaluationOptions()
        options.keepLists = true
        options.batchSize = 7
        let result = try Evaluator.evaluate(model, cases: cases, options: options)
        for (testCase, list) in zip(cases, result.lists ?? []) {
            var scores: [Float] = []
            try model.score(ScoringContext(user: testCase.user, history: testCase.history), into: &scores)
            // Top-k equals the prefix of a full sort (score descending, index ascending), mask removed.
            let masked = Set(testCase.mask)
            let sorted = scores.indices.filter { !masked.contains(Int32($0)) }
                .sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
            #expect(list.map(\.item) == sorted.prefix(20).map { Int32($0) })
        }
        for value in result.metrics.values { #expect(value >= 0 && value <= 1) }
    }

    @Test func sampledNegativesAreSeededAndRankWithinTheSample() throws {
        let cases = [EvaluationCase(user: 0, history: [], targets: [0], mask: [])]
        var options = EvaluationOptions()
        options.sampling = .uniform
        options.negatives = 5
        options.ks = [1, 6]
        // The target scores lowest of 50 items: ranked against 5 negatives it is 6th.
        let scores = [Float(0)] + (1..<50).map(Float.init)
        let result = try Evaluator.evaluate(TableScorer(scores), cases: cases, options: options)
        #expect(result.metrics["hit@1"] == 0)
        #expect(result.metrics["mrr@6"] == 1.0 / 6)
        let again = try Evaluator.evaluate(TableScorer(scores), cases: cases, options: options)
        #expect(again.metrics == result.metrics)
    }
}

struct ColdItemProtocolTests {
    /// Test users rank the new items only: every other item is masked, the targets are new items,
    /// and the history is the user's training items.
    @Test func casesRankTheNewItemsOnly() throws {
        let log = Fixtures.randomLog(users: 40, items: 30, eventsPerUser: 5...15, seed: 12)
        let split = try DataSplit.make(.coldItem, log: log, seed: 5)
        let newItems = Set(split.test.map { log.items[$0] })
        let cases = Evaluator.cases(for: split, phase: .test)
        #expect(!cases.isEmpty)
        let train = Set(split.train)
        for item in cases {
            #expect(Set(item.mask) == Set((0..<Int32(log.itemCount)).filter { !newItems.contains($0) }))
            #expect(item.targets.allSatisfy { newItems.contains($0) })
            let trainingItems = log.chronologicalEventsByUser()[Int(item.user)].filter { train.contains($0) }
                .map { log.items[$0] }
            #expect(item.history == trainingItems)
        }
    }
}

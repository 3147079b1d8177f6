import Foundation
import RecData
import RecModels
import Testing
import _RecTestSupport

@testable import RecEval

/// The `next-basket` protocol's cases and its repeat/explore metrics (Li et al., TOIS 2023).
struct NextBasketTests {
    @Test func repeatAndExploreFiguresMatchAHandComputedCase() throws {
        // History {0, 1}; targets 0 (repeat), 2 and 3 (explore). Scores rank 2, 4, 0, 1, 3.
        let cases = [EvaluationCase(user: 0, history: [0, 1], targets: [0, 2, 3], mask: [])]
        var options = EvaluationOptions()
        options.ks = [1, 3]
        options.repeatSplit = true
        let result = try Evaluator.evaluate(TableScorer([7, 6, 9, 1, 8]), cases: cases, options: options)
        let m = result.metrics
        // @3: the top 3 is 2, 4, 0; hits 2 (rank 1) and 0 (rank 3).
        #expect(abs((m["recall@3"] ?? -1) - 2.0 / 3) < 1e-12)
        #expect(m["phr@3"] == 1)
        #expect(m["recall_rep@3"] == 1)
        // The repeat target sits at rank 3; its IDCG is one item at rank 1.
        #expect(abs((m["ndcg_rep@3"] ?? -1) - 1 / log2(4.0)) < 1e-12)
        #expect(m["recall_expl@3"] == 0.5)
        // Explore: 2 at rank 1 among two explore targets, IDCG over 2 positions.
        #expect(abs((m["ndcg_expl@3"] ?? -1) - 1 / (1 + 1 / log2(3.0))) < 1e-12)
        // @1: only 2, an explore target.
        #expect(m["recall_rep@1"] == 0 && m["recall_expl@1"] == 0.5)
        #expect(m["users_rep"] == 1 && m["users_expl"] == 1)
        // Without the option the figures are not reported.
        options.repeatSplit = false
        #expect(
            try Evaluator.evaluate(TableScorer([7, 6, 9, 1, 8]), cases: cases, options: options)
                .metrics["recall_rep@3"] == nil)
    }

    @Test func aUserWithoutRepeatTargetsIsLeftOutOfTheRepeatMean() throws {
        let cases = [
            EvaluationCase(user: 0, history: [0], targets: [0], mask: []),
            EvaluationCase(user: 1, history: [1], targets: [2], mask: []),
        ]
        var options = EvaluationOptions()
        options.ks = [1]
        options.repeatSplit = true
        let m = try Evaluator.evaluate(TableScorer([3, 2, 1]), cases: cases, options: options).metrics
        #expect(m["recall_rep@1"] == 1 && m["recall_expl@1"] == 0)
        #expect(m["recall@1"] == 0.5)
    }

    @Test func casesCarryTheHistoryWithItsBasketsAndNoMask() throws {
        let log = InteractionLog(
            pairs: [("u", "a"), ("u", "b"), ("u", "c"), ("u", "a"), ("u", "d")], timestamps: [1, 1, 2, 3, 3])
        let split = try DataSplit.make(.nextBasket, log: log)
        let test = Evaluator.cases(for: split, phase: .test)
        #expect(test.count == 1)
        #expect(test[0].history == [0, 1, 2])
        #expect(test[0].historyBaskets == [0, 0, 1])
        #expect(test[0].targets == [0, 3] && test[0].mask.isEmpty)
        #expect(test[0].context.historyBaskets == [[0, 1], [2]])
        let validation = Evaluator.cases(for: split, phase: .validation)
        #expect(validation[0].history == [0, 1] && validation[0].targets == [2])
    }
}

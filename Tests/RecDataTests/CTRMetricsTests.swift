import Foundation
import Testing

@testable import RecData

/// AUC, log loss and GAUC of the `ctr` protocol against pair counting and hand values (issue 46).
struct CTRMetricsTests {
    /// The reference: every (positive, negative) pair, a tie counting one half.
    func pairCountingAUC(_ scores: [Float], _ labels: [Float]) -> Double? {
        var (wins, pairs) = (0.0, 0.0)
        for i in scores.indices where labels[i] == 1 {
            for j in scores.indices where labels[j] == 0 {
                wins += scores[i] > scores[j] ? 1 : scores[i] == scores[j] ? 0.5 : 0
                pairs += 1
            }
        }
        return pairs > 0 ? wins / pairs : nil
    }

    /// Values from pure Python (no NumPy), `s=[0.1,0.4,0.35,0.8,0.4,0.7]; t=[0,0,1,1,1,0]`:
    /// `sum((p>n)+0.5*(p==n) for p in P for n in N)/(len(P)*len(N))` = 0.6111111111111112,
    /// `-sum(b*math.log(a)+(1-b)*math.log(1-a) for a,b in zip(s,t))/6` = 0.6682358919061325;
    /// users `[1,1,1,2,2,2]` each have AUC 0.5, so GAUC is 0.5.
    @Test func handValues() throws {
        let scores: [Float] = [0.1, 0.4, 0.35, 0.8, 0.4, 0.7]
        let labels: [Float] = [0, 0, 1, 1, 1, 0]
        let auc = try #require(CTRMetrics.auc(scores: scores, labels: labels))
        #expect(abs(auc - 0.6111111111111112) < 1e-12)
        // Float32 inputs: the probabilities are not exactly the Python doubles.
        #expect(abs(CTRMetrics.logLoss(probabilities: scores, labels: labels) - 0.6682358919061325) < 1e-6)
        let gauc = try #require(CTRMetrics.gauc(scores: scores, labels: labels, users: [1, 1, 1, 2, 2, 2]))
        #expect(abs(gauc - 0.5) < 1e-12)
        // sklearn's documented example: roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) = 0.75.
        #expect(CTRMetrics.auc(scores: [0.1, 0.4, 0.35, 0.8], labels: [0, 0, 1, 1]) == 0.75)
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func aucEqualsPairCountingWithTies(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        // Scores on a coarse grid, so that many tie.
        let scores = (0..<60).map { _ in Float(generator.nextInt(below: 8)) / 8 }
        let labels = (0..<60).map { _ in Float(generator.nextInt(below: 2)) }
        let expected = try #require(pairCountingAUC(scores, labels))
        let auc = try #require(CTRMetrics.auc(scores: scores, labels: labels))
        #expect(abs(auc - expected) < 1e-12)
        // GAUC: the event-weighted mean of each user's pair-counting AUC, one-class users skipped.
        let users = (0..<60).map { _ in Int32(generator.nextInt(below: 6)) }
        var (weighted, weight) = (0.0, 0.0)
        for user in Set(users) {
            let mine = users.indices.filter { users[$0] == user }
            guard let value = pairCountingAUC(mine.map { scores[$0] }, mine.map { labels[$0] }) else { continue }
            weighted += value * Double(mine.count)
            weight += Double(mine.count)
        }
        let gauc = try #require(CTRMetrics.gauc(scores: scores, labels: labels, users: users))
        #expect(abs(gauc - weighted / weight) < 1e-12)
    }

    @Test func edgeCases() {
        #expect(CTRMetrics.auc(scores: [0.3, 0.9], labels: [1, 1]) == nil)
        #expect(CTRMetrics.auc(scores: [0.5, 0.5], labels: [1, 0]) == 0.5)
        #expect(CTRMetrics.gauc(scores: [0.1, 0.2], labels: [0, 1], users: [1, 2]) == nil)
        // Clipping keeps a certain wrong answer finite: -log(1e-7).
        let clipped = CTRMetrics.logLoss(probabilities: [0, 1], labels: [1, 0])
        #expect(abs(clipped - -log(1e-7)) < 1e-9)
        #expect(CTRMetrics.logLoss(probabilities: [], labels: []).isNaN)
    }
}

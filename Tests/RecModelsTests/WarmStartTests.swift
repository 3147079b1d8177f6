import Foundation
import RecData
import Tensors
import Testing
import _RecTestSupport

@testable import RecModels

/// ALS continued from a previous model's factors: rows are matched by identifier, new users and
/// items get rows, and a few iterations land where a full retrain does.
struct WarmStartTests {
    /// ALS's objective (Hu, Koren & Volinsky) on `log` with α = 1 and λ = 0.01, in Float64.
    static func loss(_ model: ALS, _ log: InteractionLog) -> Double {
        var counts = [Int: Double]()
        for e in 0..<log.count { counts[Int(log.users[e]) * log.itemCount + Int(log.items[e]), default: 0] += 1 }
        let n = model.factors
        let (x, y) = (model.userFactors.storage, model.itemFactors.storage)
        var total = 0.0
        for u in 0..<log.userCount {
            for i in 0..<log.itemCount {
                var dot = 0.0
                for c in 0..<n { dot += Double(x[u * n + c]) * Double(y[i * n + c]) }
                let r = counts[u * log.itemCount + i] ?? 0
                let (confidence, preference) = r > 0 ? (r, 1.0) : (1.0, 0.0)
                total += confidence * (preference - dot) * (preference - dot)
            }
        }
        let norms = x.reduce(0.0) { $0 + Double($1) * Double($1) } + y.reduce(0.0) { $0 + Double($1) * Double($1) }
        return total + 0.01 * norms
    }

    @Test func aWarmStartMatchesRowsByIdentifierAndConvergesInFewIterations() throws {
        let old = Fixtures.randomLog(users: 60, items: 40, eventsPerUser: 4...12, seed: 5)
        // The new log: the same events, a few more, one new user and one new item, and the ids
        // in another order (so rows must be matched by identifier, not by index).
        var pairs = (0..<old.count).reversed().map {
            (user: old.userIDs[old.users[$0]], item: old.itemIDs[old.items[$0]])
        }
        pairs += [("newcomer", old.itemIDs[0]), ("newcomer", "new-item"), (old.userIDs[0], "new-item")]
        let log = InteractionLog(pairs: pairs)
        let parameters = ["factors": "8", "iterations": "15"]
        var previous = try ALS(parameters: parameters)
        try previous.fit(TrainingData(log: old))
        var full = try ALS(parameters: parameters)
        try full.fit(TrainingData(log: log))

        var data = TrainingData(log: log)
        data.warmStart = WarmStart(
            userIDs: old.userIDs, userFactors: previous.userFactors, itemIDs: old.itemIDs,
            itemFactors: previous.itemFactors, iterations: 2)
        var warm = try ALS(parameters: parameters)
        let steps = StepLog()
        try warm.fit(data) { _, done, _ in steps.append(done) }
        #expect(steps.values == [1, 2])
        #expect(warm.itemCount == log.itemCount && warm.userFactors.rows == log.userCount)
        var cold = try ALS(parameters: ["factors": "8", "iterations": "2"])
        try cold.fit(TrainingData(log: log))
        // Two iterations from the previous factors reach the loss of fifteen from scratch; two
        // from scratch do not.
        let (warmLoss, coldLoss, fullLoss) = (Self.loss(warm, log), Self.loss(cold, log), Self.loss(full, log))
        #expect(warmLoss <= 1.02 * fullLoss, "warm \(warmLoss), full \(fullLoss)")
        #expect(coldLoss > 1.1 * fullLoss, "cold \(coldLoss), full \(fullLoss)")
        // Rows were matched by identifier: a known item's factors moved little from the previous
        // model's row for the same id.
        let item = old.itemIDs[3]
        let (newRow, oldRow) = (try #require(log.itemIDs.index(of: item)), Int32(3))
        let n = 8
        var moved = 0.0
        var size = 0.0
        for c in 0..<n {
            let (a, b) = (
                warm.itemFactors.storage[Int(newRow) * n + c], previous.itemFactors.storage[Int(oldRow) * n + c]
            )
            moved += Double(a - b) * Double(a - b)
            size += Double(b) * Double(b)
        }
        #expect(moved < 0.25 * size, "moved \(moved) of \(size)")
    }
}

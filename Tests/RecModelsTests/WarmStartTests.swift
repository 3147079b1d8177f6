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

    /// The share of checkerboard users whose best unseen item is the one withheld from their own
    /// block: the structure a fitted model finds.
    static func hitRate(_ model: any Recommender, _ log: InteractionLog, _ withheld: [Int32], users: IDMap) throws
        -> Double
    {
        var hits = 0
        for user in 0..<log.userCount {
            let index = try #require(users.index(of: log.userIDs[Int32(user)]))
            let seen = Set((0..<log.count).filter { log.users[$0] == Int32(user) }.map { log.items[$0] })
            let top = try model.recommend(ScoringContext(user: index, history: []), count: 1, excluding: seen)
            if top.first?.item == withheld[user] { hits += 1 }
        }
        return Double(hits) / Double(log.userCount)
    }

    @Test func bprContinuesFromThePreviousFactors() throws {
        let (log, withheld) = Fixtures.checkerboard()
        let parameters = ["factors": "8", "iterations": "300", "learning_rate": "0.05"]
        var previous = try BPR(parameters: parameters)
        try previous.fit(TrainingData(log: log))
        var data = TrainingData(log: log)
        data.warmStart = WarmStart(
            userIDs: log.userIDs, userFactors: previous.userFactors, itemIDs: log.itemIDs,
            itemFactors: previous.itemFactors, iterations: 1)
        var warm = try BPR(parameters: parameters)
        try warm.fit(data)
        var cold = try BPR(parameters: ["factors": "8", "iterations": "1", "learning_rate": "0.05"])
        try cold.fit(TrainingData(log: log))
        let rates = (
            previous: try Self.hitRate(previous, log, withheld, users: log.userIDs),
            warm: try Self.hitRate(warm, log, withheld, users: log.userIDs),
            cold: try Self.hitRate(cold, log, withheld, users: log.userIDs)
        )
        #expect(rates.previous >= 0.9, "\(rates)")
        #expect(rates.warm >= 0.9, "\(rates)")
        #expect(rates.cold < 0.6, "\(rates)")
    }
}

/// Warm starts of the neural and hybrid models: with a learning rate too small to move anything,
/// the warm model's weights are the previous model's, each row under the identifier it belonged
/// to, while the new log orders identifiers differently and adds a user and an item.
struct WeightWarmStartTests {
    /// `old`'s events in reverse, then a new user and a new item: every index moves.
    static func reordered(_ old: InteractionLog) -> InteractionLog {
        var pairs = (0..<old.count).reversed().map {
            (user: old.userIDs[old.users[$0]], item: old.itemIDs[old.items[$0]])
        }
        pairs += [("newcomer", old.itemIDs[0]), ("newcomer", "new-item"), (old.userIDs[0], "new-item")]
        return InteractionLog(pairs: pairs)
    }

    /// Row `row` of a `(rows, width)` tensor.
    static func row(_ tensor: SafeTensor?, _ row: Int) throws -> [Float] {
        let tensor = try #require(tensor)
        let width = tensor.shape.dropFirst().reduce(1, *)
        return Array(try tensor.floats()[row * width..<(row + 1) * width])
    }

    static func close(_ a: [Float], _ b: [Float]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-5 }
    }

    @Test(arguments: [ModelKind.sasrec, .caser])
    func sequenceModelsContinueFromThePreviousWeightsByIdentifier(kind: ModelKind) throws {
        let (old, _) = Fixtures.cycles()
        let log = Self.reordered(old)
        var previous = try kind.make(parameters: SequenceModelTests.small(kind, ["epochs": "2"]))
        try previous.fit(TrainingData(log: old), progress: nil)
        var data = TrainingData(log: log)
        data.warmStart = WarmStart(
            userIDs: old.userIDs, itemIDs: old.itemIDs, weights: try previous.weights(), iterations: 1)
        var warm = try kind.make(parameters: SequenceModelTests.small(kind, ["learning_rate": "1e-9"]))
        try warm.fit(data, progress: nil)
        #expect(warm.epochs.count == 1, "the warm start's own epoch count")
        let (before, after) = (try previous.weights(), try warm.weights())
        for (name, tensor) in before where name != "reckit.counts" {
            let now = try #require(after[name])
            switch name {
            case "item_embedding.weight":
                #expect(now.shape[0] == log.itemCount + 1)
                for (index, id) in old.itemIDs.externalIDs.enumerated() {
                    let moved = try #require(log.itemIDs.index(of: id))
                    #expect(Self.close(try Self.row(now, Int(moved) + 1), try Self.row(tensor, index + 1)), "\(id)")
                }
            case "user_embedding.weight":
                #expect(now.shape[0] == log.userCount + 1)
                for (index, id) in old.userIDs.externalIDs.enumerated() {
                    let moved = try #require(log.userIDs.index(of: id))
                    #expect(Self.close(try Self.row(now, Int(moved)), try Self.row(tensor, index)), "\(id)")
                }
            default:
                #expect(Self.close(try now.floats(), try tensor.floats()), "\(name)")
            }
        }
        // Another width cannot continue: the model trains cold, for its own epochs.
        var other = try kind.make(parameters: SequenceModelTests.small(kind, ["hidden_size": "8", "epochs": "2"]))
        try other.fit(data, progress: nil)
        #expect(other.epochs.count == 2)
    }

    @Test func theHybridContinuesByIdentifierAndByFeatureName() throws {
        let old = FeatureModelTests.dataset()
        let log = Self.reordered(old.interactions)
        // The new log's items in its own order, with a genre no item had before for the new one.
        let genres = log.itemIDs.externalIDs.map { $0 == "new-item" ? ["G9"] : ["G\($0.dropFirst().prefix(1))"] }
        let items = FeatureTable(
            keyField: "item_id", keys: log.itemIDs.externalIDs,
            columns: [FeatureColumn(name: "genre", type: .tokenSequence, values: .tokenSequence(genres))])
        let oldGenres = old.interactions.itemIDs.externalIDs.map { ["G\($0.dropFirst().prefix(1))"] }
        let oldItems = FeatureTable(
            keyField: "item_id", keys: old.interactions.itemIDs.externalIDs,
            columns: [FeatureColumn(name: "genre", type: .tokenSequence, values: .tokenSequence(oldGenres))])
        var previous = try Hybrid(parameters: ["factors": "8", "epochs": "3"])
        try previous.fit(TrainingData(log: old.interactions, itemFeatures: oldItems))
        var data = TrainingData(log: log, itemFeatures: items)
        data.warmStart = WarmStart(
            userIDs: old.interactions.userIDs, itemIDs: old.interactions.itemIDs, weights: try previous.weights(),
            iterations: 1)
        var warm = try Hybrid(parameters: ["factors": "8", "learning_rate": "1e-9", "regularization": "0"])
        let steps = StepLog()
        try warm.fit(data) { _, done, _ in steps.append(done) }
        #expect(steps.values == [1])
        let (before, after) = (try previous.weights(), try warm.weights())
        // Identity tokens, by identifier.
        for (index, id) in old.interactions.itemIDs.externalIDs.enumerated() {
            let moved = Int(try #require(log.itemIDs.index(of: id)))
            #expect(
                Self.close(
                    try Self.row(after["item_embeddings"], moved), try Self.row(before["item_embeddings"], index)))
        }
        for (index, id) in old.interactions.userIDs.externalIDs.enumerated() {
            let moved = Int(try #require(log.userIDs.index(of: id)))
            #expect(
                Self.close(
                    try Self.row(after["user_embeddings"], moved), try Self.row(before["user_embeddings"], index)))
        }
        // Attribute tokens, by name; the new genre is not one of them.
        #expect(warm.itemTokenNames.contains("genre:G9") && !previous.itemTokenNames.contains("genre:G9"))
        for (k, name) in previous.itemTokenNames.enumerated() {
            let now = try #require(warm.itemTokenNames.firstIndex(of: name))
            let (rowBefore, rowAfter) = (old.interactions.itemCount + k, log.itemCount + now)
            #expect(
                Self.close(
                    try Self.row(after["item_embeddings"], rowAfter), try Self.row(before["item_embeddings"], rowBefore)
                ), "\(name)")
            let biases = (try #require(after["item_biases"]).floats(), try #require(before["item_biases"]).floats())
            #expect(abs(biases.0[rowAfter] - biases.1[rowBefore]) <= 1e-5, "\(name)")
        }
        // The names survive saving.
        var loaded = try Hybrid(parameters: ["factors": "8"])
        try loaded.load(weights: after)
        #expect(loaded.itemTokenNames == warm.itemTokenNames)
    }
}

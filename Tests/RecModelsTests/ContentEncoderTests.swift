import Foundation
import RecData
import Tensors
import Testing
import _RecTestSupport

@testable import RecModels

/// The TextCNN item encoder and the cold-item baselines, on a checkerboard whose item titles and
/// genres name their block.
struct ContentEncoderTests {
    /// Items `i{g}-{j}` titled "g{g}word film{j}" in genre `G{g}`.
    static func data() -> (log: InteractionLog, features: FeatureTable) {
        let (log, _) = Fixtures.checkerboard(groups: 3, size: 8)
        let ids = log.itemIDs.externalIDs
        let group = ids.map { String($0.dropFirst().prefix(1)) }
        let features = FeatureTable(
            keyField: "item_id", keys: ids,
            columns: [
                FeatureColumn(
                    name: "movie_title", type: .token,
                    values: .token(ids.indices.map { "g\(group[$0])word film\(ids[$0].suffix(1))" })),
                FeatureColumn(name: "class", type: .tokenSequence, values: .tokenSequence(group.map { ["G\($0)"] })),
            ])
        return (log, features)
    }

    static let small = ["factors": "8", "word_size": "8", "filters": "4", "epochs": "150", "learning_rate": "0.01"]

    /// For each block: an item described by the block's title word and genre has only the
    /// block's items among its 8 most similar, and a user of the block scores it above the other
    /// blocks' described items.
    static func expectDescribedItemsLandInTheirBlocks(
        _ model: some ContentDescribing, _ log: InteractionLog, _ label: String
    ) throws {
        for block in 0..<3 {
            let fields = ["movie_title": "g\(block)word film9", "class": "G\(block)"]
            let similar = try model.similarItems(toFields: fields, count: 8)
            let inBlock = similar.filter { log.itemIDs[$0.item].hasPrefix("i\(block)-") }.count
            #expect(inBlock == 8, "\(label) block \(block): \(similar.map { log.itemIDs[$0.item] })")
            let user = try #require(log.userIDs.index(of: "u\(block)-0"))
            let history = log.chronologicalEventsByUser()[Int(user)].map { log.items[$0] }
            let context = ScoringContext(user: user, history: history)
            let own = try model.contentScore(fields: fields, context: context)
            for other in 0..<3 where other != block {
                let theirs = try model.contentScore(
                    fields: ["movie_title": "g\(other)word film9", "class": "G\(other)"], context: context)
                #expect(own > theirs, "\(label) user of block \(block) vs block \(other)")
            }
        }
    }

    @Test(arguments: ["svd", "regress", "twotower", "profile"])
    func aNewItemDescribedByItsTitleAndGenreLandsInItsBlock(mode: String) throws {
        let (log, features) = Self.data()
        let regression = mode == "svd" || mode == "regress"
        var parameters = Self.small.merging(["mode": mode, "epochs": regression ? "150" : "30"]) { $1 }
        // The three blocks give the cosine matrix three leading eigenvalues and (nearly) nothing
        // else: PureSVD factors past the third would be arbitrary directions of its null space,
        // which differ with rounding (BLAS threads), so `svd` keeps three.
        if mode == "svd" { parameters["factors"] = "3" }
        var model = try TextCNN(parameters: parameters)
        try model.fit(TrainingData(log: log, itemFeatures: features), progress: nil)
        try Self.expectDescribedItemsLandInTheirBlocks(model, log, mode)
    }

    /// The hybrid describes a new item by its attribute tokens: described by its block's genre
    /// and title words, it lands among the block's items, a user of the block scores it above
    /// the other blocks' new items, and the saved model gives the same vector.
    @Test func theHybridPlacesANewItemByItsAttributes() throws {
        let (log, features) = Self.data()
        let parameters = ["factors": "8", "epochs": "60"]
        var model = try Hybrid(parameters: parameters)
        try model.fit(TrainingData(log: log, itemFeatures: features), progress: nil)
        try Self.expectDescribedItemsLandInTheirBlocks(model, log, "hybrid")
        for block in 0..<3 {
            // The server's path (a title and a category list) gives the same vector.
            #expect(
                try model.scoringVector(title: "g\(block)word film9", categories: ["G\(block)"])
                    == model.describedVector(fields: ["movie_title": "g\(block)word film9", "class": "G\(block)"]))
        }
        // Tokens the model never saw describe nothing: the zero vector, not an error.
        #expect(try model.describedVector(fields: ["class": "Unheard"]).allSatisfy { $0 == 0 })
        var loaded = try Hybrid(parameters: parameters)
        try loaded.load(weights: try model.weights())
        let fields = ["movie_title": "g1word film3", "class": "G1"]
        #expect(try loaded.describedVector(fields: fields) == model.describedVector(fields: fields))
    }

    @Test(arguments: ["svd", "regress", "twotower", "profile"])
    func aSavedEncoderGivesTheSameVectorsAndScores(mode: String) throws {
        let (log, features) = Self.data()
        let parameters = Self.small.merging(["mode": mode, "epochs": "3"]) { $1 }
        var model = try TextCNN(parameters: parameters)
        try model.fit(TrainingData(log: log, itemFeatures: features), progress: nil)
        var loaded = try TextCNN(parameters: parameters)
        try loaded.load(weights: try model.weights())
        #expect(loaded.contentVectors == model.contentVectors)
        let fields = ["movie_title": "g1word film3", "class": "G1"]
        #expect(try loaded.contentVector(fields: fields) == model.contentVector(fields: fields))
        var a: [Float] = []
        var b: [Float] = []
        try model.score(ScoringContext(history: [0, 1]), into: &a)
        try loaded.score(ScoringContext(history: [0, 1]), into: &b)
        #expect(a == b)
    }

    /// PureSVD's factors are the top eigenvectors of the item–item cosine matrix, scaled by
    /// √(items / factors). Reference: NumPy, `n = X.sum(0); G = X.T @ X / np.sqrt(np.outer(n, n));
    /// np.linalg.eigh(G)` → eigenvalues 2.1875, 1, 0.7148, 0.0977, top eigenvectors below.
    @Test func pureSVDFactorsAreTheTopEigenvectorsOfTheCosineMatrix() throws {
        let rows: [[Int32]] = [[0, 1], [0, 1, 2], [1, 2], [2, 3], [0, 3], [0]]
        let log = InteractionLog(
            pairs: rows.enumerated().flatMap { user, items in items.map { ("u\(user)", "i\($0)") } })
        let matrix = CSRMatrix(log: log)
        let factors = try PureSVD.itemFactors(matrix, factors: 2)
        let expected: [[Double]] = [[0.509530, 0.559945, 0.556115, 0.342895], [0, 0.522233, 0, -0.852803]]
        let order = try (0..<4).map { try #require(log.itemIDs.index(of: "i\($0)")) }
        for k in 0..<2 {
            let column = order.map { Double(factors[Int($0), k]) }
            let dot = zip(column, expected[k]).reduce(0) { $0 + $1.0 * $1.1 } / 2.0.squareRoot()
            #expect(abs(abs(dot) - 1) < 1e-5, "factor \(k): \(column)")
        }
        let meanSquare = factors.storage.reduce(0) { $0 + $1 * $1 } / 4
        #expect(abs(meanSquare - 1) < 1e-5)
    }

    /// Genre G0 items have 2, 4 events, G1 items 6: every G0 item scores 3, every G1 item 6; an
    /// item in both genres scores (3 + 6) / 2 averaged over genres with its own count included.
    @Test func genrePopularityIsTheMeanPopularityOfTheGenre() throws {
        var pairs: [(user: String, item: String)] = []
        for (item, count) in [("a", 2), ("b", 4), ("c", 6)] {
            for u in 0..<count { pairs.append(("u\(u)", item)) }
        }
        let log = InteractionLog(pairs: pairs)
        let table = FeatureTable(
            keyField: "item_id", keys: log.itemIDs.externalIDs,
            columns: [
                FeatureColumn(
                    name: "genre", type: .tokenSequence,
                    values: .tokenSequence(log.itemIDs.externalIDs.map { $0 == "c" ? ["G1"] : ["G0"] }))
            ])
        var model = try GenrePopularity()
        try model.fit(TrainingData(log: log, itemFeatures: table), progress: nil)
        var scores: [Float] = []
        try model.score(ScoringContext(history: []), into: &scores)
        for (id, expected) in [("a", Float(3)), ("b", 3), ("c", 6)] {
            #expect(scores[Int(log.itemIDs.index(of: id) ?? -1)] == expected, "\(id)")
        }
    }

    @Test func coldItemSplitHoldsOutEveryEventOfTheNewItems() throws {
        let log = Fixtures.randomLog(users: 60, items: 50, eventsPerUser: 5...20, seed: 11)
        let split = try DataSplit.make(.coldItem, log: log, seed: 3)
        let newItems = Set(split.test.map { log.items[$0] })
        #expect(newItems.count == 5)
        #expect(!split.train.contains { newItems.contains(log.items[$0]) })
        #expect(!split.validation.contains { newItems.contains(log.items[$0]) })
        #expect(split.train.count + split.validation.count + split.test.count == log.count)
        #expect(split.test.count == log.items.filter { newItems.contains($0) }.count)
    }
}

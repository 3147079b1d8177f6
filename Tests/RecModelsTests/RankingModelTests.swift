import Foundation
import RecData
import Testing
import _RecTestSupport

@testable import RecModels

/// The click-through models on planted logs: FM finds a label set by one feature interaction
/// that a first-order model cannot; every kind scores a batch as it scores each example alone,
/// and scores the same after save and load (issue 46).
struct RankingModelTests {
    /// A log whose label is `gender == F` XOR `genre == Comedy`: each user rates a seeded
    /// sample of items, a positive rating 5 and a negative 1. Every single field is uninformative
    /// on its own (each gender and each genre has as many positives as negatives).
    static func plantedInteraction(users: Int = 40, items: Int = 30, perUser: Int = 30, seed: UInt64 = 1) throws
        -> CTRDataset
    {
        var generator = SeededGenerator(seed: seed)
        var userFeatures: [String: CTRUserFeatures] = [:]
        var itemFeatures: [String: CTRItemFeatures] = [:]
        for u in 0..<users {
            userFeatures["u\(u)"] = CTRUserFeatures(
                gender: u % 2 == 0 ? "F" : "M", age: "\(20 + u % 3)", occupation: "o\(u % 4)", zipPrefix: "1\(u % 5)")
        }
        for i in 0..<items {
            itemFeatures["i\(i)"] = CTRItemFeatures(
                genres: [i % 2 == 0 ? "Comedy" : "Drama"], year: "\(1990 + i % 4)", titleTokens: ["t\(i % 6)"])
        }
        var (userColumn, itemColumn, ratings, times): ([Int32], [Int32], [Float], [Double]) = ([], [], [], [])
        for u in 0..<users {
            for step in 0..<perUser {
                let i = generator.nextInt(below: items)
                let positive = (u % 2 == 0) != (i % 2 == 0)
                userColumn.append(Int32(u))
                itemColumn.append(Int32(i))
                ratings.append(positive ? 5 : 1)
                times.append(Double(step * 3_600 + u))
            }
        }
        let log = InteractionLog(
            users: userColumn, items: itemColumn, ratings: ratings, timestamps: times,
            userIDs: IDMap((0..<users).map { "u\($0)" }), itemIDs: IDMap((0..<items).map { "i\($0)" }))
        return try CTRDataset(name: "planted", log: log, users: userFeatures, items: itemFeatures)
    }

    static let small = ["dimension": "4", "hidden": "8", "epochs": "12", "batch_size": "64", "learning_rate": "0.02"]

    @Test func factorizationMachineFindsThePlantedInteractionAndLogisticRegressionCannot() throws {
        let data = try Self.plantedInteraction()
        let split = data.split(.random, seed: 3)
        var scores: [CTRModelKind: Double] = [:]
        for kind in [CTRModelKind.fm, .lr] {
            let ranker = try CTRRanker.fit(kind: kind, parameters: Self.small, dataset: data, split: split)
            let batch = data.batch(split.test, in: ranker.space)
            scores[kind] = CTRMetrics.auc(scores: ranker.predict(batch), labels: batch.labels)
            // The weights kept are those of the epoch with the best validation AUC.
            let validation = data.batch(split.validation, in: ranker.space)
            let kept = CTRMetrics.auc(scores: ranker.predict(validation), labels: validation.labels)
            #expect(kept == ranker.epochs.map(\.validationAUC).max())
        }
        let fm = try #require(scores[.fm])
        let lr = try #require(scores[.lr])
        #expect(fm > 0.9, "fm AUC \(fm)")
        #expect(lr < 0.75, "lr AUC \(lr)")
    }

    @Test(arguments: CTRModelKind.allCases)
    func batchEqualsSingleAndSaveLoadKeepsScores(kind: CTRModelKind) throws {
        let data = try Self.plantedInteraction(users: 12, items: 10, perUser: 12)
        var parameters = Self.small
        parameters["epochs"] = "2"
        let ranker = try CTRRanker.fit(
            kind: kind, parameters: parameters, dataset: data, split: data.split(.temporal, seed: 1))
        let examples = (0..<data.count).filter { $0 % 7 == 0 }.map { data.example($0) }
        let batch = ranker.predict(examples)
        let single = examples.flatMap { ranker.predict([$0]) }
        #expect(batch.count == examples.count)
        #expect(allClose(batch, single, rtol: 1e-5, atol: 1e-6))
        #expect(batch.allSatisfy { $0 > 0 && $0 < 1 })
        let folder = temporaryDirectory("ctr-ranker")
        try ranker.save(to: folder)
        let loaded = try CTRRanker.load(from: folder)
        #expect(loaded.predict(examples) == batch)
        #expect(loaded.space == ranker.space && loaded.epochs == ranker.epochs)
        // The serving API looks features up in the saved tables: the same as the raw examples.
        let example = examples[examples.count - 1]
        let request = RankingRequest(
            user: example.user, candidates: ["i0", example.item, "unseen"], hour: example.hour,
            weekday: example.weekday, sequence: example.history)
        let served = try loaded.score(request)
        #expect(served.count == 3)
        #expect(abs(served[1] - batch[batch.count - 1]) < 1e-6)
        #expect(throws: ModelError.self) {
            try loaded.score(RankingRequest(user: "u0", candidates: ["i0"], hour: 24, weekday: 0))
        }
    }

    @Test func parametersAreCheckedAndLoadingRefusesOtherFolders() throws {
        #expect(throws: ModelError.self) { try CTRHyperParameters(kind: .fm, ["dimensions": "4"]) }
        #expect(throws: ModelError.self) { try CTRHyperParameters(kind: .deepfm, ["hidden": "64,x"]) }
        let settings = try CTRHyperParameters(kind: .dcnv2, ["hidden": "32, 16", "cross_layers": "2"])
        #expect(settings.hidden == [32, 16] && settings.crossLayers == 2)
        #expect(throws: ModelError.self) { try CTRRanker.load(from: temporaryDirectory("ctr-empty")) }
    }
}

import Foundation
import RecData
import RecModels
import Testing
import _RecTestSupport

@testable import RecEval

/// Two stages in evaluation (`--rerank`, issue 46): a ranker that knows a feature the retrieval
/// model ignores reorders its candidates and the ranking metrics rise; the ranker's `ctr`
/// temporal split is the `temporal` protocol's cut, so it never trains on the evaluated events.
struct RerankTests {
    /// Users of two genders, items of two genres; a user rates their own group's genre 5 and the
    /// other 1 (the group: `F` with `A`, `M` with `B`). Each user's eight early events are seeded
    /// items of both genres; their last two are the newest events of the log (the temporal
    /// protocol's validation and test parts), unseen items, the test one of the user's own genre.
    /// Every item is about as popular as any other, so popularity cannot tell a user's genre.
    static func planted(users: Int = 80, items: Int = 24) throws -> (CTRDataset, Dataset) {
        var generator = SeededGenerator(seed: 7)
        var (userColumn, itemColumn, ratings, times): ([Int32], [Int32], [Float], [Double]) = ([], [], [], [])
        for u in 0..<users {
            var unseen = Array(0..<items).shuffled(using: &generator)
            var events = Array(unseen.prefix(8))
            unseen.removeFirst(8)
            // Validation: every third user's item is of the other genre (the ranker's early
            // stopping needs both labels there); test: always the user's own genre.
            let validation = unseen.first { ($0 % 2 == u % 2) != (u % 3 == 0) } ?? 0
            events += [validation] + unseen.filter { $0 % 2 == u % 2 && $0 != validation }.prefix(1)
            for (step, item) in events.enumerated() {
                userColumn.append(Int32(u))
                itemColumn.append(Int32(item))
                ratings.append(item % 2 == u % 2 ? 5 : 1)
                // The last two events of every user come after every earlier event of the log.
                times.append(step < 8 ? Double(step * 1_000 + u) : Double(step * 100_000 + u))
            }
        }
        let log = InteractionLog(
            users: userColumn, items: itemColumn, ratings: ratings, timestamps: times,
            userIDs: IDMap((0..<users).map { "u\($0)" }), itemIDs: IDMap((0..<items).map { "i\($0)" }))
        var userFeatures: [String: CTRUserFeatures] = [:]
        for u in 0..<users { userFeatures["u\(u)"] = CTRUserFeatures(gender: u % 2 == 0 ? "F" : "M") }
        var itemFeatures: [String: CTRItemFeatures] = [:]
        for i in 0..<items { itemFeatures["i\(i)"] = CTRItemFeatures(genres: [i % 2 == 0 ? "A" : "B"]) }
        let ctr = try CTRDataset(name: "planted", log: log, users: userFeatures, items: itemFeatures)
        return (ctr, Dataset(name: "planted", interactions: log))
    }

    static let fm = ["dimension": "4", "epochs": "30", "patience": "30", "batch_size": "32", "learning_rate": "0.05"]

    @Test func aRankerThatKnowsTheUsersGroupLiftsPopularity() throws {
        let (ctr, dataset) = try Self.planted()
        let split = try DataSplit.make(.temporal, log: dataset.interactions)
        // The ctr temporal split is the temporal protocol's cut: the ranker trains on the same
        // training events and stops early on the same validation events, never the test ones.
        let ctrSplit = ctr.split(.temporal, seed: 1)
        #expect(Set(ctrSplit.train) == Set(split.train))
        #expect(Set(ctrSplit.validation) == Set(split.validation))
        #expect(Set(ctrSplit.test) == Set(split.test) && split.test.count == 80)
        let ranker = try CTRRanker.fit(kind: .fm, parameters: Self.fm, dataset: ctr, split: ctrSplit)
        #expect((ranker.epochs.map(\.validationAUC).max() ?? 0) > 0.9, "\(ranker.epochs.map(\.validationAUC))")
        var configuration = ExperimentConfiguration(data: "planted")
        configuration.splitProtocol = .temporal
        configuration.model = .popularity
        configuration.evaluation.ks = [1, 5, 10]
        configuration.evaluation.keepLists = true
        let prepared = Experiment.PreparedData(dataset: dataset, split: split, loadSeconds: 0)
        let alone = try Experiment.run(configuration, prepared: prepared).record
        configuration.rerank = EvaluationRerank(ranker, depth: 200)
        let (reranked, _, result) = try Experiment.run(configuration, prepared: prepared)
        let before = alone.metrics["ndcg@10"] ?? 0
        let after = reranked.metrics["ndcg@10"] ?? 0
        #expect(after > before + 0.1, "popularity \(before), reranked \(after)")
        #expect((reranked.metrics["hit@5"] ?? 0) > (alone.metrics["hit@5"] ?? 0))
        #expect(reranked.sampling.hasSuffix("top 200 reranked"))
        // The reranked lists hold no masked (seen) item, and their scores fall.
        let cases = Evaluator.cases(for: split, phase: .test)
        for (testCase, list) in zip(cases, try #require(result.lists)) {
            #expect(Set(list.map(\.item)).isDisjoint(with: testCase.mask))
            #expect(zip(list, list.dropFirst()).allSatisfy { $0.score >= $1.score })
        }
        // A shallow first stage bounds what the second can find: depth 1 keeps popularity's
        // first item only.
        configuration.rerank = EvaluationRerank(ranker, depth: 1)
        let (shallow, _, one) = try Experiment.run(configuration, prepared: prepared)
        #expect(try #require(one.lists).allSatisfy { $0.count == 1 })
        #expect((shallow.metrics["hit@10"] ?? 1) < (alone.metrics["hit@10"] ?? 0))
    }

    @Test func aRankerOfOtherDataOrALogWithoutTimesIsRefused() throws {
        let (ctr, dataset) = try Self.planted()
        let ranker = try CTRRanker.fit(
            kind: .lr, parameters: ["epochs": "1"], dataset: ctr, split: ctr.split(.temporal, seed: 1))
        var configuration = ExperimentConfiguration(data: "other")
        configuration.splitProtocol = .temporal
        configuration.model = .popularity
        configuration.rerank = EvaluationRerank(ranker)
        let other = Fixtures.checkerboard().log
        let foreign = Experiment.PreparedData(
            dataset: Dataset(name: "board", interactions: other),
            split: try DataSplit.make(.generalRandom, log: other, seed: 1), loadSeconds: 0)
        #expect {
            try Experiment.run(configuration, prepared: foreign)
        } throws: {
            String(describing: $0).contains("none of the") && String(describing: $0).contains("board")
        }
        let log = dataset.interactions
        let untimed = InteractionLog(
            users: log.users, items: log.items, ratings: log.ratings, timestamps: nil, userIDs: log.userIDs,
            itemIDs: log.itemIDs)
        let timeless = Experiment.PreparedData(
            dataset: Dataset(name: "untimed", interactions: untimed),
            split: try DataSplit.make(.generalRandom, log: untimed, seed: 1), loadSeconds: 0)
        #expect {
            try Experiment.run(configuration, prepared: timeless)
        } throws: {
            String(describing: $0).contains("needs timestamps in untimed")
        }
        configuration.evaluation.sampling = .uniform
        #expect {
            try Experiment.run(
                configuration,
                prepared: Experiment.PreparedData(
                    dataset: dataset, split: try DataSplit.make(.temporal, log: dataset.interactions), loadSeconds: 0))
        } throws: {
            String(describing: $0).contains("--sampled-negatives")
        }
    }
}

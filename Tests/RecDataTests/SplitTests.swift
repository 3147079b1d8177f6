import Foundation
import Testing
import _RecTestSupport

@testable import RecData

struct SplitTests {
    @Test func sequentialLeaveOneOutHandCase() throws {
        // User a: times 3, 1, 2, 2 (ties keep file order) → order e1(1), e2(2), e3(2), e0(3).
        // User b: two events → training only.
        let log = InteractionLog(
            pairs: [("a", "x"), ("a", "y"), ("a", "z"), ("a", "w"), ("b", "x"), ("b", "y")],
            timestamps: [3, 1, 2, 2, 5, 4])
        let split = try DataSplit.make(.sequentialLeaveOneOut, log: log)
        // a: chronological order 1, 2, 3, 0 (events 2 and 3 tie; file order keeps 2 first).
        #expect(split.train == [1, 2, 5, 4])
        #expect(split.validation == [3])
        #expect(split.test == [0])
    }

    @Test func ratioCountsFollowRecBole() {
        // RecBole's _calcu_split_ids with ratios [0.8, 0.1, 0.1].
        #expect(DataSplit.ratioCounts(1, validation: 0.1, test: 0.1) == (1, 0, 0))
        #expect(DataSplit.ratioCounts(2, validation: 0.1, test: 0.1) == (1, 0, 1))
        #expect(DataSplit.ratioCounts(3, validation: 0.1, test: 0.1) == (1, 1, 1))
        #expect(DataSplit.ratioCounts(10, validation: 0.1, test: 0.1) == (8, 1, 1))
        #expect(DataSplit.ratioCounts(25, validation: 0.1, test: 0.1) == (21, 2, 2))
        #expect(DataSplit.ratioCounts(9, validation: 0.1, test: 0.1) == (7, 1, 1))
    }

    @Test(arguments: SplitProtocol.allCases, [UInt64(1), 2, 3])
    func partitionsAreDisjointCompleteAndDeterministic(splitProtocol: SplitProtocol, seed: UInt64) throws {
        let log = Fixtures.randomLog(users: 40, items: 30, eventsPerUser: 1...25, seed: seed)
        let split = try DataSplit.make(splitProtocol, log: log, seed: seed)
        let all = split.train + split.validation + split.test
        #expect(all.count == log.count)
        #expect(Set(all).count == log.count)
        #expect(Set(all) == Set(0..<log.count))
        let again = try DataSplit.make(splitProtocol, log: log, seed: seed)
        #expect(again == split)
        if splitProtocol == .generalRandom {
            let other = try DataSplit.make(splitProtocol, log: log, seed: seed + 100)
            #expect(other.test != split.test)
            // Per-user sizes follow the ratio rule.
            let groups = log.eventsByUser()
            let testSet = Set(split.test)
            let validSet = Set(split.validation)
            for events in groups {
                let expected = DataSplit.ratioCounts(events.count, validation: 0.1, test: 0.1)
                #expect(events.filter { testSet.contains($0) }.count == expected.test)
                #expect(events.filter { validSet.contains($0) }.count == expected.validation)
            }
        }
        if splitProtocol == .temporal, let t = log.timestamps {
            let latestTrain = split.train.map { t[$0] }.max() ?? 0
            #expect(split.test.allSatisfy { t[$0] >= latestTrain })
        }
    }

    @Test func invalidFractionsAreRejected() {
        let log = InteractionLog(pairs: [("a", "x")])
        #expect(throws: DatasetError.self) {
            try DataSplit.make(.generalRandom, log: log, validationFraction: 0.6, testFraction: 0.5)
        }
    }
}

struct PreprocessingTests {
    @Test func duplicatesKeepFirstOrLastByTime() throws {
        let log = InteractionLog(pairs: [("a", "x"), ("a", "x"), ("a", "y"), ("a", "x")], timestamps: [5, 1, 2, 9])
        let dataset = Dataset(name: "d", interactions: log)
        let first = try Preprocessing(duplicates: .first).apply(to: dataset)
        #expect(first.dataset.interactions.timestamps == [1, 2])
        #expect(first.report.duplicatesRemoved == 2)
        let last = try Preprocessing(duplicates: .last).apply(to: dataset)
        #expect(last.dataset.interactions.timestamps == [2, 9])
    }

    @Test func ratingThresholdAndKCoreReachAFixedPoint() throws {
        // After dropping ratings < 3, user c has one event → removed; then item z has one → removed,
        // which leaves user b with one → removed in a further round.
        var pairs: [(user: String, item: String)] = []
        var ratings: [Float] = []
        func add(_ u: String, _ i: String, _ r: Float) { pairs.append((u, i)); ratings.append(r) }
        add("a", "x", 5); add("a", "y", 4); add("b", "x", 4); add("b", "z", 3); add("c", "z", 5); add("c", "y", 1)
        add("d", "x", 5); add("d", "y", 5)
        var log = InteractionLog(pairs: pairs)
        log.ratings = ratings
        let result = try Preprocessing(minimumRating: 3, userCore: 2, itemCore: 2).apply(
            to: Dataset(name: "d", interactions: log))
        #expect(result.report.belowRatingRemoved == 1)
        #expect(result.dataset.interactions.userIDs.externalIDs == ["a", "d"])
        #expect(result.dataset.interactions.itemIDs.externalIDs == ["x", "y"])
        #expect(result.report.kCoreRounds >= 2)
        #expect(result.report.eventsAfter == 4)
    }

    @Test func float32TimestampsGiveRecBolesOrder() throws {
        // ml-1m user 6035's last three events, in file order: 43 s apart, x after y, but in 32-bit
        // floats both are 956713600 (np.float32(956713620) == np.float32(956713577)); z is 956713408.
        let log = InteractionLog(
            pairs: [("a", "x"), ("a", "y"), ("a", "z")], timestamps: [956_713_620, 956_713_577, 956_713_400])
        let dataset = Dataset(name: "d", interactions: log)
        let exact = try DataSplit.make(.sequentialLeaveOneOut, log: log)
        #expect((exact.validation, exact.test) == ([1], [0]))
        let rounded = try Preprocessing(float32Timestamps: true).apply(to: dataset)
        #expect(rounded.dataset.interactions.timestamps == [956_713_600, 956_713_600, 956_713_408])
        let recbole = try DataSplit.make(.sequentialLeaveOneOut, log: rounded.dataset.interactions)
        #expect((recbole.validation, recbole.test) == ([0], [1]))
    }

    @Test func recordsWithoutFloat32TimestampsStillDecode() throws {
        let old = #"{"duplicates":"all","minimumRating":3,"userCore":10,"itemCore":10}"#
        let decoded = try JSONDecoder().decode(Preprocessing.self, from: Data(old.utf8))
        #expect(decoded == .recboleBenchmark)
        let rounded = Preprocessing(float32Timestamps: true)
        #expect(try JSONDecoder().decode(Preprocessing.self, from: JSONEncoder().encode(rounded)) == rounded)
    }

    @Test func thresholdWithoutRatingsIsAnError() {
        let dataset = Dataset(name: "d", interactions: InteractionLog(pairs: [("a", "x")]))
        #expect(throws: DatasetError.self) { try Preprocessing(minimumRating: 3).apply(to: dataset) }
        #expect(throws: DatasetError.noInteractions("preprocessing removed every event")) {
            try Preprocessing(userCore: 5).apply(to: dataset)
        }
    }

    @Test func csrMergesRepeatsAndTransposes() {
        let log = InteractionLog(pairs: [("a", "x"), ("a", "y"), ("b", "y"), ("a", "x")])
        let matrix = CSRMatrix(log: log)
        #expect(matrix.rowPointers == [0, 2, 3])
        #expect(matrix.columnIndices == [0, 1, 1])
        #expect(matrix.values == [2, 1, 1])
        let t = matrix.transposed()
        #expect(t.rowPointers == [0, 1, 3])
        #expect(t.columnIndices == [0, 0, 1])
        #expect(t.values == [2, 1, 1])
    }

    @Test func seededGeneratorIsStableAndUnbiasedEnough() {
        var a = SeededGenerator(seed: 42)
        var b = SeededGenerator(seed: 42)
        #expect((0..<10).map { _ in a.next() } == (0..<10).map { _ in b.next() })
        var g = SeededGenerator(seed: 7)
        var counts = [Int](repeating: 0, count: 5)
        for _ in 0..<50_000 { counts[g.nextInt(below: 5)] += 1 }
        #expect(counts.allSatisfy { abs($0 - 10_000) < 500 })
        var values = Array(0..<20)
        g.shuffle(&values)
        #expect(values.sorted() == Array(0..<20))
        #expect(values != Array(0..<20))
    }
}

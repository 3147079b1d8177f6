import Foundation
import RecData
import RecModels
import Testing
import _RecTestSupport

@testable import RecEval

/// The experiment simulator behind `reckit bench experiment` (issue 47).
struct SimulatorTests {
    /// A fair coin per (experiment, arrival), independent of the outcomes: SplitMix64's finalizer
    /// over both. (The simulator's caller passes RecFlow's salted hash; RecEval does not depend on it.)
    static func coin(_ experiment: Int, _ user: Int, _ arrival: Int) -> Int {
        var z = UInt64(experiment) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(arrival)
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int((z ^ (z >> 31)) >> 63)
    }

    static func bernoulli(_ rates: [Double]) -> (Int, Int, inout SeededGenerator) -> UserOutcome {
        { arm, _, generator in
            let click = Double.random(in: 0..<1, using: &generator) < rates[arm]
            return UserOutcome(impressions: 1, clicks: click ? 1 : 0, conversions: 0, gain: click ? 1 : 0)
        }
    }

    /// A/A on a synthetic Bernoulli stream: 200 seeded experiments of 2,000 users (click rate
    /// 0.3 in both arms) looked at after every 20 users (100 looks). The always-valid test rejects
    /// in at most 5% + 3 binomial standard errors (3 · sqrt(0.05 · 0.95 / 200) = 0.046) of them;
    /// the fixed-horizon z-test read at every look rejects in more than that, which is why the
    /// always-valid test is needed.
    @Test func aaFalsePositivesStayBelowAlphaWhilePeekingAtAZTestDoesNot() {
        var options = ExperimentSimulator.Options()
        options.experiments = 200
        options.batch = 20
        options.seed = 4747
        let summary = ExperimentSimulator.run(
            users: 2000, options: options, assign: Self.coin, respond: Self.bernoulli([0.3, 0.3]))
        #expect(summary.outcomes.count == 200)
        #expect(summary.outcomes.allSatisfy { $0.looks == 100 && $0.arms[0].users + $0.arms[1].users == 2000 })
        #expect(summary.rejectionShare <= 0.05 + 0.046, "always-valid: \(summary.rejectionShare)")
        #expect(summary.naiveRejectionShare > 0.05 + 0.046, "z-test peeked at: \(summary.naiveRejectionShare)")
        #expect(abs(summary.standardError(of: 0.05) - (0.05 * 0.95 / 200).squareRoot()) < 1e-15)
    }

    /// Up to the population each user arrives once; beyond it arrivals are drawn with
    /// replacement. An A/A run over a resampled population whose users differ (user u clicks with
    /// probability u/100) still rejects in at most 5% + 3 binomial standard errors
    /// (3 · sqrt(0.05 · 0.95 / 100) = 0.065) of 100 experiments.
    @Test func arrivalsAreEachUserOnceOrDrawnWithReplacementBeyondThePopulation() {
        var options = ExperimentSimulator.Options()
        options.experiments = 1
        var seen = [Int](repeating: 0, count: 100)
        _ = ExperimentSimulator.run(users: 100, options: options, assign: Self.coin) { _, user, _ in
            seen[user] += 1
            return UserOutcome(impressions: 1)
        }
        #expect(seen == [Int](repeating: 1, count: 100))
        options.experiments = 100
        options.maximumUsers = 2000
        options.batch = 100
        #expect(options.resamples(population: 100) && !options.resamples(population: 2000))
        seen = [Int](repeating: 0, count: 100)
        let summary = ExperimentSimulator.run(users: 100, options: options, assign: Self.coin) { _, user, generator in
            seen[user] += 1
            let click = Double.random(in: 0..<1, using: &generator) < Double(user) / 100
            return UserOutcome(impressions: 1, clicks: click ? 1 : 0)
        }
        #expect(summary.outcomes.allSatisfy { $0.arms[0].users + $0.arms[1].users == 2000 && $0.looks == 20 })
        #expect(seen.reduce(0, +) == 200_000 && seen.allSatisfy { $0 > 1000 })
        #expect(summary.rejectionShare <= 0.05 + 0.065, "always-valid: \(summary.rejectionShare)")
    }

    /// A real difference (0.3 against 0.4 clicks per user) is found in nearly every experiment;
    /// the detection records the users and impressions it took, at a look boundary.
    @Test func aRealDifferenceIsDetectedWithTheUsersItTook() throws {
        var options = ExperimentSimulator.Options()
        options.experiments = 20
        options.batch = 50
        let summary = ExperimentSimulator.run(
            users: 3000, options: options, assign: Self.coin, respond: Self.bernoulli([0.3, 0.4]))
        #expect(summary.rejectionShare >= 0.9)
        let first = try #require(summary.outcomes.first { $0.alwaysValid != nil }?.alwaysValid)
        #expect(first.users == first.impressions && first.users == 50 * first.look)
        let median = try #require(summary.medianDetectionUsers)
        #expect(median > 0 && median <= 3000)
        // The interval of the difference is on the right side, and the p-value below alpha.
        for outcome in summary.outcomes where outcome.alwaysValid != nil {
            let interval = try #require(outcome.interval)
            #expect(interval.lowerBound > 0 && outcome.pValue <= 0.05)
        }
    }

    /// Clicks follow the position bias: an item the user will interact with, shown at position
    /// p, is clicked with frequency 1/sqrt(p), within 4 binomial standard deviations over 20,000
    /// impressions; items not in `later` are never clicked; a click on a liked item converts.
    @Test func clicksFollowThePositionBias() {
        var generator = SeededGenerator(seed: 21)
        let trials = 20_000
        var clicks = [Int](repeating: 0, count: 10)
        for _ in 0..<trials {
            for slot in 0..<10 {
                // Items -1 fill the slots above; only item 7, at position slot + 1, is wanted.
                let shown = [Int32](repeating: -1, count: slot) + [7]
                clicks[slot] +=
                    ExperimentSimulator.respond(shown: shown, later: [7], liked: [], generator: &generator).clicks
            }
        }
        for slot in 0..<10 {
            let p = 1 / Double(slot + 1).squareRoot()
            let sd = (Double(trials) * p * (1 - p)).squareRoot()
            #expect(abs(Double(clicks[slot]) - p * Double(trials)) <= 4 * sd, "position \(slot + 1): \(clicks[slot])")
        }
        #expect(clicks[0] == trials)
        let shown: [Int32] = Array(0..<10)
        let none = ExperimentSimulator.respond(shown: shown, later: [], liked: [], generator: &generator)
        #expect(none == UserOutcome(impressions: 1))
        // The top item is always clicked (probability 1): one click, one conversion, gain 1.
        let top = ExperimentSimulator.respond(shown: shown, later: [0], liked: [0], generator: &generator)
        #expect(top == UserOutcome(impressions: 1, clicks: 1, conversions: 1, gain: 1))
    }

    /// The replay of a temporal split: one user per test-part user, with the evaluator's history
    /// and mask; lists leave the mask out; the projection's moments are the click model's exact
    /// expectations, and an arm against itself has no effect and no projected detection.
    @Test func theReplayShowsListsWithoutSeenItemsAndProjectsFromTheClickModel() throws {
        let log = Fixtures.randomLog(users: 40, items: 30, eventsPerUser: 10...20, seed: 3)
        let split = try DataSplit.make(.temporal, log: log)
        let replay = ExperimentSimulator.Replay(split: split)
        let cases = Evaluator.cases(for: split, phase: .test)
        #expect(replay.count == cases.count && replay.count > 0)
        #expect(replay.liked == replay.later)  // no ratings: every later item converts
        let bundle = try ModelBundle.train(
            .popularity, dataset: Dataset(name: "random", interactions: log), events: split.train
        ) { TrainingRecord(dataset: "random", interactions: split.train.count, users: 40, items: 30, seconds: $0) }
        let lists = try ExperimentSimulator.lists(bundle.model, replay: replay, count: 5)
        #expect(lists.count == replay.count)
        for (user, list) in lists.enumerated() {
            #expect(list.count == min(5, 30 - replay.masks[user].count))
            #expect(list.allSatisfy { !replay.masks[user].contains($0) })
        }
        // By hand for the first user: μ = Σ over wanted slots of 1/sqrt(p).
        let wanted = lists[0].enumerated().filter { replay.later[0].contains($0.element) }
        let mu0 = wanted.map { 1 / Double($0.offset + 1).squareRoot() }.reduce(0, +)
        let single = ExperimentSimulator.Replay(split: split)
        let moments = ExperimentSimulator.clickMoments(lists: [lists[0]], replay: single)
        #expect(abs(moments.mean - mu0) < 1e-12)
        let noise = wanted.map { 1 / Double($0.offset + 1).squareRoot() }.map { $0 * (1 - $0) }.reduce(0, +)
        #expect(abs(moments.variance - noise) < 1e-12)
        let same = ExperimentSimulator.projection(
            listsA: lists, listsB: lists, replay: replay, test: MixtureSPRT(tau: 0.1))
        #expect(same.effect == 0 && same.users == nil && same.varianceA == same.varianceB)
    }
}

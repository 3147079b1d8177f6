import Foundation
import RecData

/// Online A/B experiments replayed offline (issue 47; `reckit bench experiment`): users arrive one
/// at a time in a seeded order, each is assigned an arm (by the caller's salted hash), sees the
/// arm's list once and clicks; the arms' figures are looked at after every `batch` users, as a
/// dashboard refreshed every hour would look at them.
///
/// At each look two tests compare the arms' **clicks per user** (with one impression per user,
/// also the clicks per impression): the always-valid ``MixtureSPRT`` and, for contrast, the
/// fixed-horizon z-test read as if each look were the only one. Over many A/A experiments the
/// first rejects in at most `α` of them; the second, peeked at repeatedly, in many more.
///
/// The click model (``clickProbability(atPosition:)``) and the replay of MovieLens users are in
/// `ExperimentSimulator+Replay.swift`; this file runs the experiments on any population.
public enum ExperimentSimulator {
    /// The mixing standard deviation the simulator's mSPRT uses unless told otherwise: 0.1 clicks
    /// per user, about a tenth of the clicks per user the arms get under this click model on
    /// MovieLens (0.7 to 1.4 for popularity and EASE), so the mixture centres on relative effects
    /// of about 10%. Chosen from those levels before the reported runs, not fitted to them.
    public static let defaultTau = 0.1

    public struct Options: Sendable, Equatable {
        /// Experiments to run, each with its own assignment salt, arrival order and clicks.
        public var experiments = 1
        public var seed: UInt64 = 47
        /// Users between two looks.
        public var batch = 50
        public var test = MixtureSPRT(tau: ExperimentSimulator.defaultTau)
        /// Arrivals per experiment. `nil` or up to the population: every user at most once, in a
        /// seeded order. Above it: every arrival is a new user drawn with replacement from the
        /// population (a bootstrap population: arrivals are then independent and identically
        /// distributed, as the test assumes, and the arms' true difference is the population's).
        public var maximumUsers: Int?

        public init() {}

        /// Whether arrivals are drawn with replacement from a population of `users`.
        public func resamples(population users: Int) -> Bool { (maximumUsers ?? users) > users }
    }

    /// When a test first rejected `θ = 0`: after how many users and impressions, at which look (from 1).
    public struct Detection: Sendable, Equatable, Codable {
        public var users: Int
        public var impressions: Int
        public var look: Int
    }

    /// One experiment's end: both arms' figures, the always-valid p-value and interval of the
    /// difference in clicks per user (B - A), and when each test first rejected.
    public struct Outcome: Sendable, Equatable {
        public var arms: [OnlineMetrics]
        public var difference: MeanDifference?
        public var pValue: Double
        public var interval: ClosedRange<Double>?
        public var looks: Int
        public var alwaysValid: Detection?
        public var naive: Detection?
    }

    /// All experiments of a run.
    public struct Summary: Sendable, Equatable {
        public var outcomes: [Outcome]
        public var options: Options

        /// Share of experiments in which the always-valid test rejected at some look (in an A/A
        /// run, the false-positive share).
        public var rejectionShare: Double { share { $0.alwaysValid != nil } }
        /// The same for the fixed-horizon z-test looked at after every batch.
        public var naiveRejectionShare: Double { share { $0.naive != nil } }
        /// The binomial standard error of a share `p` over these experiments, `sqrt(p (1-p) / n)`.
        public func standardError(of p: Double) -> Double {
            (p * (1 - p) / Double(max(1, outcomes.count))).squareRoot()
        }
        /// Median users to the always-valid test's first rejection, over the experiments that rejected.
        public var medianDetectionUsers: Int? {
            let users = outcomes.compactMap { $0.alwaysValid?.users }.sorted()
            return users.isEmpty ? nil : users[users.count / 2]
        }

        func share(_ predicate: (Outcome) -> Bool) -> Double {
            outcomes.isEmpty ? 0 : Double(outcomes.filter(predicate).count) / Double(outcomes.count)
        }
    }

    /// Runs `options.experiments` experiments over a population of `users` users (indices).
    ///
    /// - Parameters:
    ///   - assign: The arm (0 = A, 1 = B) of an arrival: `(experiment, user, arrival)`, the
    ///     arrival counted from 0 (a resampled user is a new user at each arrival).
    ///   - respond: What a user does on being shown an arm: `(arm, user, generator)`; the
    ///     generator is the experiment's own.
    /// - Complexity: O(experiments · users) calls of `assign` and `respond`.
    public static func run(
        users: Int, options: Options, assign: (Int, Int, Int) -> Int,
        respond: (Int, Int, inout SeededGenerator) -> UserOutcome
    ) -> Summary {
        precondition(options.batch > 0, "simulator: batch must be positive, got \(options.batch)")
        var outcomes: [Outcome] = []
        for experiment in 0..<options.experiments {
            var generator = SeededGenerator(seed: options.seed ^ (UInt64(experiment) &* 0x9E37_79B9_7F4A_7C15))
            let resample = options.resamples(population: users)
            var order = Array(0..<users)
            if !resample { order.shuffle(using: &generator) }
            let arrivals = options.maximumUsers ?? users
            var totals = [ArmTotals(), ArmTotals()]
            var monitor = AlwaysValidMonitor(options.test)
            var outcome = Outcome(
                arms: [], difference: nil, pValue: 1, interval: nil, looks: 0, alwaysValid: nil, naive: nil)
            for arrived in 0..<arrivals {
                let user = resample ? generator.nextInt(below: users) : order[arrived]
                let arm = assign(experiment, user, arrived)
                precondition(arm == 0 || arm == 1, "simulator: arm \(arm) of user \(user) is not 0 or 1")
                totals[arm].add(respond(arm, user, &generator))
                guard (arrived + 1) % options.batch == 0 || arrived + 1 == arrivals else { continue }
                look(&outcome, &monitor, totals, test: options.test)
            }
            outcome.arms = totals.map(OnlineMetrics.init)
            outcome.pValue = monitor.pValue
            outcome.interval = monitor.interval
            outcome.looks = monitor.looks
            outcomes.append(outcome)
        }
        return Summary(outcomes: outcomes, options: options)
    }

    /// One look: both tests on the clicks per user so far.
    static func look(
        _ outcome: inout Outcome, _ monitor: inout AlwaysValidMonitor, _ totals: [ArmTotals], test: MixtureSPRT
    ) {
        let (a, b) = (totals[0].clicksPerUser, totals[1].clicksPerUser)
        monitor.look(a, b)
        outcome.difference = MeanDifference(a, b) ?? outcome.difference
        let now = Detection(
            users: totals[0].users + totals[1].users, impressions: totals[0].impressions + totals[1].impressions,
            look: monitor.looks)
        if outcome.alwaysValid == nil && monitor.rejects { outcome.alwaysValid = now }
        if outcome.naive == nil, let difference = MeanDifference(a, b),
            FixedHorizonZTest.pValue(difference) <= test.alpha
        {
            outcome.naive = now
        }
    }
}

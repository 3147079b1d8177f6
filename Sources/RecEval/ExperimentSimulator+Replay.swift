import Foundation
import RecData
import RecModels

/// The MovieLens replay behind `reckit bench experiment`: who arrives, what they are shown and
/// what they click.
extension ExperimentSimulator {
    /// Items shown per impression.
    public static let listLength = 10

    /// The position bias: an item at `position` (1 for the top) that the user will interact with
    /// later is clicked with probability `1 / sqrt(position)` (that is `1 / (1 + i)^0.5` for the
    /// 0-based slot `i`: 1 at the top, 0.32 at the tenth); any other item never is.
    public static func clickProbability(atPosition position: Int) -> Double { 1 / Double(position).squareRoot() }

    /// The users of a split's test part, as they arrive during an experiment: a `temporal` split's
    /// newest 10% of events are the experiment's weeks, so its users are the ones who come back.
    /// Each sees lists from a model trained on the oldest 80%, scored from their training
    /// history, without the items they have already rated (training and validation events, the
    /// evaluator's mask); their test-part items are what they will click.
    public struct Replay: Sendable {
        public var userIDs: [String]
        public var contexts: [ScoringContext]
        public var masks: [Set<Int32>]
        /// Items of the user's test-part events.
        public var later: [Set<Int32>]
        /// The part of `later` the user rated 4 or more (all of it when the log has no ratings): a
        /// click on one of these is a conversion.
        public var liked: [Set<Int32>]

        public var count: Int { userIDs.count }

        public init(split: DataSplit) {
            let log = split.log
            var liked: [Int32: Set<Int32>] = [:]
            for index in split.test where (log.ratings?[index] ?? 5) >= 4 {
                liked[log.users[index], default: []].insert(log.items[index])
            }
            let cases = Evaluator.cases(for: split, phase: .test)
            userIDs = cases.map { log.userIDs[$0.user] }
            contexts = cases.map { ScoringContext(user: $0.user, history: $0.history) }
            masks = cases.map { Set($0.mask) }
            later = cases.map { Set($0.targets) }
            self.liked = cases.map { liked[$0.user] ?? [] }
        }
    }

    /// Every replayed user's top `count` of `model`, best first, their mask left out.
    ///
    /// - Complexity: one batch scoring per 256 users, and O(items · log count) per user.
    public static func lists(_ model: any Recommender, replay: Replay, count: Int = listLength) throws -> [[Int32]] {
        var lists: [[Int32]] = []
        lists.reserveCapacity(replay.count)
        for start in stride(from: 0, to: replay.count, by: 256) {
            let range = start..<min(replay.count, start + 256)
            let scores = try model.scoreBatch(Array(replay.contexts[range]))
            scores.storage.withUnsafeBufferPointer { buffer in
                for (row, user) in range.enumerated() {
                    let slice = UnsafeBufferPointer(
                        rebasing: buffer[(row * scores.columns)..<((row + 1) * scores.columns)])
                    let mask = replay.masks[user]
                    lists.append(TopK.select(count, from: slice) { !mask.contains($0) }.map(\.item))
                }
            }
        }
        return lists
    }

    /// A user's response to one impression of `shown`: each item in `later` is clicked with
    /// ``clickProbability(atPosition:)`` (one uniform draw per shown item, in order); a click on
    /// a `liked` item also converts; the gain sums `1 / log2(position + 1)` over the clicks.
    public static func respond(
        shown: [Int32], later: Set<Int32>, liked: Set<Int32>, generator: inout SeededGenerator
    ) -> UserOutcome {
        var outcome = UserOutcome(impressions: 1)
        for (slot, item) in shown.enumerated() {
            let draw = Double.random(in: 0..<1, using: &generator)
            guard later.contains(item), draw < clickProbability(atPosition: slot + 1) else { continue }
            outcome.clicks += 1
            outcome.gain += UserOutcome.gain(atPosition: slot + 1)
            if liked.contains(item) { outcome.conversions += 1 }
        }
        return outcome
    }

    /// An arm's clicks per user over the population, exactly from the click model: the mean of
    /// each user's expected clicks `μ(u) = Σ q_p` (`q_p` the click probability of the item at
    /// position `p`) and the variance over a random user and the click draws,
    /// `Var_u μ(u) + mean_u Σ q_p (1 - q_p)`.
    public static func clickMoments(lists: [[Int32]], replay: Replay) -> (mean: Double, variance: Double) {
        var expected = SampleMoments()
        var drawVariance = 0.0
        for (user, shown) in lists.enumerated() {
            var mean = 0.0
            for (slot, item) in shown.enumerated() where replay.later[user].contains(item) {
                let q = clickProbability(atPosition: slot + 1)
                mean += q
                drawVariance += q * (1 - q)
            }
            expected.add(mean)
        }
        let n = Double(max(1, expected.count))
        return (expected.mean, (expected.sumOfSquares / n - expected.mean * expected.mean) + drawVariance / n)
    }

    /// How many users the always-valid test would take to tell two arms apart on this population.
    public struct Projection: Sendable, Equatable, Codable {
        /// Expected clicks per user of A and B, and their per-user variances (``clickMoments(lists:replay:)``).
        public var meanA: Double
        public var meanB: Double
        public var varianceA: Double
        public var varianceB: Double
        /// ``MixtureSPRT/usersToDetect(effect:varianceA:varianceB:shareA:)`` for the effect `meanB - meanA`.
        public var users: Int?

        public var effect: Double { meanB - meanA }
    }

    /// The projection for arms showing `listsA` and `listsB`, with half of the users in each.
    public static func projection(listsA: [[Int32]], listsB: [[Int32]], replay: Replay, test: MixtureSPRT)
        -> Projection
    {
        let (a, b) = (clickMoments(lists: listsA, replay: replay), clickMoments(lists: listsB, replay: replay))
        return Projection(
            meanA: a.mean, meanB: b.mean, varianceA: a.variance, varianceB: b.variance,
            users: test.usersToDetect(effect: b.mean - a.mean, varianceA: a.variance, varianceB: b.variance))
    }
}

extension ExperimentSimulator {
    /// One arm of a replayed experiment: a model kind and its hyper-parameters.
    public struct ArmModel: Sendable, Equatable {
        public var kind: ModelKind
        public var parameters: [String: String]

        public init(kind: ModelKind, parameters: [String: String] = [:]) {
            self.kind = kind
            self.parameters = parameters
        }

        /// `als:factors=64`, as `--arms` spells it.
        public var label: String {
            ([kind.rawValue] + parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
                .joined(separator: ":")
        }
    }

    /// A replayed experiment's run: who arrived, the population projection and every experiment.
    public struct ReplayReport: Sendable {
        public var dataset: String
        public var arms: [ArmModel]
        public var users: Int
        public var trainingSeconds: [Double]
        public var projection: Projection
        public var summary: Summary
    }

    /// Trains both arms on `data`'s training part (once when they are the same, as in an A/A
    /// run), shows every replayed user each arm's top ``listLength``, and runs the experiments.
    ///
    /// - Parameters:
    ///   - assignment: For an experiment (from 0), the arm (0 or 1) of a user id; the CLI passes
    ///     `OnlineExperiment.arm(for:)` with a salt per experiment.
    public static func replay(
        _ data: Experiment.PreparedData, arms: [ArmModel], options: Options,
        assignment: (Int) -> (String) -> Int, progress: ProgressHandler? = nil
    ) throws -> ReplayReport {
        precondition(arms.count == 2, "simulator: two arms, got \(arms.count)")
        let replay = Replay(split: data.split)
        var bundles: [ModelBundle] = []
        for arm in arms {
            if arm == arms[0], let first = bundles.first {
                bundles.append(first)
                continue
            }
            bundles.append(
                try ModelBundle.train(
                    arm.kind, parameters: arm.parameters, dataset: data.dataset, events: data.split.train,
                    record: { seconds in
                        TrainingRecord(
                            dataset: data.dataset.name, interactions: data.split.train.count,
                            users: data.dataset.interactions.userCount, items: data.dataset.interactions.itemCount,
                            seconds: seconds)
                    }, progress: progress))
        }
        let lists = try bundles.map { try ExperimentSimulator.lists($0.model, replay: replay) }
        let assigners = (0..<options.experiments).map(assignment)
        let resample = options.resamples(population: replay.count)
        let summary = run(
            users: replay.count, options: options,
            assign: { experiment, user, arrival in
                assigners[experiment](resample ? "\(replay.userIDs[user])#\(arrival)" : replay.userIDs[user])
            },
            respond: { arm, user, generator in
                respond(
                    shown: lists[arm][user], later: replay.later[user], liked: replay.liked[user],
                    generator: &generator)
            })
        return ReplayReport(
            dataset: data.dataset.name, arms: arms, users: replay.count,
            trainingSeconds: bundles.map(\.record.seconds),
            projection: projection(listsA: lists[0], listsB: lists[1], replay: replay, test: options.test),
            summary: summary)
    }
}

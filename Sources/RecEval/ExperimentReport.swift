import Foundation

/// One user's figures in one arm on one day, as a store attributes them (issue 47).
public struct ExperimentObservation: Sendable, Equatable {
    public var arm: String
    public var user: String
    /// `2026-12-01` (UTC): days sort as text.
    public var day: String
    public var outcome: UserOutcome

    public init(arm: String, user: String, day: String, outcome: UserOutcome) {
        self.arm = arm
        self.user = user
        self.day = day
        self.outcome = outcome
    }
}

/// An online experiment's results: each arm's figures with their 95% intervals
/// (``OnlineMetrics``), the always-valid test of the difference in clicks per user between the
/// second arm and the first (``MixtureSPRT``, Johari et al. 2022), and the figures per day.
///
/// The test looks at the data at the end of every day with impressions, cumulatively; its
/// p-value is the running minimum over those looks and its interval their intersection, which
/// the mSPRT allows however often one looks (a reader refreshing the report hourly included).
public struct ExperimentReport: Sendable, Equatable {
    public struct Arm: Sendable, Equatable {
        public var name: String
        public var share: Double
        public var metrics: OnlineMetrics
    }

    /// `mean(clicks per user, arm 2) - mean(arm 1)`, its always-valid interval and p-value.
    public struct Difference: Sendable, Equatable {
        public var estimate: Double
        public var low: Double
        public var high: Double
        public var pValue: Double
    }

    public struct Day: Sendable, Equatable {
        public var day: String
        public var arm: String
        public var users: Int
        public var impressions: Int
        public var clicks: Int
    }

    public static let method = "mSPRT (Johari et al. 2022)"

    public var name: String
    public var start: Date
    public var stop: Date?
    public var running: Bool
    public var arms: [Arm]
    /// Nil with fewer than two arms, or before both have two users and some variance.
    public var difference: Difference?
    /// By day, then by the arms' order.
    public var daily: [Day]

    /// The report of `observations` for the arms `arms` (name and share, in the definition's
    /// order; rows of other arms are left out).
    ///
    /// - Parameter tau: The mSPRT's mixing standard deviation in clicks per user, fixed before
    ///   the experiment started.
    public init(
        name: String, start: Date, stop: Date?, arms: [(name: String, share: Double)], tau: Double,
        observations: [ExperimentObservation], now: Date = Date()
    ) {
        self.name = name
        self.start = start
        self.stop = stop
        running = now >= start && stop.map { now < $0 } ?? true
        let index = Dictionary(arms.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
        let rows = observations.filter { index[$0.arm] != nil }
        var perUser = arms.map { _ in [String: UserOutcome]() }
        for row in rows { perUser[index[row.arm] ?? 0][row.user, default: UserOutcome()].add(row.outcome) }
        self.arms = zip(arms, perUser).map { arm, users in
            var totals = ArmTotals()
            for user in users.keys.sorted() { totals.add(users[user] ?? UserOutcome()) }
            return Arm(name: arm.name, share: arm.share, metrics: OnlineMetrics(totals))
        }
        daily = Self.daily(rows, arms: arms.map(\.name), index: index)
        difference = arms.count >= 2 ? Self.difference(rows, index: index, tau: tau) : nil
    }

    static func daily(_ rows: [ExperimentObservation], arms: [String], index: [String: Int]) -> [Day] {
        var days: [String: [Day]] = [:]
        for row in rows {
            let armIndex = index[row.arm] ?? 0
            var list = days[row.day] ?? arms.map { Day(day: row.day, arm: $0, users: 0, impressions: 0, clicks: 0) }
            list[armIndex].users += 1
            list[armIndex].impressions += row.outcome.impressions
            list[armIndex].clicks += row.outcome.clicks
            days[row.day] = list
        }
        return days.keys.sorted().flatMap { days[$0] ?? [] }
    }

    /// The always-valid test over cumulative looks, one at the end of each day.
    static func difference(_ rows: [ExperimentObservation], index: [String: Int], tau: Double) -> Difference? {
        var monitor = AlwaysValidMonitor(MixtureSPRT(tau: tau))
        var clicks: [[String: Double]] = [[:], [:]]
        var last: MeanDifference?
        let byDay = Dictionary(grouping: rows.filter { (index[$0.arm] ?? 2) < 2 }, by: \.day)
        for day in byDay.keys.sorted() {
            for row in byDay[day] ?? [] {
                clicks[index[row.arm] ?? 0][row.user, default: 0] += Double(row.outcome.clicks)
            }
            let (a, b) = (SampleMoments(clicks[0].values), SampleMoments(clicks[1].values))
            monitor.look(a, b)
            last = MeanDifference(a, b) ?? last
        }
        guard let interval = monitor.interval, let last else { return nil }
        return Difference(
            estimate: last.estimate, low: interval.lowerBound, high: interval.upperBound, pValue: monitor.pValue)
    }
}

extension UserOutcome {
    /// Adds another day's figures of the same user.
    public mutating func add(_ other: UserOutcome) {
        impressions += other.impressions
        clicks += other.clicks
        conversions += other.conversions
        gain += other.gain
    }
}

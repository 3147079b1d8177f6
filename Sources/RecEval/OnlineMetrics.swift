import Foundation

/// What one user of an experiment's arm did: the lists shown to them (impressions), the clicks
/// on shown items (each shown item counted once), the conversions among those clicks, and the
/// position-weighted gain of the clicks.
public struct UserOutcome: Sendable, Equatable, Codable {
    public var impressions: Int
    public var clicks: Int
    public var conversions: Int
    /// `Σ 1 / log2(position + 1)` over the clicked items, positions from 1 (the top).
    public var gain: Double

    public init(impressions: Int = 0, clicks: Int = 0, conversions: Int = 0, gain: Double = 0) {
        self.impressions = impressions
        self.clicks = clicks
        self.conversions = conversions
        self.gain = gain
    }

    /// The gain of a click at `position` (1 for the top): NDCG's discount `1 / log2(position + 1)`.
    public static func gain(atPosition position: Int) -> Double { 1 / Foundation.log2(Double(position) + 1) }
}

/// One arm's totals over its users, as sums and sums of products of the per-user figures: what
/// per-arm intervals need, and what a store can aggregate in SQL over per-user rows.
///
/// The user is the unit: users are assigned to arms, and a user's impressions are not
/// independent of each other, so every interval below treats users as the independent draws.
public struct ArmTotals: Sendable, Equatable, Codable {
    public var users = 0
    public var impressions = 0
    public var clicks = 0
    public var conversions = 0
    public var gain = 0.0
    // Σ over users of the products the delta method and the variances need.
    public var impressionsSquared = 0.0
    public var clicksSquared = 0.0
    public var conversionsSquared = 0.0
    public var gainSquared = 0.0
    public var clicksTimesImpressions = 0.0
    public var gainTimesImpressions = 0.0

    public init() {}

    public mutating func add(_ user: UserOutcome) {
        let (i, c, v) = (Double(user.impressions), Double(user.clicks), Double(user.conversions))
        users += 1
        impressions += user.impressions
        clicks += user.clicks
        conversions += user.conversions
        gain += user.gain
        impressionsSquared += i * i
        clicksSquared += c * c
        conversionsSquared += v * v
        gainSquared += user.gain * user.gain
        clicksTimesImpressions += c * i
        gainTimesImpressions += user.gain * i
    }

    /// Per-user clicks, the figure the simulator's always-valid test compares.
    public var clicksPerUser: SampleMoments {
        SampleMoments(count: users, sum: Double(clicks), sumOfSquares: clicksSquared)
    }

    public var conversionsPerUser: SampleMoments {
        SampleMoments(count: users, sum: Double(conversions), sumOfSquares: conversionsSquared)
    }
}

/// A figure with its 95% interval.
public struct Estimate: Sendable, Equatable, Codable {
    public var value: Double
    public var lower: Double
    public var upper: Double

    public init(value: Double, lower: Double, upper: Double) {
        self.value = value
        self.lower = lower
        self.upper = upper
    }

    /// `value ± z · standardError`, with `z = 1.959964` for 95%.
    public init(value: Double, standardError: Double, z: Double = OnlineMetrics.z95) {
        self.init(value: value, lower: value - z * standardError, upper: value + z * standardError)
    }
}

/// An arm's online figures, each with a 95% interval (normal approximation over users):
///
/// - **CTR**: clicks / impressions, an impression being one list shown. A ratio of two per-user
///   sums, so its interval comes from the delta method over users (Deng, Knoblich & Lu, "Applying
///   the Delta Method in Metric Analytics", KDD 2018): `Var(R̂) ≈ (s²c - 2R s_ci + R² s²i) / (n ī²)`.
/// - **Conversions per user**: a plain mean, `± z s / √n`.
/// - **Online NDCG**: each impression's gain is `Σ 1 / log2(position + 1)` over its clicked items
///   (position 1 at the top), summed per impression and averaged over impressions; unnormalized,
///   so a list of 10 with every item clicked scores `Σ_{p=1..10} 1/log2(p+1) ≈ 4.54`. Like CTR, a
///   ratio of per-user sums, with the delta-method interval.
public struct OnlineMetrics: Sendable, Equatable, Codable {
    public static let z95 = 1.959963984540054

    public var users: Int
    public var impressions: Int
    public var clicks: Int
    public var conversions: Int
    public var ctr: Estimate
    public var conversionsPerUser: Estimate
    public var ndcg: Estimate

    /// The figures of `totals`; intervals are empty (value to value) below two users.
    public init(_ totals: ArmTotals) {
        users = totals.users
        impressions = totals.impressions
        clicks = totals.clicks
        conversions = totals.conversions
        ctr = Self.ratio(
            sum: Double(totals.clicks), squares: totals.clicksSquared, cross: totals.clicksTimesImpressions,
            totals: totals)
        ndcg = Self.ratio(
            sum: totals.gain, squares: totals.gainSquared, cross: totals.gainTimesImpressions, totals: totals)
        let perUser = totals.conversionsPerUser
        conversionsPerUser = Estimate(
            value: perUser.mean,
            standardError: perUser.count > 1 ? (perUser.variance / Double(perUser.count)).squareRoot() : 0)
    }

    /// `Σx / Σi` over users with the delta method's standard error, from `Σx`, `Σx²` and `Σx·i`
    /// and the impressions' sums in `totals`.
    static func ratio(sum: Double, squares: Double, cross: Double, totals: ArmTotals) -> Estimate {
        guard totals.impressions > 0 else { return Estimate(value: 0, lower: 0, upper: 0) }
        let n = Double(totals.users)
        let ratio = sum / Double(totals.impressions)
        guard totals.users > 1 else { return Estimate(value: ratio, lower: ratio, upper: ratio) }
        let meanImpressions = Double(totals.impressions) / n
        let varianceX = (squares - sum * sum / n) / (n - 1)
        let varianceI =
            (totals.impressionsSquared - Double(totals.impressions) * Double(totals.impressions) / n) / (n - 1)
        let covariance = (cross - sum * Double(totals.impressions) / n) / (n - 1)
        let variance =
            (varianceX - 2 * ratio * covariance + ratio * ratio * varianceI) / (n * meanImpressions * meanImpressions)
        return Estimate(value: ratio, standardError: max(0, variance).squareRoot())
    }
}

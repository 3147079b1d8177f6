import Foundation
import Testing

@testable import RecEval

/// An experiment's report (issue 47) from per-user, per-day rows: arm figures over users
/// across days, daily rows, and the always-valid test looked at after each day.
struct ExperimentReportTests {
    static func row(_ arm: String, _ user: String, _ day: String, impressions: Int, clicks: Int)
        -> ExperimentObservation
    {
        ExperimentObservation(
            arm: arm, user: user, day: day,
            outcome: UserOutcome(
                impressions: impressions, clicks: clicks, conversions: clicks, gain: Double(clicks) * 0.5))
    }

    static let rows = [
        row("a", "u1", "2026-12-01", impressions: 2, clicks: 0),
        row("a", "u2", "2026-12-01", impressions: 1, clicks: 1),
        row("b", "u3", "2026-12-01", impressions: 1, clicks: 1),
        row("b", "u4", "2026-12-01", impressions: 3, clicks: 2),
        row("a", "u1", "2026-12-02", impressions: 1, clicks: 1),
        row("a", "u5", "2026-12-02", impressions: 1, clicks: 0),
        row("b", "u3", "2026-12-02", impressions: 2, clicks: 2),
        row("b", "u6", "2026-12-02", impressions: 1, clicks: 0),
        row("retired", "u7", "2026-12-02", impressions: 9, clicks: 9),
    ]

    @Test func armsAddUpUsersAcrossDaysAndTheTestLooksDaily() throws {
        let start = Date(timeIntervalSince1970: 1_796_083_200)
        let report = ExperimentReport(
            name: "e", start: start, stop: start.addingTimeInterval(86_400 * 7), arms: [("a", 0.5), ("b", 0.5)],
            tau: 0.5, observations: Self.rows, now: start.addingTimeInterval(86_400 * 8))
        #expect(!report.running)
        // Arm a's users over both days: u1 (3 impressions, 1 click), u2 (1, 1), u5 (1, 0).
        var a = ArmTotals()
        for (i, c) in [(3, 1), (1, 1), (1, 0)] {
            a.add(UserOutcome(impressions: i, clicks: c, conversions: c, gain: Double(c) * 0.5))
        }
        #expect(report.arms[0].metrics == OnlineMetrics(a))
        #expect(report.arms.map(\.metrics.users) == [3, 3] && report.arms.map(\.metrics.clicks) == [2, 5])
        // The retired arm's rows are left out; a day lists every arm.
        #expect(report.daily.map(\.arm) == ["a", "b", "a", "b"])
        #expect(report.daily.map(\.users) == [2, 2, 2, 2] && report.daily.map(\.clicks) == [1, 3, 1, 2])
        // Looks after day 1 (a: [0, 1], b: [1, 2]) and day 2 (a: [1, 1, 0], b: [3, 2, 0]).
        var monitor = AlwaysValidMonitor(MixtureSPRT(tau: 0.5))
        monitor.look(SampleMoments([0, 1]), SampleMoments([1, 2]))
        monitor.look(SampleMoments([1, 1, 0]), SampleMoments([3, 2, 0]))
        let difference = try #require(report.difference)
        let interval = try #require(monitor.interval)
        #expect(abs(difference.estimate - (5.0 / 3 - 2.0 / 3)) < 1e-12)
        #expect(difference.low == interval.lowerBound && difference.high == interval.upperBound)
        #expect(difference.pValue == monitor.pValue && difference.pValue <= 1)
    }

    @Test func oneArmOrNoDataHasNoDifference() {
        let start = Date(timeIntervalSince1970: 0)
        let one = ExperimentReport(
            name: "e", start: start, stop: nil, arms: [("a", 1)], tau: 0.05, observations: Self.rows)
        #expect(one.difference == nil && one.running)
        let empty = ExperimentReport(
            name: "e", start: start, stop: nil, arms: [("a", 0.5), ("b", 0.5)], tau: 0.05, observations: [])
        #expect(empty.difference == nil && empty.daily.isEmpty && empty.arms.map(\.metrics.users) == [0, 0])
    }
}

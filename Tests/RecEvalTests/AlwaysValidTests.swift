import Foundation
import RecData
import Testing

@testable import RecEval

/// The mSPRT of Johari et al. (issue 47): its closed form against the mixture integral done by
/// quadrature, the always-valid p-value and interval over looks, and the per-arm figures.
struct AlwaysValidTests {
    /// `log ∫ exp(logIntegrand(θ)) dθ` over `[low, high]` by composite Simpson's rule with
    /// `intervals` (even) pieces, factoring out the largest log value so nothing overflows.
    static func logIntegral(from low: Double, to high: Double, intervals: Int, _ logIntegrand: (Double) -> Double)
        -> Double
    {
        let h = (high - low) / Double(intervals)
        let logs = (0...intervals).map { logIntegrand(low + Double($0) * h) }
        let peak = logs.max() ?? 0
        var sum = 0.0
        for (k, value) in logs.enumerated() {
            let weight: Double = k == 0 || k == intervals ? 1 : k % 2 == 1 ? 4 : 2
            sum += weight * exp(value - peak)
        }
        return peak + log(sum * h / 3)
    }

    static func logNormalDensity(_ x: Double, mean: Double, variance: Double) -> Double {
        -0.5 * log(2 * Double.pi * variance) - (x - mean) * (x - mean) / (2 * variance)
    }

    /// The paper's definition, `Λ = ∫ Π_i f_θ(W_i) / f_θ0(W_i) dH(θ)` with `W_i = Y_i - X_i` the
    /// differences of `n` balanced pairs of normal draws with known `σ²` (so `W_i ~ N(θ, 2σ²)`) and
    /// `H = N(θ0, τ²)`, integrated numerically over the raw data, equals the closed form with
    /// `V = 2σ²/n` and `θ̂ = mean(W)`.
    @Test(arguments: [(0.0, 0.0, 0.5), (0.3, 0.0, 0.2), (0.3, 0.1, 1.0), (-0.8, 0.0, 0.05)])
    func closedFormEqualsTheMixtureIntegralOverRawData(theta: Double, theta0: Double, tau: Double) {
        var generator = SeededGenerator(seed: 47)
        let (sigma, n) = (1.3, 60)
        func normal() -> Double {
            let (u1, u2) = (
                Double.random(in: Double.ulpOfOne..<1, using: &generator), Double.random(in: 0..<1, using: &generator)
            )
            return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
        }
        let w = (0..<n).map { _ in (theta + sigma * normal()) - sigma * normal() }
        let v = 2 * sigma * sigma
        let logNumeric = Self.logIntegral(from: theta0 - 12 * tau - 3, to: theta0 + 12 * tau + 3, intervals: 40_000) {
            t in
            var logRatio = Self.logNormalDensity(t, mean: theta0, variance: tau * tau)
            for x in w {
                logRatio +=
                    Self.logNormalDensity(x, mean: t, variance: v) - Self.logNormalDensity(x, mean: theta0, variance: v)
            }
            return logRatio
        }
        let mean = w.reduce(0, +) / Double(n)
        let closed = MixtureSPRT(tau: tau).logLikelihoodRatio(
            MeanDifference(estimate: mean, variance: v / Double(n)), null: theta0)
        #expect(abs(closed - logNumeric) < 1e-7 * max(1, abs(closed)), "closed \(closed), quadrature \(logNumeric)")
    }

    /// With unequal arms the sufficient statistic `θ̂ ~ N(θ, V)` carries the whole likelihood
    /// ratio: `∫ φ(θ̂; θ, V) / φ(θ̂; θ0, V) dN(θ; θ0, τ²)` by quadrature equals the closed form.
    @Test(arguments: [(0.01, 1e-4, 0.02), (0.05, 4e-4, 0.01), (-0.2, 0.01, 0.3), (0.0, 1e-6, 1e-3)])
    func closedFormEqualsTheMixtureIntegralOverTheEstimate(estimate: Double, variance: Double, tau: Double) {
        let logNumeric = Self.logIntegral(
            from: -20 * tau - abs(estimate), to: 20 * tau + abs(estimate), intervals: 200_000
        ) { t in
            Self.logNormalDensity(estimate, mean: t, variance: variance)
                - Self.logNormalDensity(estimate, mean: 0, variance: variance)
                + Self.logNormalDensity(t, mean: 0, variance: tau * tau)
        }
        let closed = MixtureSPRT(tau: tau).logLikelihoodRatio(MeanDifference(estimate: estimate, variance: variance))
        #expect(abs(closed - logNumeric) < 1e-7 * max(1, abs(closed)), "closed \(closed), quadrature \(logNumeric)")
    }

    /// The interval's ends are where `Λ(θ0) = 1/α`; inside it the test keeps `θ0`, outside rejects it.
    @Test func theIntervalIsTheSetOfNullsNotRejected() {
        let test = MixtureSPRT(tau: 0.05, alpha: 0.05)
        let difference = MeanDifference(estimate: 0.04, variance: 2.5e-4)
        let interval = test.interval(difference)
        for end in [interval.lowerBound, interval.upperBound] {
            #expect(abs(test.logLikelihoodRatio(difference, null: end) - log(20)) < 1e-9)
        }
        let middle = (interval.lowerBound + interval.upperBound) / 2
        #expect(abs(middle - 0.04) < 1e-12)
        #expect(test.logLikelihoodRatio(difference, null: middle) < log(20))
        #expect(test.logLikelihoodRatio(difference, null: interval.upperBound + 1e-3) > log(20))
        // Wider than the fixed-horizon interval, the price of looking at any time.
        #expect(interval.upperBound - middle > 1.96 * 2.5e-4.squareRoot())
    }

    /// The pooled variance: `s² = ((nA-1)vA + (nB-1)vB)/(nA+nB-2)`, `V = s²(1/nA + 1/nB)`, by hand.
    @Test func theDifferenceUsesThePooledVariance() throws {
        let a = SampleMoments([1, 2, 3, 4])  // mean 2.5, variance 5/3
        let b = SampleMoments([2, 4, 6])  // mean 4, variance 4
        let difference = try #require(MeanDifference(a, b))
        #expect(difference.estimate == 1.5)
        let pooled = (3 * 5.0 / 3 + 2 * 4) / 5
        #expect(abs(difference.variance - pooled * (1.0 / 4 + 1.0 / 3)) < 1e-12)
        #expect(MeanDifference(SampleMoments([1]), b) == nil)
        #expect(MeanDifference(SampleMoments([0, 0]), SampleMoments([0, 0, 0])) == nil)
    }

    /// Bernoulli arms (0.20 against 0.23) seen after every 100 users: the p-value never rises, each
    /// interval lies inside the one before, and over 200 seeded experiments the running interval
    /// excludes the true difference (0.03) at some look in at most 5% + 3 binomial standard
    /// errors (3 · sqrt(0.05 · 0.95 / 200) = 0.046) of them.
    @Test func pValueNeverRisesAndTheIntervalCoversTheTrueDifferenceAtEveryLook() throws {
        let (rateA, rateB, experiments, looks, batch) = (0.20, 0.23, 200, 25, 100)
        var missed = 0
        var rejected = 0
        for experiment in 0..<experiments {
            var generator = SeededGenerator(seed: UInt64(1000 + experiment))
            var (a, b) = (SampleMoments(), SampleMoments())
            var monitor = AlwaysValidMonitor(MixtureSPRT(tau: 0.05))
            var previous: (p: Double, interval: ClosedRange<Double>?) = (1, nil)
            var everMissed = false
            for _ in 0..<looks {
                for _ in 0..<batch {
                    if Bool.random(using: &generator) {
                        a.add(Double.random(in: 0..<1, using: &generator) < rateA ? 1 : 0)
                    } else {
                        b.add(Double.random(in: 0..<1, using: &generator) < rateB ? 1 : 0)
                    }
                }
                monitor.look(a, b)
                let interval = try #require(monitor.interval)
                #expect(monitor.pValue <= previous.p)
                if let before = previous.interval, before.overlaps(interval) {
                    #expect(before.lowerBound <= interval.lowerBound && interval.upperBound <= before.upperBound)
                }
                if !interval.contains(rateB - rateA) { everMissed = true }
                previous = (monitor.pValue, interval)
            }
            if everMissed { missed += 1 }
            if monitor.rejects { rejected += 1 }
        }
        #expect(Double(missed) / Double(experiments) <= 0.05 + 0.046, "missed in \(missed) of \(experiments)")
        // A real difference is found in some of them (the test is not vacuous).
        #expect(rejected > 0)
    }

    /// The projection of users needed: the test rejects there and not one user before.
    @Test func usersToDetectIsTheFirstSampleSizeThatRejects() throws {
        let test = MixtureSPRT(tau: 0.05)
        let users = try #require(test.usersToDetect(effect: 0.03, varianceA: 0.16, varianceB: 0.18))
        func logLambda(_ n: Int) -> Double {
            test.logLikelihoodRatio(MeanDifference(estimate: 0.03, variance: (0.16 / 0.5 + 0.18 / 0.5) / Double(n)))
        }
        #expect(logLambda(users) >= log(20) && logLambda(users - 1) < log(20))
        #expect(test.usersToDetect(effect: 0, varianceA: 0.16, varianceB: 0.16) == nil)
        let smaller = try #require(test.usersToDetect(effect: 0.01, varianceA: 0.16, varianceB: 0.18))
        #expect(smaller > users)
    }

    @Test func theFixedHorizonZTestMatchesTheNormalTail() {
        // z = 1.959964: p = 0.05; z = 0: p = 1.
        #expect(abs(FixedHorizonZTest.pValue(MeanDifference(estimate: 1.959963984540054, variance: 1)) - 0.05) < 1e-12)
        #expect(FixedHorizonZTest.pValue(MeanDifference(estimate: 0, variance: 1)) == 1)
    }

    /// Per-arm figures against NumPy (the delta method over users for the two ratios):
    /// ```
    /// import numpy as np
    /// u = np.array([(1,0,0,0.0),(2,1,1,1.0),(3,2,0,1.5),(1,1,1,0.6309297535714575),(2,0,0,0.0),(4,3,2,2.13)])
    /// i, c, v, g = u.T; n = len(u); z = 1.959963984540054
    /// def ratio(x):
    ///     r = x.sum() / i.sum(); cov = np.cov(x, i)
    ///     var = (cov[0,0] - 2*r*cov[0,1] + r*r*cov[1,1]) / (n * i.mean()**2)
    ///     return r, r - z*np.sqrt(var), r + z*np.sqrt(var)
    /// print(ratio(c), ratio(g), v.mean() - z*v.std(ddof=1)/np.sqrt(n))
    /// ```
    @Test func armFiguresMatchNumPy() {
        var totals = ArmTotals()
        for (i, c, v, g) in [
            (1, 0, 0, 0.0), (2, 1, 1, 1.0), (3, 2, 0, 1.5), (1, 1, 1, UserOutcome.gain(atPosition: 2)), (2, 0, 0, 0.0),
            (4, 3, 2, 2.13),
        ] {
            totals.add(UserOutcome(impressions: i, clicks: c, conversions: v, gain: g))
        }
        let figures = OnlineMetrics(totals)
        #expect(figures.users == 6 && figures.impressions == 13 && figures.clicks == 7 && figures.conversions == 4)
        func close(_ estimate: Estimate, _ expected: (Double, Double, Double)) -> Bool {
            abs(estimate.value - expected.0) < 1e-12 && abs(estimate.lower - expected.1) < 1e-12
                && abs(estimate.upper - expected.2) < 1e-12
        }
        #expect(close(figures.ctr, (0.5384615384615384, 0.275632168532763, 0.8012909083903139)), "\(figures.ctr)")
        #expect(close(figures.ndcg, (0.4046869041208814, 0.22007177098804853, 0.5893020372537142)), "\(figures.ndcg)")
        #expect(
            close(figures.conversionsPerUser, (0.6666666666666666, 0.01334533848664854, 1.3199879948466848)),
            "\(figures.conversionsPerUser)")
        #expect(UserOutcome.gain(atPosition: 1) == 1 && UserOutcome.gain(atPosition: 3) == 0.5)
    }

    /// With one impression per user, CTR's delta-method interval is the plain interval of clicks
    /// per user; an empty arm has zero figures, not NaN.
    @Test func ctrWithOneImpressionPerUserIsTheMeanOfClicks() {
        var totals = ArmTotals()
        for clicks in [0, 1, 3, 0, 2, 1, 0] { totals.add(UserOutcome(impressions: 1, clicks: clicks)) }
        let figures = OnlineMetrics(totals)
        let clicks = totals.clicksPerUser
        let half = OnlineMetrics.z95 * (clicks.variance / Double(clicks.count)).squareRoot()
        #expect(abs(figures.ctr.value - clicks.mean) < 1e-12)
        #expect(abs(figures.ctr.upper - figures.ctr.value - half) < 1e-12)
        let empty = OnlineMetrics(ArmTotals())
        #expect(empty.ctr == Estimate(value: 0, lower: 0, upper: 0) && !empty.conversionsPerUser.value.isNaN)
    }
}

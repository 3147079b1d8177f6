import Foundation

/// Count, sum and sum of squares of one arm's per-user values (clicks, conversions, gain): what a
/// store can aggregate in SQL (`COUNT(*)`, `SUM(x)`, `SUM(x * x)`) and what the tests need.
public struct SampleMoments: Sendable, Equatable, Codable {
    public var count: Int
    public var sum: Double
    public var sumOfSquares: Double

    public init(count: Int = 0, sum: Double = 0, sumOfSquares: Double = 0) {
        self.count = count
        self.sum = sum
        self.sumOfSquares = sumOfSquares
    }

    /// The moments of `values`.
    public init(_ values: some Sequence<Double>) {
        self.init()
        for value in values { add(value) }
    }

    public mutating func add(_ value: Double) {
        count += 1
        sum += value
        sumOfSquares += value * value
    }

    public var mean: Double { count > 0 ? sum / Double(count) : 0 }

    /// The unbiased sample variance (`n - 1` in the denominator); 0 below two values.
    public var variance: Double {
        guard count > 1 else { return 0 }
        let n = Double(count)
        return max(0, (sumOfSquares - sum * sum / n) / (n - 1))
    }
}

/// The difference of two arms' means, `mean(B) - mean(A)`, and the variance of that estimate
/// from the pooled sample variance: `s² = ((nA - 1) vA + (nB - 1) vB) / (nA + nB - 2)` and
/// `variance = s² (1/nA + 1/nB)`. For proportions (0/1 values) `v = p̂ (1 - p̂) n / (n - 1)`.
public struct MeanDifference: Sendable, Equatable, Codable {
    public var estimate: Double
    public var variance: Double

    public init(estimate: Double, variance: Double) {
        self.estimate = estimate
        self.variance = variance
    }

    /// `nil` until each arm has two values and the pooled variance is positive (before then no
    /// test can say anything, and the monitors below skip the look).
    public init?(_ a: SampleMoments, _ b: SampleMoments) {
        guard a.count >= 2, b.count >= 2 else { return nil }
        let (nA, nB) = (Double(a.count), Double(b.count))
        let pooled = ((nA - 1) * a.variance + (nB - 1) * b.variance) / (nA + nB - 2)
        guard pooled > 0, pooled.isFinite else { return nil }
        self.init(estimate: b.mean - a.mean, variance: pooled * (1 / nA + 1 / nB))
    }
}

/// The mixture sequential probability ratio test (mSPRT) with a normal mixture, for the difference
/// of two means or proportions: Johari, Koomen, Pekelis & Walsh, "Always Valid Inference:
/// Continuous Monitoring of A/B Tests", Operations Research 70(3), 2022 (arXiv 1512.04922).
///
/// With `θ̂` the difference of the arms' means, `V` its variance (``MeanDifference``: the pooled
/// variance estimate plugged in, as the paper does for unknown variance) and the mixing
/// distribution `θ ~ N(θ0, τ²)`, the mixture likelihood ratio of `H1: θ ≠ θ0` against `θ = θ0` is
/// the paper's closed form
///
///     Λ(θ0) = sqrt(V / (V + τ²)) · exp(τ² (θ̂ - θ0)² / (2 V (V + τ²)))
///
/// (their `sqrt(2σ² / (2σ² + nτ²)) exp(n² τ² (Ȳn - X̄n - θ0)² / (4σ² (2σ² + nτ²)))` for `n`
/// balanced pairs, where `V = 2σ²/n`; written with `V` it holds for unequal arms too). `Λ` is a
/// martingale under `θ0`, so by Ville's inequality `P(sup Λ ≥ 1/α) ≤ α`: the test may be looked
/// at after every user and still rejects a true `θ0` with probability at most `α` (exactly for
/// normal data of known variance; with the variance estimated and counts for data, approximately:
/// the simulator's A/A runs measure it).
///
/// - The always-valid p-value is the running minimum of `1/Λ(0)` over the looks.
/// - The always-valid confidence interval is `{θ0 : Λ(θ0) < 1/α}` at each look, in closed form
///   ``interval(_:)``, intersected over the looks.
///
/// **τ.** The mixing standard deviation `τ` is in the metric's units and must be fixed before
/// the experiment starts (a `τ` chosen after seeing the data voids the guarantee): the size of
/// the effects one expects, since the mixture weighs alternatives `|θ - θ0|` of order `τ` most.
/// RecKit takes it as an argument; the simulator's default, 0.05 clicks per user, is stated with
/// its reason in `ExperimentSimulator`.
public struct MixtureSPRT: Sendable, Equatable, Codable {
    /// Mixing standard deviation, in the units of the metric; positive.
    public var tau: Double
    /// Significance level; the test rejects when `p ≤ alpha`.
    public var alpha: Double

    public init(tau: Double, alpha: Double = 0.05) {
        precondition(tau > 0 && tau.isFinite, "mSPRT: tau must be positive and finite, got \(tau)")
        precondition(alpha > 0 && alpha < 1, "mSPRT: alpha must be in (0, 1), got \(alpha)")
        self.tau = tau
        self.alpha = alpha
    }

    /// `log Λ(θ0)` of the closed form above.
    public func logLikelihoodRatio(_ difference: MeanDifference, null theta0: Double = 0) -> Double {
        let (v, t2) = (difference.variance, tau * tau)
        let d = difference.estimate - theta0
        return 0.5 * Foundation.log(v / (v + t2)) + t2 * d * d / (2 * v * (v + t2))
    }

    /// This look's `{θ0 : Λ(θ0) < 1/α}`: `θ̂ ± sqrt(2 V (V + τ²) / τ² · (log(1/α) + ½ log((V + τ²)/V)))`.
    public func interval(_ difference: MeanDifference) -> ClosedRange<Double> {
        let (v, t2) = (difference.variance, tau * tau)
        let bound = Foundation.log(1 / alpha) + 0.5 * Foundation.log((v + t2) / v)
        let half = (2 * v * (v + t2) / t2 * bound).squareRoot()
        return (difference.estimate - half)...(difference.estimate + half)
    }

    /// Users (both arms together) after which the test rejects `θ = 0` when the estimate equals
    /// the true `effect` and the per-user variances are `varianceA` and `varianceB`, with arm
    /// shares `shareA` and `1 - shareA`: a plug-in projection of the detection time, not a
    /// guarantee. `nil` when `effect` is 0 or more than 10^12 users would be needed.
    public func usersToDetect(effect: Double, varianceA: Double, varianceB: Double, shareA: Double = 0.5) -> Int? {
        guard effect != 0, shareA > 0, shareA < 1 else { return nil }
        let spread = varianceA / shareA + varianceB / (1 - shareA)
        func rejects(_ users: Double) -> Bool {
            logLikelihoodRatio(MeanDifference(estimate: effect, variance: spread / users)) >= Foundation.log(1 / alpha)
        }
        var high = 2.0
        while !rejects(high) {
            high *= 2
            if high > 1e12 { return nil }
        }
        var low = high / 2
        while high - low > 1 {
            let middle = ((low + high) / 2).rounded(.down)
            if rejects(middle) { high = middle } else { low = middle }
        }
        return Int(high)
    }
}

/// The always-valid p-value and confidence interval of one experiment, updated at each look.
public struct AlwaysValidMonitor: Sendable, Equatable {
    public let test: MixtureSPRT
    /// Running minimum of `1/Λ(0)`; 1 before the first look with data.
    public private(set) var pValue = 1.0
    /// Intersection of the looks' intervals; `nil` before the first look with data.
    public private(set) var interval: ClosedRange<Double>?
    /// Looks that had data (both arms with two users and a positive pooled variance).
    public private(set) var looks = 0

    public init(_ test: MixtureSPRT) { self.test = test }

    /// Whether the test rejects `θ = 0` at level ``MixtureSPRT/alpha``.
    public var rejects: Bool { pValue <= test.alpha }

    /// Updates the p-value and the interval with the arms' data so far (cumulative, not the new
    /// batch). A look without data changes nothing.
    ///
    /// If sampling noise in the plug-in variance makes this look's interval miss the running
    /// intersection entirely, the interval restarts from this look's (Johari et al. define the
    /// intersection; an empty set is no use to a reader).
    public mutating func look(_ a: SampleMoments, _ b: SampleMoments) {
        guard let difference = MeanDifference(a, b) else { return }
        looks += 1
        let logLambda = test.logLikelihoodRatio(difference)
        pValue = min(pValue, logLambda > 0 ? Foundation.exp(-logLambda) : 1)
        let current = test.interval(difference)
        if let previous = interval, previous.overlaps(current) {
            interval = max(previous.lowerBound, current.lowerBound)...min(previous.upperBound, current.upperBound)
        } else {
            interval = current
        }
    }
}

/// The fixed-horizon two-sided z-test, `p = 2 (1 - Φ(|θ̂| / sqrt(V)))` (`= erfc(|z| / √2)`).
/// Valid when looked at once, at a sample size fixed in advance; looked at after every batch it
/// rejects far more often than `α` (the simulator shows how often), which is why experiments use
/// ``MixtureSPRT``.
public enum FixedHorizonZTest {
    public static func pValue(_ difference: MeanDifference) -> Double {
        let z = abs(difference.estimate) / difference.variance.squareRoot()
        return erfc(z / 2.0.squareRoot())
    }
}

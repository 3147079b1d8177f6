/// Compares reverse-mode gradients with central finite differences, as `torch.autograd.gradcheck`
/// does. Run it in `Double`: Float32 differences are too noisy to tell a bug from rounding.
public enum GradientCheck {
    /// The outcome of one check.
    public struct Result: Sendable, CustomStringConvertible {
        /// Largest `|analytic - numeric| - (atol + rtol · |numeric|)` seen; `≤ 0` passes.
        public let worstExcess: Double
        /// Where the worst element is, for the failure message.
        public let worst: String
        /// Number of elements compared.
        public let checked: Int

        /// Whether every element was within tolerance.
        public var passed: Bool { worstExcess <= 0 }

        public var description: String {
            "gradient check: \(checked) elements, worst \(worst), excess \(worstExcess)"
        }
    }

    /// Checks the gradient of `function` with respect to every element of `parameters`.
    ///
    /// The output is reduced with fixed random weights `w` (seeded), `L = Σ w ⊙ f`, so every
    /// output element's gradient is tested; analytic gradients come from one backward pass
    /// seeded with `w`, numeric ones from `(L(p + ε) - L(p - ε)) / 2ε` with the tape not recording.
    ///
    /// - Parameters:
    ///   - parameters: The inputs to differentiate; their values are perturbed and restored.
    ///   - epsilon: Step, default 1e-6 (torch).
    ///   - atol: Absolute tolerance, default 1e-5 (torch).
    ///   - rtol: Relative tolerance, default 1e-3 (torch).
    ///   - seed: Seeds the output weights.
    ///   - function: Builds the output on the given tape; must be deterministic.
    public static func check(
        _ parameters: [Parameter<Double>], epsilon: Double = 1e-6, atol: Double = 1e-5, rtol: Double = 1e-3,
        seed: UInt64 = 0, _ function: (Tape<Double>) -> Variable<Double>
    ) -> Result {
        for parameter in parameters { parameter.zeroGradient() }
        let tape = Tape<Double>()
        let output = function(tape)
        var generator = SplitMix64(seed: seed)
        let weights = Tensor<Double>.randomUniform(shape: output.value.shape, in: -1..<1, using: &generator)
        tape.backward(output, gradient: weights)
        func loss() -> Double {
            let value = function(Tape<Double>(recording: false)).value.scalars
            return zip(value, weights.scalars).reduce(0) { $0 + $1.0 * $1.1 }
        }
        var worstExcess = -Double.infinity
        var worst = "none"
        var checked = 0
        for (p, parameter) in parameters.enumerated() {
            let analyticGradient = parameter.grad.scalars
            for i in 0..<parameter.value.count {
                let original = parameter.value.scalars[i]
                parameter.value.scalars[i] = original + epsilon
                let plus = loss()
                parameter.value.scalars[i] = original - epsilon
                let minus = loss()
                parameter.value.scalars[i] = original
                let numeric = (plus - minus) / (2 * epsilon)
                let analytic = analyticGradient[i]
                let excess = abs(analytic - numeric) - (atol + rtol * abs(numeric))
                checked += 1
                if excess > worstExcess || excess.isNaN {
                    worstExcess = excess.isNaN ? .infinity : excess
                    worst = "parameter \(p) element \(i): analytic \(analytic), numeric \(numeric)"
                }
            }
        }
        if checked == 0 { worstExcess = 0 }
        return Result(worstExcess: worstExcess, worst: worst, checked: checked)
    }
}

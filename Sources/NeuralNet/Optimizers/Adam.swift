import Tensors

/// Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019), as `torch.optim.Adam(W)`:
/// ```
/// m = β1·m + (1-β1)·g      v = β2·v + (1-β2)·g²
/// w -= lr · (m / (1-β1^t)) / (√(v / (1-β2^t)) + ε)
/// ```
/// Adam adds `λ·w` to `g` (L2); AdamW instead first shrinks `w *= 1 - lr·λ` (decoupled).
/// `t` counts this optimizer's steps; with a sparse gradient only touched rows move.
public struct Adam<Scalar: TensorScalar>: Optimizer {
    public let parameters: [Parameter<Scalar>]
    public var learningRate: Scalar
    public let beta1: Scalar
    public let beta2: Scalar
    public let epsilon: Scalar
    /// λ.
    public let weightDecay: Scalar
    /// AdamW when true.
    public let decoupledWeightDecay: Bool
    private var m: [[Scalar]]
    private var v: [[Scalar]]
    private var t = 0

    /// Defaults are torch's: β = (0.9, 0.999), ε = 1e-8, no weight decay.
    public init(
        parameters: [Parameter<Scalar>], learningRate: Scalar = 1e-3, beta1: Scalar = 0.9, beta2: Scalar = 0.999,
        epsilon: Scalar = 1e-8, weightDecay: Scalar = 0, decoupledWeightDecay: Bool = false
    ) {
        self.parameters = parameters
        self.learningRate = learningRate
        (self.beta1, self.beta2, self.epsilon) = (beta1, beta2, epsilon)
        self.weightDecay = weightDecay
        self.decoupledWeightDecay = decoupledWeightDecay
        m = parameters.map { [Scalar](repeating: 0, count: $0.value.count) }
        v = m
    }

    /// AdamW with torch's default decay, 0.01.
    public static func adamW(
        parameters: [Parameter<Scalar>], learningRate: Scalar = 1e-3, weightDecay: Scalar = 0.01
    ) -> Adam {
        Adam(parameters: parameters, learningRate: learningRate, weightDecay: weightDecay, decoupledWeightDecay: true)
    }

    /// The optimizer's state for a training checkpoint: the step count and both moment
    /// estimates, one array per parameter in ``parameters`` order.
    public var state: (step: Int, first: [[Scalar]], second: [[Scalar]]) { (t, m, v) }

    /// Restores a state read from a checkpoint.
    ///
    /// - Returns: `false`, changing nothing, when the moments do not match the parameters'
    ///   element counts (a checkpoint of another model).
    public mutating func restore(step: Int, first: [[Scalar]], second: [[Scalar]]) -> Bool {
        let counts = parameters.map(\.value.count)
        guard step >= 0, first.map(\.count) == counts, second.map(\.count) == counts else { return false }
        (t, m, v) = (step, first, second)
        return true
    }

    @_specialize(where Scalar == Float)
    public mutating func step() {
        t += 1
        let (lr, b1, b2, eps, decay) = (learningRate, beta1, beta2, epsilon, weightDecay)
        let correction1 = 1 - Scalar.pow(b1, t)
        let correction2 = 1 - Scalar.pow(b2, t)
        let decoupled = decoupledWeightDecay
        for (p, parameter) in parameters.enumerated() {
            m[p].withUnsafeMutableBufferPointer { m in
                v[p].withUnsafeMutableBufferPointer { v in
                    parameter.updateRanges { range, w, g in
                        for i in range {
                            var grad = g[i]
                            if decoupled { w[i] *= 1 - lr * decay } else { grad += decay * w[i] }
                            m[i] = b1 * m[i] + (1 - b1) * grad
                            v[i] = b2 * v[i] + (1 - b2) * grad * grad
                            w[i] -= lr * (m[i] / correction1) / (Scalar.sqrt(v[i] / correction2) + eps)
                        }
                    }
                }
            }
        }
    }
}

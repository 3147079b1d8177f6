import Tensors

/// Adagrad (Duchi, Hazan & Singer 2011), as `torch.optim.Adagrad` without decay of the rate:
/// `s += g²`, `w -= lr · g / (√s + ε)`.
public struct Adagrad<Scalar: TensorScalar>: Optimizer {
    public let parameters: [Parameter<Scalar>]
    public var learningRate: Scalar
    public let epsilon: Scalar
    private var sums: [[Scalar]]

    /// Defaults are torch's: lr 0.01, ε 1e-10, accumulators start at 0.
    public init(parameters: [Parameter<Scalar>], learningRate: Scalar = 0.01, epsilon: Scalar = 1e-10) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.epsilon = epsilon
        sums = parameters.map { [Scalar](repeating: 0, count: $0.value.count) }
    }

    @_specialize(where Scalar == Float)
    public mutating func step() {
        let (lr, eps) = (learningRate, epsilon)
        for (p, parameter) in parameters.enumerated() {
            sums[p].withUnsafeMutableBufferPointer { s in
                parameter.updateRanges { range, w, g in
                    for i in range {
                        s[i] += g[i] * g[i]
                        w[i] -= lr * g[i] / (Scalar.sqrt(s[i]) + eps)
                    }
                }
            }
        }
    }
}

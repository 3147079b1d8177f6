import Tensors

/// Stochastic gradient descent with momentum and L2 weight decay (`torch.optim.SGD`):
/// `g = grad + λ·w`, `b = μ·b + g` (b = g on the first step), `w -= lr · b`.
public struct SGD<Scalar: TensorScalar>: Optimizer {
    public let parameters: [Parameter<Scalar>]
    public var learningRate: Scalar
    /// μ; 0 turns momentum off.
    public let momentum: Scalar
    /// λ.
    public let weightDecay: Scalar
    private var buffers: [[Scalar]]
    private var started: [[Bool]]

    public init(parameters: [Parameter<Scalar>], learningRate: Scalar, momentum: Scalar = 0, weightDecay: Scalar = 0) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
        buffers = parameters.map { [Scalar](repeating: 0, count: momentum == 0 ? 0 : $0.value.count) }
        started = parameters.map { [Bool](repeating: false, count: momentum == 0 ? 0 : $0.value.count) }
    }

    @_specialize(where Scalar == Float)
    public mutating func step() {
        let (lr, mu, decay) = (learningRate, momentum, weightDecay)
        for (p, parameter) in parameters.enumerated() {
            if mu == 0 {
                parameter.updateRanges { range, w, g in
                    for i in range { w[i] -= lr * (g[i] + decay * w[i]) }
                }
                continue
            }
            buffers[p].withUnsafeMutableBufferPointer { b in
                started[p].withUnsafeMutableBufferPointer { s in
                    parameter.updateRanges { range, w, g in
                        for i in range {
                            let grad = g[i] + decay * w[i]
                            b[i] = s[i] ? mu * b[i] + grad : grad
                            s[i] = true
                            w[i] -= lr * b[i]
                        }
                    }
                }
            }
        }
    }
}

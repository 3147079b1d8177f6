/// Elementwise functions. Each doc gives `y = f(x)` and the backward rule; NaN propagates.
extension Variable {
    enum UnaryKind { case exp, log, relu, gelu, tanh, sigmoid, softplus, sqrt }

    /// `y = exp(x)`; backward `dx += dy · y`.
    public func exp() -> Variable { unary(.exp) }
    /// `y = log(x)`; backward `dx += dy / x`.
    public func log() -> Variable { unary(.log) }
    /// `y = max(x, 0)` (NaN stays NaN); backward `dx += x > 0 ? dy : 0`.
    public func relu() -> Variable { unary(.relu) }
    /// Exact GELU, `y = x · Φ(x)` with `Φ(x) = (1 + erf(x / √2)) / 2` (torch's default);
    /// backward `dx += dy · (Φ(x) + x · φ(x))`, `φ` the standard normal density.
    public func gelu() -> Variable { unary(.gelu) }
    /// `y = tanh(x)`; backward `dx += dy · (1 - y²)`.
    public func tanh() -> Variable { unary(.tanh) }
    /// `y = 1 / (1 + exp(-x))`; backward `dx += dy · y · (1 - y)`.
    public func sigmoid() -> Variable { unary(.sigmoid) }
    /// `y = log(1 + exp(x))`, computed as `max(x, 0) + log1p(exp(-|x|))` so large `|x|` is exact;
    /// backward `dx += dy · sigmoid(x)`.
    public func softplus() -> Variable { unary(.softplus) }
    /// `y = √x`; backward `dx += dy / (2y)`.
    public func sqrt() -> Variable { unary(.sqrt) }

    @_specialize(where Scalar == Float)
    private func unary(_ kind: UnaryKind) -> Variable {
        let x = value.scalars
        // Every element is written below, by a SIMD hook or the scalar formula.
        var out = Tensor<Scalar>(uninitialized: value.shape)
        x.withUnsafeBufferPointer { x in
            out.scalars.withUnsafeMutableBufferPointer { y in
                guard let x = x.baseAddress, let y = y.baseAddress else { return }
                Parallel.forEachChunk(of: 0..<value.count, minimumChunk: 1 << 15) { range in
                    let (x, y) = (x + range.lowerBound, y + range.lowerBound)
                    switch kind {
                    case .gelu: Scalar._gelu(x, y, range.count)
                    case .sigmoid: Scalar._sigmoid(x, y, range.count)
                    case .tanh: Scalar._tanh(x, y, range.count)
                    default: for i in 0..<range.count { y[i] = Self.apply(kind, x[i]) }
                    }
                }
            }
        }
        let input = self
        return Variable.result(out, inputs: [self]) { output, dy in
            input.withGradient { dx in
                x.withUnsafeBufferPointer { x in
                    output.value.scalars.withUnsafeBufferPointer { y in
                        Parallel.forEachChunk(of: 0..<dx.count, minimumChunk: 1 << 15) { range in
                            if kind == .gelu, let x = x.baseAddress, let dy = dy.baseAddress,
                                let dx = dx.baseAddress
                            {
                                let start = range.lowerBound
                                Scalar._geluBackward(x + start, dy + start, dx + start, range.count)
                            } else {
                                for i in range { dx[i] += dy[i] * Self.derivative(kind, x[i], y[i]) }
                            }
                        }
                    }
                }
            }
        }
    }

    static func apply(_ kind: UnaryKind, _ x: Scalar) -> Scalar {
        switch kind {
        case .exp: return .exp(x)
        case .log: return .log(x)
        case .relu: return x < 0 ? 0 : x
        case .gelu: return x * (1 + .erf(x / Scalar.sqrt(2))) / 2
        case .tanh: return .tanh(x)
        case .sigmoid: return 1 / (1 + .exp(-x))
        case .softplus: return Swift.max(x, 0) + .log(onePlus: .exp(-abs(x)))
        case .sqrt: return .sqrt(x)
        }
    }

    /// `dy/dx` at input `x` with output `y`.
    static func derivative(_ kind: UnaryKind, _ x: Scalar, _ y: Scalar) -> Scalar {
        switch kind {
        case .exp: return y
        case .log: return 1 / x
        case .relu: return x > 0 ? 1 : (x.isNaN ? x : 0)
        case .gelu:
            let cdf = (1 + Scalar.erf(x / Scalar.sqrt(2))) / 2
            let pdf = Scalar.exp(-x * x / 2) / Scalar.sqrt(2 * Scalar.pi)
            return cdf + x * pdf
        case .tanh: return 1 - y * y
        case .sigmoid: return y * (1 - y)
        case .softplus: return 1 / (1 + .exp(-x))
        case .sqrt: return 1 / (2 * y)
        }
    }
}

/// Layer normalization over the last axis, fused (Ba, Kiros & Hinton 2016).
///
/// Legend: a row is the last axis, `D` elements. Forward:
/// `x̂ = (x - μ) / √(σ² + ε)`, `y = x̂ ⊙ γ + β`, with `μ`, `σ²` the row's mean and biased variance.
/// Cached: `x̂` and `r = 1 / √(σ² + ε)` per row. Backward, with `g = dy ⊙ γ`:
/// `dx += r · (g - mean(g) - x̂ · mean(g ⊙ x̂))`, `dγ += Σ_rows dy ⊙ x̂`, `dβ += Σ_rows dy`.
extension Variable {
    /// `Σ_{j < count} term(j)` in four interleaved partial sums: four independent chains of
    /// additions instead of one, so the loop is not bound by the latency of each add.
    @inline(__always)
    static func rowSum(_ count: Int, _ term: (Int) -> Scalar) -> Scalar {
        var (s0, s1, s2, s3): (Scalar, Scalar, Scalar, Scalar) = (0, 0, 0, 0)
        var j = 0
        while j + 4 <= count {
            s0 += term(j)
            s1 += term(j + 1)
            s2 += term(j + 2)
            s3 += term(j + 3)
            j += 4
        }
        while j < count {
            s0 += term(j)
            j += 1
        }
        return (s0 + s1) + (s2 + s3)
    }

    /// The largest of `count` terms in four independent chains; `-inf` for none. A NaN term may
    /// or may not win, so callers detect NaN separately.
    @inline(__always)
    static func rowMaximum(_ count: Int, _ term: (Int) -> Scalar) -> Scalar {
        var (m0, m1, m2, m3) = (-Scalar.infinity, -Scalar.infinity, -Scalar.infinity, -Scalar.infinity)
        var j = 0
        while j + 4 <= count {
            m0 = Swift.max(m0, term(j))
            m1 = Swift.max(m1, term(j + 1))
            m2 = Swift.max(m2, term(j + 2))
            m3 = Swift.max(m3, term(j + 3))
            j += 4
        }
        while j < count {
            m0 = Swift.max(m0, term(j))
            j += 1
        }
        return Swift.max(Swift.max(m0, m1), Swift.max(m2, m3))
    }

    /// Normalizes each row of the last axis, then scales by `weight` and shifts by `bias`, both `(D)`.
    ///
    /// - Parameter epsilon: Added to the variance; 1e-5 matches `torch.nn.LayerNorm`.
    @_specialize(where Scalar == Float)
    public func layerNorm(weight: Variable, bias: Variable, epsilon: Scalar = 1e-5) -> Variable {
        let shape = value.shape
        let d = shape.last ?? 0
        checkArgument(
            !shape.isEmpty && weight.value.shape == [d] && bias.value.shape == [d],
            "layerNorm: input \(shape) needs weight and bias [\(d)], got \(weight.value.shape) and \(bias.value.shape)")
        let rows = d == 0 ? 0 : value.count / d
        var out = Tensor<Scalar>(zeros: shape)
        var normalized = [Scalar](repeating: 0, count: value.count)
        var rstd = [Scalar](repeating: 0, count: rows)
        value.scalars.withUnsafeBufferPointer { x in
            out.scalars.withUnsafeMutableBufferPointer { y in
                normalized.withUnsafeMutableBufferPointer { xhat in
                    rstd.withUnsafeMutableBufferPointer { r in
                        let (g, b) = (weight.value.scalars, bias.value.scalars)
                        Parallel.forEachChunk(of: 0..<rows, minimumChunk: Swift.max(1, 8_192 / Swift.max(1, d))) {
                            for row in $0 {
                                let base = row * d
                                let mean = Self.rowSum(d) { x[base + $0] } / Scalar(d)
                                let variance =
                                    Self.rowSum(d) { (x[base + $0] - mean) * (x[base + $0] - mean) } / Scalar(d)
                                let s = 1 / Scalar.sqrt(variance + epsilon)
                                r[row] = s
                                for j in 0..<d {
                                    let h = (x[base + j] - mean) * s
                                    xhat[base + j] = h
                                    y[base + j] = h * g[j] + b[j]
                                }
                            }
                        }
                    }
                }
            }
        }
        let input = self
        return Variable.result(out, inputs: [self, weight, bias]) { _, dy in
            if weight.requiresGradient {
                weight.withGradient { dg in
                    for row in 0..<rows {
                        for j in 0..<d { dg[j] += dy[row * d + j] * normalized[row * d + j] }
                    }
                }
            }
            if bias.requiresGradient {
                bias.withGradient { db in
                    for row in 0..<rows {
                        for j in 0..<d { db[j] += dy[row * d + j] }
                    }
                }
            }
            guard input.requiresGradient else { return }
            let g = weight.value.scalars
            input.withGradient { dx in
                Parallel.forEachChunk(of: 0..<rows, minimumChunk: Swift.max(1, 8_192 / Swift.max(1, d))) {
                    for row in $0 {
                        let base = row * d
                        var meanG: Scalar = 0
                        var meanGX: Scalar = 0
                        for j in 0..<d {
                            let gj = dy[base + j] * g[j]
                            meanG += gj
                            meanGX += gj * normalized[base + j]
                        }
                        meanG /= Scalar(d)
                        meanGX /= Scalar(d)
                        for j in 0..<d {
                            let gj = dy[base + j] * g[j]
                            dx[base + j] += rstd[row] * (gj - meanG - normalized[base + j] * meanGX)
                        }
                    }
                }
            }
        }
    }
}

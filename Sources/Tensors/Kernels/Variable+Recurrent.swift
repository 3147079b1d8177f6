/// Fused recurrent cells: one tape operation per step instead of a dozen slices, adds and
/// activations, with the gate activations kept for the backward pass.
extension Variable {
    /// One GRU step (torch's gate order `r, z, n`) from its two projections:
    /// `inputGates (B, 3H)` = `x·W_ihᵀ + b_ih`, `hiddenGates (B, 3H)` = `h·W_hhᵀ` (no bias),
    /// `hiddenBias (3H)` = `b_hh`, `state (B, H)` = `h`.
    /// ```
    /// r = σ(gi_r + gh_r + b_r)        z = σ(gi_z + gh_z + b_z)
    /// a = gh_n + b_n                  n = tanh(gi_n + r ⊙ a)
    /// h' = n + z ⊙ (h − n)
    /// ```
    /// Backward: `dn = dh'(1−z)`, `dz = dh'(h−n)`, `dh += dh' z`; `dN = dn(1−n²)` goes to `gi_n`,
    /// `dN r` to `gh_n` and `b_n`, `dr = dN a`; `dR = dr r(1−r)` and `dZ = dz z(1−z)` go to the
    /// `r` and `z` blocks of `gi`, `gh` and `b_hh` (summed over the batch).
    @_specialize(where Scalar == Float)
    public static func gruCell(
        inputGates gi: Variable, hiddenGates gh: Variable, hiddenBias bias: Variable, state h: Variable
    ) -> Variable {
        precondition(h.shape.count == 2, "gruCell: state \(h.shape) is not (batch, hidden)")
        let (batch, width) = (h.shape[0], h.shape[1])
        precondition(
            gi.shape == [batch, 3 * width] && gh.shape == [batch, 3 * width] && bias.shape == [3 * width],
            "gruCell: gates \(gi.shape), \(gh.shape) and bias \(bias.shape) do not match state \(h.shape)")
        // Per row: r, z, n, a — what the backward pass reads.
        var saved = Tensor<Scalar>(uninitialized: [batch, 4 * width])
        var out = Tensor<Scalar>(uninitialized: [batch, width])
        gi.value.scalars.withUnsafeBufferPointer { gi in
            gh.value.scalars.withUnsafeBufferPointer { gh in
                bias.value.scalars.withUnsafeBufferPointer { b in
                    h.value.scalars.withUnsafeBufferPointer { h in
                        saved.scalars.withUnsafeMutableBufferPointer { s in
                            out.scalars.withUnsafeMutableBufferPointer { y in
                                guard let gi = gi.baseAddress, let gh = gh.baseAddress, let b = b.baseAddress,
                                    let h = h.baseAddress, let s = s.baseAddress, let y = y.baseAddress
                                else { return }
                                Parallel.forEachChunk(of: 0..<batch, minimumChunk: max(1, 8_192 / width)) { rows in
                                    for row in rows {
                                        gruForward(
                                            gi + row * 3 * width, gh + row * 3 * width, b, h + row * width,
                                            s + row * 4 * width, y + row * width, width)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return Variable.result(out, inputs: [gi, gh, bias, h]) { _, dy in
            // The gradients of the pre-activations: r, z and gi's n block (every element written).
            var pre = Tensor<Scalar>(uninitialized: [batch, 3 * width]).scalars
            h.value.scalars.withUnsafeBufferPointer { hv in
                saved.scalars.withUnsafeBufferPointer { s in
                    pre.withUnsafeMutableBufferPointer { pre in
                        guard let hv = hv.baseAddress, let s = s.baseAddress, let pre = pre.baseAddress,
                            let dy = dy.baseAddress
                        else { return }
                        Parallel.forEachChunk(of: 0..<batch, minimumChunk: max(1, 8_192 / width)) { rows in
                            for row in rows {
                                gruBackward(
                                    dy + row * width, hv + row * width, s + row * 4 * width, pre + row * 3 * width,
                                    width)
                            }
                        }
                    }
                }
            }
            saved.scalars.withUnsafeBufferPointer { s in
                pre.withUnsafeMutableBufferPointer { pre in
                    if gi.requiresGradient { gi.withGradient { g in for i in 0..<g.count { g[i] += pre[i] } } }
                    // gh and b_hh get the same, except that the n block enters as r ⊙ a.
                    for row in 0..<batch {
                        let (gate, state) = (row * 3 * width + 2 * width, row * 4 * width)
                        for j in 0..<width { pre[gate + j] *= s[state + j] }
                    }
                    if gh.requiresGradient { gh.withGradient { g in for i in 0..<g.count { g[i] += pre[i] } } }
                    if bias.requiresGradient {
                        bias.withGradient { g in
                            for row in 0..<batch {
                                for j in 0..<(3 * width) { g[j] += pre[row * 3 * width + j] }
                            }
                        }
                    }
                    if h.requiresGradient {
                        h.withGradient { g in
                            for row in 0..<batch {
                                for j in 0..<width {
                                    g[row * width + j] += dy[row * width + j] * s[row * 4 * width + width + j]
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// One row of ``gruCell(inputGates:hiddenGates:hiddenBias:state:)``'s forward pass.
    @inline(__always)
    private static func gruForward(
        _ gi: UnsafePointer<Scalar>, _ gh: UnsafePointer<Scalar>, _ b: UnsafePointer<Scalar>,
        _ h: UnsafePointer<Scalar>, _ s: UnsafeMutablePointer<Scalar>, _ y: UnsafeMutablePointer<Scalar>, _ width: Int
    ) {
        // s = [r | z | n | a]
        for j in 0..<(2 * width) { s[j] = gi[j] + gh[j] + b[j] }
        Scalar._sigmoid(s, s, 2 * width)
        let (n, a) = (s + 2 * width, s + 3 * width)
        for j in 0..<width {
            a[j] = gh[2 * width + j] + b[2 * width + j]
            n[j] = gi[2 * width + j] + s[j] * a[j]
        }
        Scalar._tanh(n, n, width)
        for j in 0..<width { y[j] = n[j] + s[width + j] * (h[j] - n[j]) }
    }

    /// One row of the backward pass: `dg` receives the gradients of the three pre-activations
    /// (`r`, `z`, and `gi_n`).
    @inline(__always)
    private static func gruBackward(
        _ dy: UnsafePointer<Scalar>, _ h: UnsafePointer<Scalar>, _ s: UnsafePointer<Scalar>,
        _ dg: UnsafeMutablePointer<Scalar>, _ width: Int
    ) {
        for j in 0..<width {
            let (r, z, n, a) = (s[j], s[width + j], s[2 * width + j], s[3 * width + j])
            let d = dy[j]
            let dN = d * (1 - z) * (1 - n * n)
            dg[2 * width + j] = dN
            dg[j] = dN * a * r * (1 - r)
            dg[width + j] = d * (h[j] - n) * z * (1 - z)
        }
    }
}

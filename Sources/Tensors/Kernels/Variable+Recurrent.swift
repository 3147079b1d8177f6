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
        checkArgument(h.shape.count == 2, "gruCell: state \(h.shape) is not (batch, hidden)")
        let (batch, width) = (h.shape[0], h.shape[1])
        checkArgument(
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
                                        GRUCell<Scalar>.forward(
                                            gi + row * 3 * width, gh + row * 3 * width, b, previous: h + row * width,
                                            saved: s + row * 4 * width, state: y + row * width, width)
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

    /// A whole GRU layer over `L` steps from its input projection: `inputGates (B, L, 3H)` =
    /// `x·W_ihᵀ + b_ih` for every step, `hiddenWeight (3H, H)` = `W_hh`, `hiddenBias (3H)` = `b_hh`,
    /// `initial (B, H)` = `h₀`. Returns every step's state `(B, L, H)`; each step is
    /// ``gruCell(inputGates:hiddenGates:hiddenBias:state:)`` after `gh = h·W_hhᵀ`.
    ///
    /// One tape operation for the sequence, run by ``RecurrentDriver`` (each core takes its block
    /// of rows through every step). The weight's gradient, `Σₜ dghₜᵀ·hₜ₋₁`, is one
    /// `(3H, B·L)·(B·L, H)` product after the loop instead of `L` small ones.
    @_specialize(where Scalar == Float)
    public static func gruSequence(
        inputGates gi: Variable, hiddenWeight weight: Variable, hiddenBias bias: Variable, initial: Variable
    ) -> Variable {
        checkArgument(gi.shape.count == 3, "gruSequence: input gates \(gi.shape) are not (batch, steps, 3 × hidden)")
        let (batch, width) = (gi.shape[0], initial.shape.last ?? 0)
        checkArgument(
            initial.shape == [batch, width] && gi.shape[2] == 3 * width && weight.shape == [3 * width, width]
                && bias.shape == [3 * width],
            "gruSequence: input gates \(gi.shape), weight \(weight.shape), bias \(bias.shape) and initial state "
                + "\(initial.shape) do not describe one (batch, steps, hidden) layer")
        typealias Driver = RecurrentDriver<GRUCell<Scalar>>
        let (out, saved) = Driver.forward(
            gates: gi.value, weight: weight.value, bias: bias.value, initial: initial.value, width: width)
        return Variable.result(out, inputs: [gi, weight, bias, initial]) { output, dy in
            let gradients = Driver.backward(
                dy, weight: weight.value, initial: initial.value, states: output.value, saved: saved, width: width)
            if gi.requiresGradient { gi.addGradient(adopting: gradients.inputGates) }
            if initial.requiresGradient { initial.addGradient(adopting: gradients.initial) }
            accumulateHiddenGradients(
                weight: weight, bias: bias, gates: gradients.hiddenGates ?? gradients.inputGates,
                initial: initial.value, states: output.value)
        }
    }

    /// A whole LSTM layer over `L` steps from its input projection (torch's gate order
    /// `i, f, g, o`): `inputGates (B, L, 4H)` = `x·W_ihᵀ + b_ih` for every step, `hiddenWeight
    /// (4H, H)` = `W_hh`, `hiddenBias (4H)` = `b_hh`, `initialHidden` and `initialCell (B, H)`.
    /// ```
    /// i, f, o = σ(gi + h·W_hhᵀ + b_hh)  (their blocks)    g = tanh(its block)
    /// c' = f ⊙ c + i ⊙ g                                  h' = o ⊙ tanh(c')
    /// ```
    /// Returns `(B, L, 2H)`: each step's `[h | c]`. One tape operation, run by
    /// ``RecurrentDriver`` as ``gruSequence(inputGates:hiddenWeight:hiddenBias:initial:)`` is; the
    /// gate gradients are the same for `gi`, `W_hh` and `b_hh`, so one array serves all three.
    @_specialize(where Scalar == Float)
    public static func lstmSequence(
        inputGates gi: Variable, hiddenWeight weight: Variable, hiddenBias bias: Variable, initialHidden h0: Variable,
        initialCell c0: Variable
    ) -> Variable {
        checkArgument(gi.shape.count == 3, "lstmSequence: input gates \(gi.shape) are not (batch, steps, 4 × hidden)")
        let (batch, width) = (gi.shape[0], h0.shape.last ?? 0)
        checkArgument(
            h0.shape == [batch, width] && c0.shape == [batch, width] && gi.shape[2] == 4 * width
                && weight.shape == [4 * width, width] && bias.shape == [4 * width],
            "lstmSequence: input gates \(gi.shape), weight \(weight.shape), bias \(bias.shape) and initial states "
                + "\(h0.shape), \(c0.shape) do not describe one (batch, steps, hidden) layer")
        typealias Driver = RecurrentDriver<LSTMCell<Scalar>>
        // The driver's state rows are [h | c].
        let initial = Self.joinedColumns(h0.value, c0.value)
        let (out, saved) = Driver.forward(
            gates: gi.value, weight: weight.value, bias: bias.value, initial: initial, width: width)
        return Variable.result(out, inputs: [gi, weight, bias, h0, c0]) { output, dy in
            let gradients = Driver.backward(
                dy, weight: weight.value, initial: initial, states: output.value, saved: saved, width: width)
            // Shared, not copied: the weight and bias gradients below only read the gate gradients.
            if gi.requiresGradient { gi.addGradient(adopting: gradients.inputGates) }
            let (dh0, dc0) = Self.splitColumns(gradients.initial)
            if h0.requiresGradient { h0.addGradient(adopting: dh0) }
            if c0.requiresGradient { c0.addGradient(adopting: dc0) }
            accumulateHiddenGradients(
                weight: weight, bias: bias, gates: gradients.inputGates, initial: initial, states: output.value)
        }
    }

    /// The gradients of a recurrent layer's `W_hh` and `b_hh` from its gate gradients `gates
    /// (B, L, G)`: `dW_hh += Σ over (row, t) of gatesᵀ · h_{t-1}` as one `(G, B·L)·(B·L, H)`
    /// product, with `h_{t-1}` gathered from the first `H` columns of the rows of `initial (B, S)`
    /// and `states (B, L, S)`; `db_hh += Σ gates`.
    private static func accumulateHiddenGradients(
        weight: Variable, bias: Variable, gates: Tensor<Scalar>, initial: Tensor<Scalar>, states: Tensor<Scalar>
    ) {
        let (batch, steps, gateRow) = (gates.shape[0], gates.shape[1], gates.shape[2])
        let (width, stateRow) = (weight.shape[1], states.shape[2])
        if weight.requiresGradient {
            var previous = Tensor<Scalar>(uninitialized: [batch * steps, width])
            previous.scalars.withUnsafeMutableBufferPointer { p in
                initial.scalars.withUnsafeBufferPointer { h0 in
                    states.scalars.withUnsafeBufferPointer { y in
                        guard let p = p.baseAddress, let h0 = h0.baseAddress, let y = y.baseAddress else { return }
                        for row in 0..<batch {
                            let at = row * steps
                            (p + at * width).update(from: h0 + row * stateRow, count: width)
                            for t in 1..<max(1, steps) {
                                (p + (at + t) * width).update(from: y + (at + t - 1) * stateRow, count: width)
                            }
                        }
                    }
                }
            }
            weight.withGradientArray { dw, beta in
                gates.scalars.withUnsafeBufferPointer { dg in
                    previous.scalars.withUnsafeBufferPointer { p in
                        dw.withUnsafeMutableBufferPointer { dw in
                            guard let dg = dg.baseAddress, let p = p.baseAddress, let dw = dw.baseAddress else {
                                return
                            }
                            Scalar._gemm(
                                .transposed, .none, m: gateRow, n: width, k: batch * steps, alpha: 1, a: dg,
                                lda: gateRow, b: p, ldb: width, beta: beta, c: dw, ldc: width)
                        }
                    }
                }
            }
        }
        if bias.requiresGradient {
            gates.scalars.withUnsafeBufferPointer { dg in
                bias.withGradient { g in
                    for at in 0..<(batch * steps) {
                        for j in 0..<gateRow { g[j] += dg[at * gateRow + j] }
                    }
                }
            }
        }
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

    /// `[a | b]` row by row, for two `(rows, H)` tensors.
    private static func joinedColumns(_ a: Tensor<Scalar>, _ b: Tensor<Scalar>) -> Tensor<Scalar> {
        let (rows, width) = (a.shape[0], a.shape[1])
        var result = Tensor<Scalar>(uninitialized: [rows, 2 * width])
        for row in 0..<rows {
            for j in 0..<width {
                result.scalars[row * 2 * width + j] = a.scalars[row * width + j]
                result.scalars[row * 2 * width + width + j] = b.scalars[row * width + j]
            }
        }
        return result
    }

    /// The two halves of a `(rows, 2H)` tensor's columns.
    private static func splitColumns(_ joined: Tensor<Scalar>) -> (Tensor<Scalar>, Tensor<Scalar>) {
        let (rows, width) = (joined.shape[0], joined.shape[1] / 2)
        var (a, b) = (Tensor<Scalar>(uninitialized: [rows, width]), Tensor<Scalar>(uninitialized: [rows, width]))
        for row in 0..<rows {
            for j in 0..<width {
                a.scalars[row * width + j] = joined.scalars[row * 2 * width + j]
                b.scalars[row * width + j] = joined.scalars[row * 2 * width + width + j]
            }
        }
        return (a, b)
    }
}

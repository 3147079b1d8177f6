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

    /// A whole GRU layer over `L` steps from its input projection: `inputGates (B, L, 3H)` =
    /// `x·W_ihᵀ + b_ih` for every step, `hiddenWeight (3H, H)` = `W_hh`, `hiddenBias (3H)` = `b_hh`,
    /// `initial (B, H)` = `h₀`. Returns every step's state `(B, L, H)`; each step is
    /// ``gruCell(inputGates:hiddenGates:hiddenBias:state:)`` after `gh = h·W_hhᵀ`.
    ///
    /// One tape operation for the sequence: the rows of the batch are independent through time,
    /// so each core runs its block of rows through all `L` steps (forward, then backward through
    /// time) with no synchronization per step. The weight's gradient, `Σₜ dghₜᵀ·hₜ₋₁`, is one
    /// `(3H, B·L)·(B·L, H)` product after the loop instead of `L` small ones.
    @_specialize(where Scalar == Float)
    public static func gruSequence(
        inputGates gi: Variable, hiddenWeight weight: Variable, hiddenBias bias: Variable, initial: Variable
    ) -> Variable {
        checkArgument(gi.shape.count == 3, "gruSequence: input gates \(gi.shape) are not (batch, steps, 3 × hidden)")
        let (batch, steps, width) = (gi.shape[0], gi.shape[1], initial.shape.last ?? 0)
        checkArgument(
            initial.shape == [batch, width] && gi.shape[2] == 3 * width && weight.shape == [3 * width, width]
                && bias.shape == [3 * width],
            "gruSequence: input gates \(gi.shape), weight \(weight.shape), bias \(bias.shape) and initial state "
                + "\(initial.shape) do not describe one (batch, steps, hidden) layer")
        let (gateRow, stateRow, savedRow) = (3 * width, width, 4 * width)
        // Per step and row: r, z, n, a — what the backward pass reads.
        var saved = Tensor<Scalar>(uninitialized: [batch, steps, savedRow])
        var out = Tensor<Scalar>(uninitialized: [batch, steps, width])
        // Two blocks on two cores: each block's (rows, H)·(H, 3H) product packs W_hh once per step,
        // so more, smaller blocks only add packing.
        let blockRows = max(1, batch / Parallel.threadCount)
        if batch > 0, steps > 0, width > 0 {
            gi.value.scalars.withUnsafeBufferPointer { gi in
                weight.value.scalars.withUnsafeBufferPointer { w in
                    bias.value.scalars.withUnsafeBufferPointer { b in
                        initial.value.scalars.withUnsafeBufferPointer { h0 in
                            saved.scalars.withUnsafeMutableBufferPointer { s in
                                out.scalars.withUnsafeMutableBufferPointer { y in
                                    guard let gi = gi.baseAddress, let w = w.baseAddress, let b = b.baseAddress,
                                        let h0 = h0.baseAddress, let s = s.baseAddress, let y = y.baseAddress
                                    else { return }
                                    Parallel.forEachChunk(of: 0..<batch, minimumChunk: blockRows) { rows in
                                        let gh = UnsafeMutablePointer<Scalar>.allocate(capacity: rows.count * gateRow)
                                        defer { gh.deallocate() }
                                        for t in 0..<steps {
                                            // h_{t-1} of the block: rows of h₀, or step t-1 of the output.
                                            let (previous, ld) =
                                                t == 0
                                                ? (UnsafePointer(h0 + rows.lowerBound * stateRow), stateRow)
                                                : (
                                                    UnsafePointer(y + (rows.lowerBound * steps + t - 1) * stateRow),
                                                    steps * stateRow
                                                )
                                            Scalar._gemm(
                                                .none, .transposed, m: rows.count, n: gateRow, k: width, alpha: 1,
                                                a: previous, lda: ld, b: w, ldb: width, beta: 0, c: gh, ldc: gateRow)
                                            for (i, row) in rows.enumerated() {
                                                let at = row * steps + t
                                                gruForward(
                                                    gi + at * gateRow, gh + i * gateRow, b, previous + i * ld,
                                                    s + at * savedRow, y + at * stateRow, width)
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return Variable.result(out, inputs: [gi, weight, bias, initial]) { output, dy in
            guard batch > 0, steps > 0, width > 0 else { return }
            // The gradients of gi and of gh = h·W_hhᵀ at every step, and of h₀ (every element written).
            var dInput = Tensor<Scalar>(uninitialized: [batch, steps, gateRow])
            var dHidden = Tensor<Scalar>(uninitialized: [batch, steps, gateRow])
            var dInitial = Tensor<Scalar>(uninitialized: [batch, width])
            weight.value.scalars.withUnsafeBufferPointer { w in
                initial.value.scalars.withUnsafeBufferPointer { h0 in
                    output.value.scalars.withUnsafeBufferPointer { y in
                        saved.scalars.withUnsafeBufferPointer { s in
                            dInput.scalars.withUnsafeMutableBufferPointer { dgi in
                                dHidden.scalars.withUnsafeMutableBufferPointer { dgh in
                                    dInitial.scalars.withUnsafeMutableBufferPointer { dh0 in
                                        guard let w = w.baseAddress, let h0 = h0.baseAddress, let y = y.baseAddress,
                                            let s = s.baseAddress, let dgi = dgi.baseAddress,
                                            let dgh = dgh.baseAddress, let dh0 = dh0.baseAddress,
                                            let dy = dy.baseAddress
                                        else { return }
                                        Parallel.forEachChunk(of: 0..<batch, minimumChunk: blockRows) { rows in
                                            // dL/dh_t of the block, carried back through time; it ends as dL/dh₀.
                                            let dh = dh0 + rows.lowerBound * stateRow
                                            dh.update(repeating: 0, count: rows.count * stateRow)
                                            for t in (0..<steps).reversed() {
                                                for (i, row) in rows.enumerated() {
                                                    let at = row * steps + t
                                                    let previous =
                                                        t == 0 ? h0 + row * stateRow : y + (at - 1) * stateRow
                                                    gruBackward(
                                                        dy + at * stateRow, dh + i * stateRow, previous,
                                                        s + at * savedRow, dgi + at * gateRow, dgh + at * gateRow, width
                                                    )
                                                }
                                                // dh_{t-1} = dh_t ⊙ z (set above) + dgh_t · W_hh
                                                let first = rows.lowerBound * steps + t
                                                Scalar._gemm(
                                                    .none, .none, m: rows.count, n: width, k: gateRow, alpha: 1,
                                                    a: dgh + first * gateRow, lda: steps * gateRow, b: w, ldb: width,
                                                    beta: 1, c: dh, ldc: width)
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            if gi.requiresGradient { gi.addGradient(adopting: dInput) }
            if initial.requiresGradient { initial.addGradient(adopting: dInitial) }
            accumulateHiddenGradients(
                weight: weight, bias: bias, gates: dHidden, initial: initial, states: output, stateRow: width)
        }
    }

    /// A whole LSTM layer over `L` steps from its input projection (torch's gate order
    /// `i, f, g, o`): `inputGates (B, L, 4H)` = `x·W_ihᵀ + b_ih` for every step, `hiddenWeight
    /// (4H, H)` = `W_hh`, `hiddenBias (4H)` = `b_hh`, `initialHidden` and `initialCell (B, H)`.
    /// ```
    /// i, f, o = σ(gi + h·W_hhᵀ + b_hh)  (their blocks)    g = tanh(its block)
    /// c' = f ⊙ c + i ⊙ g                                  h' = o ⊙ tanh(c')
    /// ```
    /// Returns `(B, L, 2H)`: each step's `[h | c]`. One tape operation, split over the cores by
    /// rows of the batch as ``gruSequence(inputGates:hiddenWeight:hiddenBias:initial:)`` is; the
    /// gate gradients are the same for `gi`, `W_hh` and `b_hh`, so one array serves all three.
    @_specialize(where Scalar == Float)
    public static func lstmSequence(
        inputGates gi: Variable, hiddenWeight weight: Variable, hiddenBias bias: Variable, initialHidden h0: Variable,
        initialCell c0: Variable
    ) -> Variable {
        checkArgument(gi.shape.count == 3, "lstmSequence: input gates \(gi.shape) are not (batch, steps, 4 × hidden)")
        let (batch, steps, width) = (gi.shape[0], gi.shape[1], h0.shape.last ?? 0)
        checkArgument(
            h0.shape == [batch, width] && c0.shape == [batch, width] && gi.shape[2] == 4 * width
                && weight.shape == [4 * width, width] && bias.shape == [4 * width],
            "lstmSequence: input gates \(gi.shape), weight \(weight.shape), bias \(bias.shape) and initial states "
                + "\(h0.shape), \(c0.shape) do not describe one (batch, steps, hidden) layer")
        let (gateRow, outRow, savedRow) = (4 * width, 2 * width, 5 * width)
        // Per step and row: i, f, g, o, tanh(c') — what the backward pass reads.
        var saved = Tensor<Scalar>(uninitialized: [batch, steps, savedRow])
        var out = Tensor<Scalar>(uninitialized: [batch, steps, outRow])
        let blockRows = max(1, batch / Parallel.threadCount)
        if batch > 0, steps > 0, width > 0 {
            gi.value.scalars.withUnsafeBufferPointer { gi in
                weight.value.scalars.withUnsafeBufferPointer { w in
                    bias.value.scalars.withUnsafeBufferPointer { b in
                        h0.value.scalars.withUnsafeBufferPointer { h0 in
                            c0.value.scalars.withUnsafeBufferPointer { c0 in
                                saved.scalars.withUnsafeMutableBufferPointer { s in
                                    out.scalars.withUnsafeMutableBufferPointer { y in
                                        guard let gi = gi.baseAddress, let w = w.baseAddress, let b = b.baseAddress,
                                            let h0 = h0.baseAddress, let c0 = c0.baseAddress, let s = s.baseAddress,
                                            let y = y.baseAddress
                                        else { return }
                                        Parallel.forEachChunk(of: 0..<batch, minimumChunk: blockRows) { rows in
                                            let gh = UnsafeMutablePointer<Scalar>.allocate(
                                                capacity: rows.count * gateRow)
                                            defer { gh.deallocate() }
                                            for t in 0..<steps {
                                                let (previous, ld) =
                                                    t == 0
                                                    ? (UnsafePointer(h0 + rows.lowerBound * width), width)
                                                    : (
                                                        UnsafePointer(y + (rows.lowerBound * steps + t - 1) * outRow),
                                                        steps * outRow
                                                    )
                                                Scalar._gemm(
                                                    .none, .transposed, m: rows.count, n: gateRow, k: width, alpha: 1,
                                                    a: previous, lda: ld, b: w, ldb: width, beta: 0, c: gh,
                                                    ldc: gateRow)
                                                for (i, row) in rows.enumerated() {
                                                    let at = row * steps + t
                                                    let cell: UnsafePointer<Scalar> =
                                                        t == 0
                                                        ? c0 + row * width
                                                        : UnsafePointer(y + (at - 1) * outRow + width)
                                                    lstmForward(
                                                        gi + at * gateRow, gh + i * gateRow, b, cell,
                                                        s + at * savedRow, y + at * outRow, width)
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return Variable.result(out, inputs: [gi, weight, bias, h0, c0]) { output, dy in
            guard batch > 0, steps > 0, width > 0 else { return }
            // The gate gradients at every step, and dL/dh₀, dL/dc₀ (every element written).
            var dGates = Tensor<Scalar>(uninitialized: [batch, steps, gateRow])
            var dHidden = Tensor<Scalar>(uninitialized: [batch, width])
            var dCell = Tensor<Scalar>(uninitialized: [batch, width])
            weight.value.scalars.withUnsafeBufferPointer { w in
                c0.value.scalars.withUnsafeBufferPointer { c0 in
                    output.value.scalars.withUnsafeBufferPointer { y in
                        saved.scalars.withUnsafeBufferPointer { s in
                            dGates.scalars.withUnsafeMutableBufferPointer { dg in
                                dHidden.scalars.withUnsafeMutableBufferPointer { dh0 in
                                    dCell.scalars.withUnsafeMutableBufferPointer { dc0 in
                                        guard let w = w.baseAddress, let c0 = c0.baseAddress, let y = y.baseAddress,
                                            let s = s.baseAddress, let dg = dg.baseAddress, let dh0 = dh0.baseAddress,
                                            let dc0 = dc0.baseAddress, let dy = dy.baseAddress
                                        else { return }
                                        Parallel.forEachChunk(of: 0..<batch, minimumChunk: blockRows) { rows in
                                            // dL/dh_t and dL/dc_t of the block, carried back through time.
                                            let dh = dh0 + rows.lowerBound * width
                                            let dc = dc0 + rows.lowerBound * width
                                            dh.update(repeating: 0, count: rows.count * width)
                                            dc.update(repeating: 0, count: rows.count * width)
                                            for t in (0..<steps).reversed() {
                                                for (i, row) in rows.enumerated() {
                                                    let at = row * steps + t
                                                    let cell: UnsafePointer<Scalar> =
                                                        t == 0 ? c0 + row * width : y + (at - 1) * outRow + width
                                                    lstmBackward(
                                                        dy + at * outRow, dh + i * width, dc + i * width, cell,
                                                        s + at * savedRow, dg + at * gateRow, width)
                                                }
                                                // dh_{t-1} = dgates_t · W_hh
                                                let first = rows.lowerBound * steps + t
                                                Scalar._gemm(
                                                    .none, .none, m: rows.count, n: width, k: gateRow, alpha: 1,
                                                    a: dg + first * gateRow, lda: steps * gateRow, b: w, ldb: width,
                                                    beta: 0, c: dh, ldc: width)
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            // Shared, not copied: the weight and bias gradients below only read dGates.
            if gi.requiresGradient { gi.addGradient(adopting: dGates) }
            if h0.requiresGradient { h0.addGradient(adopting: dHidden) }
            if c0.requiresGradient { c0.addGradient(adopting: dCell) }
            accumulateHiddenGradients(
                weight: weight, bias: bias, gates: dGates, initial: h0, states: output, stateRow: outRow)
        }
    }

    /// The gradients of a recurrent layer's `W_hh` and `b_hh` from its gate gradients `gates
    /// (B, L, G)`: `dW_hh += Σ over (row, t) of gatesᵀ · h_{t-1}` as one `(G, B·L)·(B·L, H)`
    /// product, with `h_{t-1}` gathered from `initial (B, H)` and the first `H` columns of each
    /// `stateRow`-wide row of `states (B, L, ·)`; `db_hh += Σ gates`.
    private static func accumulateHiddenGradients(
        weight: Variable, bias: Variable, gates: Tensor<Scalar>, initial: Variable, states: Variable, stateRow: Int
    ) {
        let (batch, steps, gateRow) = (gates.shape[0], gates.shape[1], gates.shape[2])
        let width = weight.shape[1]
        if weight.requiresGradient {
            var previous = Tensor<Scalar>(uninitialized: [batch * steps, width])
            previous.scalars.withUnsafeMutableBufferPointer { p in
                initial.value.scalars.withUnsafeBufferPointer { h0 in
                    states.value.scalars.withUnsafeBufferPointer { y in
                        guard let p = p.baseAddress, let h0 = h0.baseAddress, let y = y.baseAddress else { return }
                        for row in 0..<batch {
                            let at = row * steps
                            (p + at * width).update(from: h0 + row * width, count: width)
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

    /// One row of one step of ``lstmSequence(inputGates:hiddenWeight:hiddenBias:initialHidden:initialCell:)``:
    /// `s` gets `[i | f | g | o | tanh(c')]`, `y` gets `[h' | c']`.
    @inline(__always)
    private static func lstmForward(
        _ gi: UnsafePointer<Scalar>, _ gh: UnsafePointer<Scalar>, _ b: UnsafePointer<Scalar>,
        _ c: UnsafePointer<Scalar>, _ s: UnsafeMutablePointer<Scalar>, _ y: UnsafeMutablePointer<Scalar>, _ width: Int
    ) {
        for j in 0..<(4 * width) { s[j] = gi[j] + gh[j] + b[j] }
        Scalar._sigmoid(s, s, 2 * width)  // i, f
        Scalar._tanh(s + 2 * width, s + 2 * width, width)  // g
        Scalar._sigmoid(s + 3 * width, s + 3 * width, width)  // o
        let tc = s + 4 * width
        for j in 0..<width {
            let cell = s[width + j] * c[j] + s[j] * s[2 * width + j]
            y[width + j] = cell
            tc[j] = cell
        }
        Scalar._tanh(tc, tc, width)
        for j in 0..<width { y[j] = s[3 * width + j] * tc[j] }
    }

    /// One row of one step of the LSTM's backward pass. In: `dy` = `[dh' | dc']` from the
    /// output, `dh`, `dc` from the later steps, `c` the previous cell.
    /// Out: the gate gradients into `dg`, `dc ⊙ f` into `dc` (`dh` is then overwritten by the
    /// caller's product).
    @inline(__always)
    private static func lstmBackward(
        _ dy: UnsafePointer<Scalar>, _ dh: UnsafeMutablePointer<Scalar>, _ dc: UnsafeMutablePointer<Scalar>,
        _ c: UnsafePointer<Scalar>, _ s: UnsafePointer<Scalar>, _ dg: UnsafeMutablePointer<Scalar>, _ width: Int
    ) {
        for j in 0..<width {
            let (i, f, g, o, tc) = (s[j], s[width + j], s[2 * width + j], s[3 * width + j], s[4 * width + j])
            let dH = dy[j] + dh[j]
            let dC = dy[width + j] + dc[j] + dH * o * (1 - tc * tc)
            dg[j] = dC * g * i * (1 - i)
            dg[width + j] = dC * c[j] * f * (1 - f)
            dg[2 * width + j] = dC * i * (1 - g * g)
            dg[3 * width + j] = dH * tc * o * (1 - o)
            dc[j] = dC * f
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

    /// One row of one step of ``gruSequence(inputGates:hiddenWeight:hiddenBias:initial:)``'s
    /// backward pass. In: `dy` from the output, `dh` from the later steps. Out: the gradients of
    /// the pre-activations into `dgi` (r, z, gi_n) and `dgh` (r, z, gh_n), and `dh ⊙ z` into `dh`
    /// (the part of dL/dh_{t-1} that does not pass through W_hh).
    @inline(__always)
    private static func gruBackward(
        _ dy: UnsafePointer<Scalar>, _ dh: UnsafeMutablePointer<Scalar>, _ h: UnsafePointer<Scalar>,
        _ s: UnsafePointer<Scalar>, _ dgi: UnsafeMutablePointer<Scalar>, _ dgh: UnsafeMutablePointer<Scalar>,
        _ width: Int
    ) {
        for j in 0..<width {
            let (r, z, n, a) = (s[j], s[width + j], s[2 * width + j], s[3 * width + j])
            let d = dy[j] + dh[j]
            let dN = d * (1 - z) * (1 - n * n)
            let dR = dN * a * r * (1 - r)
            let dZ = d * (h[j] - n) * z * (1 - z)
            dgi[j] = dR
            dgi[width + j] = dZ
            dgi[2 * width + j] = dN
            dgh[j] = dR
            dgh[width + j] = dZ
            dgh[2 * width + j] = dN * r
            dh[j] = d * z
        }
    }
}

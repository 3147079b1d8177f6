/// The arithmetic of one recurrent cell on one row of one step, which ``RecurrentDriver`` runs
/// through a whole sequence. A step's state row (`stateWidth` values) starts with the hidden
/// state `h`, the only part that enters the next step through `W_hh`.
protocol RecurrentCell {
    associatedtype Scalar: TensorScalar
    /// Gate pre-activations per row: `3H` for the GRU, `4H` for the LSTM.
    static func gateWidth(_ width: Int) -> Int
    /// What a step keeps per row for the backward pass.
    static func savedWidth(_ width: Int) -> Int
    /// A step's output per row, `h` first.
    static func stateWidth(_ width: Int) -> Int
    /// Whether the gradient of `h·W_hhᵀ` differs from that of the input gates (the GRU's `n`
    /// block does); when it does not, one array serves both.
    static var hiddenGatesDiffer: Bool { get }

    /// `gi`, `gh` (`gateWidth`) and the bias give the pre-activations; `previous` is the state
    /// row of the step before. Writes `saved` (`savedWidth`) and `state` (`stateWidth`).
    static func forward(
        _ gi: UnsafePointer<Scalar>, _ gh: UnsafePointer<Scalar>, _ bias: UnsafePointer<Scalar>,
        previous: UnsafePointer<Scalar>, saved: UnsafeMutablePointer<Scalar>, state: UnsafeMutablePointer<Scalar>,
        _ width: Int)

    /// `dy` is the output's gradient at this step and `carry` (`stateWidth`) the gradient of the
    /// state from the later steps. Writes the gradients of the input gates into `dgi` and of
    /// `h·W_hhᵀ` into `dgh` (the same pointer unless ``hiddenGatesDiffer``), and replaces `carry`
    /// with the part of the previous state's gradient that does not pass through `W_hh` (the
    /// driver adds `dgh·W_hh` to its first `width` values).
    static func backward(
        _ dy: UnsafePointer<Scalar>, carry: UnsafeMutablePointer<Scalar>, previous: UnsafePointer<Scalar>,
        saved: UnsafePointer<Scalar>, dgi: UnsafeMutablePointer<Scalar>, dgh: UnsafeMutablePointer<Scalar>,
        _ width: Int)
}

/// Runs a ``RecurrentCell`` over `(batch, steps)`: the rows of the batch are independent through
/// time, so each core takes a block of rows through all the steps, forward and then backward
/// through time, with no synchronization per step. Per step, a block's `h·W_hhᵀ` (forward) and
/// `dgh·W_hh` (backward) are one product each.
enum RecurrentDriver<Cell: RecurrentCell> {
    typealias Scalar = Cell.Scalar

    /// Two blocks on two cores: each block's `(rows, H)·(H, G)` product packs `W_hh` once per
    /// step, so more, smaller blocks only add packing.
    private static func blockRows(_ batch: Int) -> Int { max(1, batch / Parallel.threadCount) }

    /// Every step's state `(batch, steps, stateWidth)` and what the backward pass reads, from the
    /// input gates `(batch, steps, gateWidth)`, `W_hh (gateWidth, H)`, `b_hh` and the initial
    /// state `(batch, stateWidth)`.
    static func forward(
        gates: Tensor<Scalar>, weight: Tensor<Scalar>, bias: Tensor<Scalar>, initial: Tensor<Scalar>, width: Int
    ) -> (states: Tensor<Scalar>, saved: Tensor<Scalar>) {
        let (batch, steps) = (gates.shape[0], gates.shape[1])
        let (gateRow, stateRow, savedRow) = (Cell.gateWidth(width), Cell.stateWidth(width), Cell.savedWidth(width))
        var saved = Tensor<Scalar>(uninitialized: [batch, steps, savedRow])
        var out = Tensor<Scalar>(uninitialized: [batch, steps, stateRow])
        guard batch > 0, steps > 0, width > 0 else { return (out, saved) }
        gates.scalars.withUnsafeBufferPointer { gi in
            weight.scalars.withUnsafeBufferPointer { w in
                bias.scalars.withUnsafeBufferPointer { b in
                    initial.scalars.withUnsafeBufferPointer { h0 in
                        saved.scalars.withUnsafeMutableBufferPointer { s in
                            out.scalars.withUnsafeMutableBufferPointer { y in
                                guard let gi = gi.baseAddress, let w = w.baseAddress, let b = b.baseAddress,
                                    let h0 = h0.baseAddress, let s = s.baseAddress, let y = y.baseAddress
                                else { return }
                                Parallel.forEachChunk(of: 0..<batch, minimumChunk: blockRows(batch)) { rows in
                                    let gh = UnsafeMutablePointer<Scalar>.allocate(capacity: rows.count * gateRow)
                                    defer { gh.deallocate() }
                                    for t in 0..<steps {
                                        // The block's states at t - 1: rows of the initial state, or of the output.
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
                                            Cell.forward(
                                                gi + at * gateRow, gh + i * gateRow, b, previous: previous + i * ld,
                                                saved: s + at * savedRow, state: y + at * stateRow, width)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (out, saved)
    }

    /// The gradients of the input gates, of `h·W_hhᵀ` at every step (`nil` when they are the
    /// input gates'), and of the initial state, from the output's gradient `dy`.
    static func backward(
        _ dy: UnsafeBufferPointer<Scalar>, weight: Tensor<Scalar>, initial: Tensor<Scalar>, states: Tensor<Scalar>,
        saved: Tensor<Scalar>, width: Int
    ) -> (inputGates: Tensor<Scalar>, hiddenGates: Tensor<Scalar>?, initial: Tensor<Scalar>) {
        let (batch, steps) = (states.shape[0], states.shape[1])
        let (gateRow, stateRow, savedRow) = (Cell.gateWidth(width), Cell.stateWidth(width), Cell.savedWidth(width))
        // Every element of the three is written below.
        var dInput = Tensor<Scalar>(uninitialized: [batch, steps, gateRow])
        var dHidden = Cell.hiddenGatesDiffer ? Tensor<Scalar>(uninitialized: [batch, steps, gateRow]) : nil
        var dInitial = Tensor<Scalar>(uninitialized: [batch, stateRow])
        guard batch > 0, steps > 0, width > 0 else { return (dInput, dHidden, dInitial) }
        func withHiddenGates(_ body: (UnsafeMutablePointer<Scalar>?) -> Void) {
            guard dHidden != nil else { return body(nil) }
            dHidden?.scalars.withUnsafeMutableBufferPointer { body($0.baseAddress) }
        }
        weight.scalars.withUnsafeBufferPointer { w in
            initial.scalars.withUnsafeBufferPointer { h0 in
                states.scalars.withUnsafeBufferPointer { y in
                    saved.scalars.withUnsafeBufferPointer { s in
                        dInput.scalars.withUnsafeMutableBufferPointer { dgi in
                            withHiddenGates { dgh in
                                dInitial.scalars.withUnsafeMutableBufferPointer { dh0 in
                                    guard let w = w.baseAddress, let h0 = h0.baseAddress, let y = y.baseAddress,
                                        let s = s.baseAddress, let dgi = dgi.baseAddress, let dh0 = dh0.baseAddress,
                                        let dy = dy.baseAddress
                                    else { return }
                                    let dgh = dgh ?? dgi
                                    Parallel.forEachChunk(of: 0..<batch, minimumChunk: blockRows(batch)) { rows in
                                        // The block's state gradients, carried back through time; they end
                                        // as the initial state's.
                                        let carry = dh0 + rows.lowerBound * stateRow
                                        carry.update(repeating: 0, count: rows.count * stateRow)
                                        for t in (0..<steps).reversed() {
                                            for (i, row) in rows.enumerated() {
                                                let at = row * steps + t
                                                let previous = t == 0 ? h0 + row * stateRow : y + (at - 1) * stateRow
                                                Cell.backward(
                                                    dy + at * stateRow, carry: carry + i * stateRow,
                                                    previous: previous, saved: s + at * savedRow,
                                                    dgi: dgi + at * gateRow, dgh: dgh + at * gateRow, width)
                                            }
                                            // dh_{t-1} += dgh_t · W_hh
                                            let first = rows.lowerBound * steps + t
                                            Scalar._gemm(
                                                .none, .none, m: rows.count, n: width, k: gateRow, alpha: 1,
                                                a: dgh + first * gateRow, lda: steps * gateRow, b: w, ldb: width,
                                                beta: 1, c: carry, ldc: stateRow)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (dInput, dHidden, dInitial)
    }
}

/// The GRU (torch's gate order `r, z, n`); the state is `h`; a step saves `[r | z | n | a]`.
enum GRUCell<Scalar: TensorScalar>: RecurrentCell {
    static func gateWidth(_ width: Int) -> Int { 3 * width }
    static func savedWidth(_ width: Int) -> Int { 4 * width }
    static func stateWidth(_ width: Int) -> Int { width }
    static var hiddenGatesDiffer: Bool { true }

    @inline(__always)
    static func forward(
        _ gi: UnsafePointer<Scalar>, _ gh: UnsafePointer<Scalar>, _ b: UnsafePointer<Scalar>,
        previous h: UnsafePointer<Scalar>, saved s: UnsafeMutablePointer<Scalar>, state y: UnsafeMutablePointer<Scalar>,
        _ width: Int
    ) {
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

    /// `dgi` gets the gradients of `r`, `z` and `gi_n`; `dgh` those of `r`, `z` and `gh_n`
    /// (`dN r`); `carry` becomes `dh ⊙ z`.
    @inline(__always)
    static func backward(
        _ dy: UnsafePointer<Scalar>, carry dh: UnsafeMutablePointer<Scalar>, previous h: UnsafePointer<Scalar>,
        saved s: UnsafePointer<Scalar>, dgi: UnsafeMutablePointer<Scalar>, dgh: UnsafeMutablePointer<Scalar>,
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

/// The LSTM (torch's gate order `i, f, g, o`); the state is `[h | c]`; a step saves
/// `[i | f | g | o | tanh(c')]`.
enum LSTMCell<Scalar: TensorScalar>: RecurrentCell {
    static func gateWidth(_ width: Int) -> Int { 4 * width }
    static func savedWidth(_ width: Int) -> Int { 5 * width }
    static func stateWidth(_ width: Int) -> Int { 2 * width }
    static var hiddenGatesDiffer: Bool { false }

    @inline(__always)
    static func forward(
        _ gi: UnsafePointer<Scalar>, _ gh: UnsafePointer<Scalar>, _ b: UnsafePointer<Scalar>,
        previous: UnsafePointer<Scalar>, saved s: UnsafeMutablePointer<Scalar>, state y: UnsafeMutablePointer<Scalar>,
        _ width: Int
    ) {
        let c = previous + width
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

    /// `dgi` gets the four gate gradients (`dgh` is the same array); `carry` `[dh | dc]` becomes
    /// `[0 | dc ⊙ f]`: all of `dh_{t-1}` passes through `W_hh`.
    @inline(__always)
    static func backward(
        _ dy: UnsafePointer<Scalar>, carry: UnsafeMutablePointer<Scalar>, previous: UnsafePointer<Scalar>,
        saved s: UnsafePointer<Scalar>, dgi dg: UnsafeMutablePointer<Scalar>, dgh _: UnsafeMutablePointer<Scalar>,
        _ width: Int
    ) {
        let (dh, dc, c) = (carry, carry + width, previous + width)
        for j in 0..<width {
            let (i, f, g, o, tc) = (s[j], s[width + j], s[2 * width + j], s[3 * width + j], s[4 * width + j])
            let dH = dy[j] + dh[j]
            let dC = dy[width + j] + dc[j] + dH * o * (1 - tc * tc)
            dg[j] = dC * g * i * (1 - i)
            dg[width + j] = dC * c[j] * f * (1 - f)
            dg[2 * width + j] = dC * i * (1 - g * g)
            dg[3 * width + j] = dH * tc * o * (1 - o)
            dh[j] = 0
            dc[j] = dC * f
        }
    }
}

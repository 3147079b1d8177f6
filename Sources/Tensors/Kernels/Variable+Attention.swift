/// Fused scaled dot-product self-attention: one tape operation from the packed projections to
/// the merged heads, never holding the `(B·A, L, L)` score matrices of the whole batch.
///
/// Legend: `B` batch, `L` steps, `A` heads, `D` per head, `E = A·D`. Per batch row and head (a
/// "unit"), with `Q`, `K`, `V` the head's `(L, D)` columns of the packed input and `M` the
/// dropout mask (entries `0` or `1 / (1 − p)`; all ones without dropout):
/// ```
/// S = Q·Kᵀ / √D            P = softmax(S) over the visible keys of each row
/// O = (P ⊙ M)·V            lse_i = log Σ_j exp(S_ij)   (kept for backward)
/// ```
/// Backward recomputes `P = exp(S − lse)` from `Q`, `K` and `lse` and `M` from its seed, then
/// `dV = (P ⊙ M)ᵀ·dO`, `dP = (dO·Vᵀ) ⊙ M`, `dS = P ⊙ (dP − Σ_j dP ⊙ P)`, `dQ = dS·K / √D`,
/// `dK = dSᵀ·Q / √D`. Each unit's `(L, L)` scores live in a per-thread scratch buffer (160 KB
/// at L = 200, in cache), and the units spread over the cores.
///
/// Causal attention computes only the blocks on and below the diagonal: queries go in blocks
/// of about `L / 4` rows, and block `[i₀, i₁)` multiplies against keys `[0, i₁)` only (about
/// 60% of the products of the full square).
extension Variable {
    /// Self-attention over `self`, the packed projections `(B, L, 3E)`: each step holds
    /// `[q | k | v]`, and head `a` is columns `a·D ..< (a+1)·D` of each. Returns `(B, L, E)` with
    /// the heads side by side — `torch.nn.MultiheadAttention`'s split, attention and merge.
    ///
    /// - Parameters:
    ///   - heads: `A`; `E` must divide by it.
    ///   - causal: Step `i` attends only to steps `≤ i`.
    ///   - keep: Optional key flags, `B · L`, false for padding keys. A query with no visible
    ///     key gets zeros and no gradient, as ``softmax(causal:)`` gives a fully masked row.
    ///   - dropout: The probability of dropping each attention probability (inverted dropout,
    ///     as torch's `MultiheadAttention` applies it); `0` for none.
    ///   - seed: Fixes the dropout mask: each row of each unit draws from its own
    ///     ``SplitMix64`` stream derived from it, so the mask does not depend on the threads.
    @_specialize(where Scalar == Float)
    public func selfAttention(
        heads: Int, causal: Bool, keep: [Bool]? = nil, dropout: Scalar = 0, seed: UInt64 = 0
    ) -> Variable {
        checkArgument(
            shape.count == 3 && heads > 0 && shape[2] % (3 * heads) == 0,
            "selfAttention: packed input \(shape) is not (batch, steps, 3 × width) with width divisible by \(heads) heads"
        )
        checkArgument(dropout >= 0 && dropout < 1, "selfAttention: dropout \(dropout) outside [0, 1)")
        let (batch, steps, width) = (shape[0], shape[1], shape[2] / 3)
        let d = width / heads
        checkArgument(
            keep == nil || keep?.count == batch * steps,
            "selfAttention: \(keep?.count ?? 0) padding flags for \(batch)×\(steps)")
        let layout = AttentionLayout(
            batch: batch, steps: steps, heads: heads, depth: d, causal: causal, keep: keep,
            dropout: Double(dropout), seed: seed)
        let blocks = layout.queryBlocks
        var out = Tensor<Scalar>(uninitialized: [batch, steps, width])
        var logSumExp = Tensor<Scalar>(uninitialized: [batch * heads, steps])
        if out.count > 0 {
            value.scalars.withUnsafeBufferPointer { qkv in
                out.scalars.withUnsafeMutableBufferPointer { y in
                    logSumExp.scalars.withUnsafeMutableBufferPointer { lse in
                        guard let qkv = qkv.baseAddress, let y = y.baseAddress, let lse = lse.baseAddress else {
                            return
                        }
                        Parallel.forEachChunk(of: 0..<(batch * heads)) { units in
                            let p = UnsafeMutablePointer<Scalar>.allocate(capacity: steps * steps)
                            defer { p.deallocate() }
                            for unit in units {
                                let (q, k, v) = layout.projections(qkv, unit)
                                for (rows, keys) in blocks {
                                    layout.scores(q, k, rows: rows, keys: keys, into: p)
                                    for i in rows {
                                        let row = p + i * steps
                                        lse[unit * steps + i] = layout.softmaxRow(row, unit: unit, query: i, keys: keys)
                                        layout.applyDropout(row, unit: unit, query: i)
                                    }
                                    // O = (P ⊙ M)·V, written into the head's columns of the merged output.
                                    Scalar._gemm(
                                        .none, .none, m: rows.count, n: d, k: keys, alpha: 1,
                                        a: p + rows.lowerBound * steps,
                                        lda: steps, b: v, ldb: 3 * width, beta: 0,
                                        c: y + layout.outputOffset(unit) + rows.lowerBound * width, ldc: width)
                                }
                            }
                        }
                    }
                }
            }
        }
        let input = self
        return Variable.result(out, inputs: [self]) { _, dy in
            guard batch * steps * width > 0, let dy = dy.baseAddress else { return }
            // Every element of dqkv belongs to exactly one unit's dQ, dK or dV, and is written.
            var dqkv = Tensor<Scalar>(uninitialized: input.shape)
            input.value.scalars.withUnsafeBufferPointer { qkv in
                logSumExp.scalars.withUnsafeBufferPointer { lse in
                    dqkv.scalars.withUnsafeMutableBufferPointer { dqkv in
                        guard let qkv = qkv.baseAddress, let lse = lse.baseAddress, let dqkv = dqkv.baseAddress
                        else { return }
                        let scale = 1 / Scalar.sqrt(Scalar(d))
                        Parallel.forEachChunk(of: 0..<(batch * heads)) { units in
                            // P (then P ⊙ M), dP (then dS), and M's row for the current query.
                            let p = UnsafeMutablePointer<Scalar>.allocate(capacity: 2 * steps * steps + steps)
                            defer { p.deallocate() }
                            let (dp, mask) = (p + steps * steps, p + 2 * steps * steps)
                            for unit in units {
                                let (q, k, v) = layout.projections(qkv, unit)
                                let (dq, dk, dv) = layout.projections(dqkv, unit)
                                let dO = UnsafePointer(dy + layout.outputOffset(unit))
                                for (rows, keys) in blocks {
                                    let first = rows.lowerBound
                                    layout.scores(q, k, rows: rows, keys: keys, into: p)
                                    // dO·Vᵀ, which the mask turns into dP below
                                    Scalar._gemm(
                                        .none, .transposed, m: rows.count, n: keys, k: d, alpha: 1,
                                        a: dO + first * width, lda: width, b: v, ldb: 3 * width, beta: 0,
                                        c: dp + first * steps, ldc: steps)
                                    for i in rows {
                                        let (pr, dr) = (p + i * steps, dp + i * steps)
                                        layout.probabilityRow(
                                            pr, unit: unit, query: i, keys: keys, lse[unit * steps + i])
                                        if layout.dropout > 0 {
                                            layout.dropoutRow(mask, unit: unit, query: i)
                                            for j in 0..<layout.visible(i) { dr[j] *= mask[j] }
                                        }
                                        // dS = P ⊙ (dP − Σ_j dP ⊙ P); then P becomes P ⊙ M for dV.
                                        let dot = Self.rowSum(keys) { pr[$0] * dr[$0] }
                                        for j in 0..<keys { dr[j] = pr[j] * (dr[j] - dot) }
                                        if layout.dropout > 0 {
                                            for j in 0..<layout.visible(i) { pr[j] *= mask[j] }
                                        }
                                    }
                                    // dQ = dS·K / √D
                                    Scalar._gemm(
                                        .none, .none, m: rows.count, n: d, k: keys, alpha: scale,
                                        a: dp + first * steps, lda: steps, b: k, ldb: 3 * width, beta: 0,
                                        c: dq + first * 3 * width, ldc: 3 * width)
                                }
                                // Keys [j₀, j₁) are seen by queries [j₀, L) only (all queries without the
                                // causal mask): dV = (P ⊙ M)ᵀ·dO and dK = dSᵀ·Q / √D over those rows.
                                for (block, _) in blocks {
                                    let j0 = block.lowerBound
                                    let queries = layout.causal ? j0 : 0
                                    let corner = queries * steps + j0
                                    Scalar._gemm(
                                        .transposed, .none, m: block.count, n: d, k: steps - queries, alpha: 1,
                                        a: p + corner, lda: steps, b: dO + queries * width, ldb: width, beta: 0,
                                        c: dv + j0 * 3 * width, ldc: 3 * width)
                                    Scalar._gemm(
                                        .transposed, .none, m: block.count, n: d, k: steps - queries, alpha: scale,
                                        a: dp + corner, lda: steps, b: q + queries * 3 * width, ldb: 3 * width,
                                        beta: 0, c: dk + j0 * 3 * width, ldc: 3 * width)
                                }
                            }
                        }
                    }
                }
            }
            input.addGradient(adopting: dqkv)
        }
    }
}

/// Where a unit's operands live, which keys each of its queries sees, and its dropout mask.
private struct AttentionLayout {
    let batch: Int
    let steps: Int
    let heads: Int
    let depth: Int
    let causal: Bool
    let keep: [Bool]?
    let dropout: Double
    let seed: UInt64

    var width: Int { heads * depth }

    /// Query rows in blocks, each with the number of leading keys its rows can see: the whole
    /// square in one block without the causal mask; about `L / 4` rows per block with it (at
    /// least 32, so each product stays large enough to run near the kernel's speed).
    var queryBlocks: [(rows: Range<Int>, keys: Int)] {
        guard causal else { return [(0..<steps, steps)] }
        let tile = max(32, (steps + 3) / 4)
        return stride(from: 0, to: steps, by: tile).map { start in
            let end = min(start + tile, steps)
            return (start..<end, end)
        }
    }

    /// The unit's `Q`, `K` and `V` in a packed `(B, L, 3E)` buffer (leading dimension `3E`).
    func projections<T>(_ packed: UnsafePointer<T>, _ unit: Int) -> (
        UnsafePointer<T>, UnsafePointer<T>, UnsafePointer<T>
    ) {
        let q = packed + (unit / heads) * steps * 3 * width + (unit % heads) * depth
        return (q, q + width, q + 2 * width)
    }

    func projections<T>(_ packed: UnsafeMutablePointer<T>, _ unit: Int) -> (
        UnsafeMutablePointer<T>, UnsafeMutablePointer<T>, UnsafeMutablePointer<T>
    ) {
        let q = packed + (unit / heads) * steps * 3 * width + (unit % heads) * depth
        return (q, q + width, q + 2 * width)
    }

    /// The unit's first element in the merged `(B, L, E)` output (leading dimension `E`).
    func outputOffset(_ unit: Int) -> Int { (unit / heads) * steps * width + (unit % heads) * depth }

    /// The number of leading keys query `i` may see before the key flags apply.
    func visible(_ query: Int) -> Int { causal ? query + 1 : steps }

    /// `S = Q·Kᵀ / √D` for query `rows` and the first `keys` keys, into `s`'s rows (leading
    /// dimension `L`).
    func scores<T: TensorScalar>(
        _ q: UnsafePointer<T>, _ k: UnsafePointer<T>, rows: Range<Int>, keys: Int, into s: UnsafeMutablePointer<T>
    ) {
        T._gemm(
            .none, .transposed, m: rows.count, n: keys, k: depth, alpha: 1 / T.sqrt(T(depth)),
            a: q + rows.lowerBound * 3 * width, lda: 3 * width, b: k, ldb: 3 * width, beta: 0,
            c: s + rows.lowerBound * steps, ldc: steps)
    }

    /// Hides keys the flags drop (`-∞`) among the first `n`; zeros columns `n ..< keys`.
    @inline(__always)
    private func mask<T: TensorScalar>(_ row: UnsafeMutablePointer<T>, unit: Int, n: Int, keys: Int) {
        if let keep {
            let base = (unit / heads) * steps
            for j in 0..<n where !keep[base + j] { row[j] = -.infinity }
        }
        for j in n..<keys { row[j] = 0 }
    }

    /// Turns a row of scores (its first `keys` columns) into probabilities in place; returns
    /// `log Σ exp` over the visible keys (`+∞` when none is visible: the row is zeros, and stays
    /// zeros when recomputed).
    func softmaxRow<T: TensorScalar>(_ row: UnsafeMutablePointer<T>, unit: Int, query: Int, keys: Int) -> T {
        let n = visible(query)
        mask(row, unit: unit, n: n, keys: keys)
        let peak = Variable<T>.rowMaximum(n) { row[$0] }
        if peak == -.infinity {
            if (0..<n).contains(where: { row[$0].isNaN }) {
                for j in 0..<n { row[j] = .nan }
                return .nan
            }
            for j in 0..<n { row[j] = 0 }
            return .infinity
        }
        T._scaledExp(row, n, shift: peak, scale: 1)
        let total = Variable<T>.rowSum(n) { row[$0] }
        let scale = 1 / total
        for j in 0..<n { row[j] *= scale }
        return peak + T.log(total)
    }

    /// Recomputes a row of probabilities from its scores and `log Σ exp`.
    func probabilityRow<T: TensorScalar>(_ row: UnsafeMutablePointer<T>, unit: Int, query: Int, keys: Int, _ lse: T) {
        let n = visible(query)
        mask(row, unit: unit, n: n, keys: keys)
        T._scaledExp(row, n, shift: lse, scale: 1)
    }

    /// `P ⊙ M` in place over the row's visible keys (nothing without dropout).
    func applyDropout<T: TensorScalar>(_ row: UnsafeMutablePointer<T>, unit: Int, query: Int) {
        guard dropout > 0 else { return }
        forEachMaskEntry(unit: unit, query: query) { j, factor in row[j] *= factor }
    }

    /// Writes the row's mask entries (`0` or `1 / (1 − p)`) over its visible keys into `mask`.
    func dropoutRow<T: TensorScalar>(_ mask: UnsafeMutablePointer<T>, unit: Int, query: Int) {
        forEachMaskEntry(unit: unit, query: query) { j, factor in mask[j] = factor }
    }

    /// The mask of row `query` of `unit`: each 64-bit draw of the row's own stream decides two
    /// keys, as ``Variable/dropout(probability:using:)`` does.
    @inline(__always)
    private func forEachMaskEntry<T: TensorScalar>(unit: Int, query: Int, _ body: (Int, T) -> Void) {
        let threshold = UInt64((dropout * 0x1p32).rounded(.down))
        let kept = T(1 / (1 - dropout))
        var generator = SplitMix64(seed: seed ^ (UInt64(unit * steps + query) &* 0xD1B5_4A32_D192_ED03))
        let n = visible(query)
        var j = 0
        while j < n {
            let bits = generator.next()
            body(j, bits & 0xFFFF_FFFF < threshold ? 0 : kept)
            if j + 1 < n { body(j + 1, bits >> 32 < threshold ? 0 : kept) }
            j += 2
        }
    }
}

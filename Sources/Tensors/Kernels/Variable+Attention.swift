/// Fused scaled dot-product self-attention: one tape operation from the packed projections to
/// the merged heads, never holding the `(B·A, L, L)` score matrices of the whole batch.
///
/// Legend: `B` batch, `L` steps, `A` heads, `D` per head, `E = A·D`. Per batch row and head (a
/// "unit"), with `Q`, `K`, `V` the head's `(L, D)` columns of the packed input:
/// ```
/// S = Q·Kᵀ / √D            P = softmax(S) over the visible keys of each row
/// O = P·V                  lse_i = log Σ_j exp(S_ij)   (kept for backward)
/// ```
/// Backward recomputes `P = exp(S − lse)` from `Q`, `K` and `lse`, then
/// `dV = Pᵀ·dO`, `dP = dO·Vᵀ`, `dS = P ⊙ (dP − Σ_j dP ⊙ P)`, `dQ = dS·K / √D`, `dK = dSᵀ·Q / √D`.
/// Each unit's `(L, L)` scores live in a per-thread scratch buffer (160 KB at L = 200, in cache),
/// and the units spread over the cores.
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
    @_specialize(where Scalar == Float)
    public func selfAttention(heads: Int, causal: Bool, keep: [Bool]? = nil) -> Variable {
        precondition(
            shape.count == 3 && heads > 0 && shape[2] % (3 * heads) == 0,
            "selfAttention: packed input \(shape) is not (batch, steps, 3 × width) with width divisible by \(heads) heads"
        )
        let (batch, steps, width) = (shape[0], shape[1], shape[2] / 3)
        let d = width / heads
        precondition(
            keep == nil || keep?.count == batch * steps,
            "selfAttention: \(keep?.count ?? 0) padding flags for \(batch)×\(steps)")
        let layout = AttentionLayout(batch: batch, steps: steps, heads: heads, depth: d, causal: causal, keep: keep)
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
                                layout.scores(q, k, into: p)
                                for i in 0..<steps {
                                    lse[unit * steps + i] = layout.softmaxRow(p + i * steps, unit: unit, query: i)
                                }
                                // O = P·V, written into the head's columns of the merged output.
                                Scalar._gemm(
                                    .none, .none, m: steps, n: d, k: steps, alpha: 1, a: p, lda: steps, b: v,
                                    ldb: 3 * width, beta: 0, c: y + layout.outputOffset(unit), ldc: width)
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
                            let p = UnsafeMutablePointer<Scalar>.allocate(capacity: 2 * steps * steps)
                            defer { p.deallocate() }
                            let dp = p + steps * steps
                            for unit in units {
                                let (q, k, v) = layout.projections(qkv, unit)
                                let (dq, dk, dv) = layout.projections(dqkv, unit)
                                let dO = UnsafePointer(dy + layout.outputOffset(unit))
                                layout.scores(q, k, into: p)
                                for i in 0..<steps {
                                    layout.probabilityRow(p + i * steps, unit: unit, query: i, lse[unit * steps + i])
                                }
                                // dV = Pᵀ·dO, dP = dO·Vᵀ
                                Scalar._gemm(
                                    .transposed, .none, m: steps, n: d, k: steps, alpha: 1, a: p, lda: steps,
                                    b: dO, ldb: width, beta: 0, c: dv, ldc: 3 * width)
                                Scalar._gemm(
                                    .none, .transposed, m: steps, n: steps, k: d, alpha: 1, a: dO, lda: width,
                                    b: v, ldb: 3 * width, beta: 0, c: dp, ldc: steps)
                                // dS = P ⊙ (dP − Σ_j dP ⊙ P), in dp
                                for i in 0..<steps {
                                    let (pr, dr) = (p + i * steps, dp + i * steps)
                                    let dot = Self.rowSum(steps) { pr[$0] * dr[$0] }
                                    for j in 0..<steps { dr[j] = pr[j] * (dr[j] - dot) }
                                }
                                // dQ = dS·K / √D, dK = dSᵀ·Q / √D
                                Scalar._gemm(
                                    .none, .none, m: steps, n: d, k: steps, alpha: scale, a: dp, lda: steps,
                                    b: k, ldb: 3 * width, beta: 0, c: dq, ldc: 3 * width)
                                Scalar._gemm(
                                    .transposed, .none, m: steps, n: d, k: steps, alpha: scale, a: dp, lda: steps,
                                    b: q, ldb: 3 * width, beta: 0, c: dk, ldc: 3 * width)
                            }
                        }
                    }
                }
            }
            input.addGradient(adopting: dqkv)
        }
    }
}

/// Where a unit's operands live and which keys each of its queries sees.
private struct AttentionLayout {
    let batch: Int
    let steps: Int
    let heads: Int
    let depth: Int
    let causal: Bool
    let keep: [Bool]?

    var width: Int { heads * depth }

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

    /// `S = Q·Kᵀ / √D` into `s (L, L)`.
    func scores<T: TensorScalar>(_ q: UnsafePointer<T>, _ k: UnsafePointer<T>, into s: UnsafeMutablePointer<T>) {
        T._gemm(
            .none, .transposed, m: steps, n: steps, k: depth, alpha: 1 / T.sqrt(T(depth)), a: q, lda: 3 * width, b: k,
            ldb: 3 * width, beta: 0, c: s, ldc: steps)
    }

    /// Hides keys the flags drop (`-∞`) among the first `n`; zeros the rest of the row.
    @inline(__always)
    private func mask<T: TensorScalar>(_ row: UnsafeMutablePointer<T>, unit: Int, n: Int) {
        if let keep {
            let base = (unit / heads) * steps
            for j in 0..<n where !keep[base + j] { row[j] = -.infinity }
        }
        for j in n..<steps { row[j] = 0 }
    }

    /// Turns a row of scores into probabilities in place; returns `log Σ exp` over the visible
    /// keys (`+∞` when none is visible: the row is zeros, and stays zeros when recomputed).
    func softmaxRow<T: TensorScalar>(_ row: UnsafeMutablePointer<T>, unit: Int, query: Int) -> T {
        let n = visible(query)
        mask(row, unit: unit, n: n)
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
    func probabilityRow<T: TensorScalar>(_ row: UnsafeMutablePointer<T>, unit: Int, query: Int, _ lse: T) {
        let n = visible(query)
        mask(row, unit: unit, n: n)
        T._scaledExp(row, n, shift: lse, scale: 1)
    }
}

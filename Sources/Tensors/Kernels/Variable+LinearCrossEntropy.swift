/// Cross-entropy over all classes fused with the output projection, in chunks of rows, so the
/// `(N, C)` logits never exist at once.
///
/// Legend: `N` rows (e.g. batch × positions), `D` width, `C` classes (e.g. every item),
/// `R` rows per chunk. For each chunk: `Z = H_r · Wᵀ (+ b)` `(R, C)`, then one log-sum-exp
/// per row; loss `= mean_i (lse_i - z_i[t_i])`. Backward recomputes each chunk's `Z`, turns it
/// into `G = (softmax(Z) - onehot(t)) · dy / n` in place, and accumulates `dH_r += G · W`,
/// `dW += Gᵀ · H_r`, `db += Σ_rows G` with GEMMs (`beta = 1`). Memory: one `(R, C)` buffer.
///
/// SASRec's loss over every position (N = 128 × 200, C ≈ 3,700) would need 380 MB of logits
/// and as much again for their gradient; with `R = 1,024` it needs 15 MB.
extension Variable {
    /// `crossEntropy(self · weightᵀ + bias, targets)` without materializing the logits.
    ///
    /// - Parameters:
    ///   - weight: `(C, D)`, e.g. the item embedding table (tied output layer).
    ///   - bias: `(C)` or `nil`.
    ///   - targets: `N` class indices in `0..<C`, or `ignoreIndex` for rows that do not count.
    ///   - chunkRows: Rows per chunk, `R`.
    /// - Returns: The mean loss over counted rows, shape `[]` (NaN when no row counts).
    /// - Complexity: O(N · C · D) time, O(R · C) extra memory.
    @_specialize(where Scalar == Float)
    public func linearCrossEntropy(
        weight: Variable, bias: Variable? = nil, targets: [Int32], ignoreIndex: Int32? = nil, chunkRows: Int = 1_024
    ) -> Variable {
        let (h, w) = (value.shape, weight.value.shape)
        checkArgument(
            h.count == 2 && w.count == 2 && h[1] == w[1] && targets.count == h[0],
            "linearCrossEntropy: hidden \(h) and weight \(w) need (N, D) and (C, D) with N = \(targets.count) targets")
        checkArgument(
            bias.map { $0.value.shape == [w[0]] } ?? true,
            "linearCrossEntropy: bias \(bias?.value.shape ?? []) for weight \(w)")
        checkArgument(chunkRows > 0, "linearCrossEntropy: chunkRows \(chunkRows) must be positive")
        let (n, d, c) = (h[0], h[1], w[0])
        let counted = targets.lazy.filter { $0 != ignoreIndex }.count
        for t in targets where t != ignoreIndex {
            checkArgument(t >= 0 && Int(t) < c, "linearCrossEntropy: target \(t) out of 0..<\(c) classes")
        }
        var logSumExp = [Scalar](repeating: 0, count: n)
        var total: Scalar = 0
        var buffer = [Scalar](repeating: 0, count: Swift.min(chunkRows, n) * c)
        let hidden = self
        /// Fills `buffer` with the logits of rows `start..<start + rows`.
        func logits(_ start: Int, _ rows: Int, into buffer: inout [Scalar]) {
            hidden.value.scalars.withUnsafeBufferPointer { ph in
                weight.value.scalars.withUnsafeBufferPointer { pw in
                    buffer.withUnsafeMutableBufferPointer { pz in
                        guard let ph = ph.baseAddress, let pw = pw.baseAddress, let pz = pz.baseAddress else { return }
                        if d == 0 {
                            for i in 0..<(rows * c) { pz[i] = 0 }
                        } else {
                            Scalar._gemm(
                                .none, .transposed, m: rows, n: c, k: d, alpha: 1, a: ph + start * d, lda: d, b: pw,
                                ldb: d, beta: 0, c: pz, ldc: c)
                        }
                        if let b = bias?.value.scalars {
                            for r in 0..<rows {
                                for j in 0..<c { pz[r * c + j] += b[j] }
                            }
                        }
                    }
                }
            }
        }
        var start = 0
        while start < n {
            let rows = Swift.min(chunkRows, n - start)
            logits(start, rows, into: &buffer)
            buffer.withUnsafeBufferPointer { z in
                logSumExp.withUnsafeMutableBufferPointer { lse in
                    Parallel.forEachChunk(of: 0..<rows, minimumChunk: 64) {
                        for r in $0 { lse[start + r] = Self.logSumExp(z, offset: r * c, count: c) }
                    }
                }
                for r in 0..<rows where targets[start + r] != ignoreIndex {
                    total += logSumExp[start + r] - z[r * c + Int(targets[start + r])]
                }
            }
            start += rows
        }
        let inputs = [self, weight] + (bias.map { [$0] } ?? [])
        return Variable.result(Tensor(scalar: total / Scalar(counted)), inputs: inputs) { _, dy in
            let scale = dy[0] / Scalar(counted)
            var g = [Scalar](repeating: 0, count: Swift.min(chunkRows, n) * c)
            var start = 0
            while start < n {
                let rows = Swift.min(chunkRows, n - start)
                logits(start, rows, into: &g)
                g.withUnsafeMutableBufferPointer { z in
                    Parallel.forEachChunk(of: 0..<rows, minimumChunk: 64) {
                        for r in $0 {
                            let i = start + r
                            guard targets[i] != ignoreIndex else {
                                for j in 0..<c { z[r * c + j] = 0 }
                                continue
                            }
                            if let base = z.baseAddress {
                                Scalar._scaledExp(base + r * c, c, shift: logSumExp[i], scale: scale)
                            }
                            z[r * c + Int(targets[i])] -= scale
                        }
                    }
                }
                Self.accumulateChunk(
                    g, rows: rows, start: start, hidden: hidden, weight: weight, bias: bias, d: d, c: c)
                start += rows
            }
        }
    }

    /// `log Σ exp(z)` over `count` elements, stable; NaN if any element is NaN.
    static func logSumExp(_ z: UnsafeBufferPointer<Scalar>, offset: Int, count: Int) -> Scalar {
        guard let base = z.baseAddress, count > 0 else { return -.infinity }
        return Scalar._logSumExp(base + offset, count)
    }

    /// `dH_r += G · W`, `dW += Gᵀ · H_r`, `db += Σ G` for one chunk of logit gradients `G (rows, C)`.
    static func accumulateChunk(
        _ g: [Scalar], rows: Int, start: Int, hidden: Variable, weight: Variable, bias: Variable?, d: Int, c: Int
    ) {
        if let bias, bias.requiresGradient {
            bias.withGradient { db in
                for r in 0..<rows {
                    for j in 0..<c { db[j] += g[r * c + j] }
                }
            }
        }
        guard d > 0 else { return }  // no hidden or weight elements to differentiate
        g.withUnsafeBufferPointer { pg in
            guard let pg = pg.baseAddress else { return }
            if hidden.requiresGradient {
                hidden.withGradient { dh in
                    weight.value.scalars.withUnsafeBufferPointer { pw in
                        guard let pw = pw.baseAddress, let dh = dh.baseAddress else { return }
                        Scalar._gemm(
                            .none, .none, m: rows, n: d, k: c, alpha: 1, a: pg, lda: c, b: pw, ldb: d, beta: 1,
                            c: dh + start * d, ldc: d)
                    }
                }
            }
            if weight.requiresGradient {
                weight.withGradient { dw in
                    hidden.value.scalars.withUnsafeBufferPointer { ph in
                        guard let ph = ph.baseAddress, let dw = dw.baseAddress else { return }
                        Scalar._gemm(
                            .transposed, .none, m: c, n: d, k: rows, alpha: 1, a: pg, lda: c, b: ph + start * d,
                            ldb: d, beta: 1, c: dw, ldc: d)
                    }
                }
            }
        }
    }
}

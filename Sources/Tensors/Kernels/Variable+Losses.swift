/// Fused losses. Each returns the mean over its rows as a rank-0 variable.
extension Variable {
    /// Rows of logits processed per task in ``crossEntropy(targets:ignoreIndex:)``.
    static var crossEntropyChunk: Int { 64 }

    /// Softmax cross-entropy over all classes, `loss = mean_i (logsumexp(x_i) - x_i[t_i])`, fused.
    ///
    /// Legend: `N` rows, `C` classes. Forward keeps only one log-sum-exp per row (never an
    /// `(N, C)` probability matrix); backward recomputes `softmax` a chunk of rows at a time and
    /// writes `dx_ij += dy · (p_ij - [j = t_i]) / n` straight into the gradient. Rows are split
    /// across cores. Rows whose target is `ignoreIndex` add nothing and do not count in `n`;
    /// with no counted rows the loss is NaN (as in torch).
    ///
    /// - Parameters:
    ///   - targets: `N` class indices in `0..<C` (or `ignoreIndex`).
    /// - Returns: The mean loss, shape `[]`.
    @_specialize(where Scalar == Float)
    public func crossEntropy(targets: [Int32], ignoreIndex: Int32? = nil) -> Variable {
        let shape = value.shape
        checkArgument(
            shape.count == 2 && targets.count == shape[0],
            "crossEntropy: logits \(shape) need (N, C) with N = \(targets.count) targets")
        let (n, c) = (shape[0], shape[1])
        var logSumExp = [Scalar](repeating: 0, count: n)
        var rowLoss = [Scalar](repeating: 0, count: n)
        value.scalars.withUnsafeBufferPointer { x in
            logSumExp.withUnsafeMutableBufferPointer { lse in
                rowLoss.withUnsafeMutableBufferPointer { loss in
                    Parallel.forEachChunk(of: 0..<n, minimumChunk: Self.crossEntropyChunk) {
                        for i in $0 where targets[i] != ignoreIndex {
                            let t = Int(targets[i])
                            checkArgument(t >= 0 && t < c, "crossEntropy: target \(t) out of 0..<\(c) classes")
                            let row = x.baseAddress.map { UnsafeBufferPointer(start: $0 + i * c, count: c) }
                            guard let row else { continue }
                            var peak = -Scalar.infinity
                            var hasNaN = false
                            for v in row {
                                if v.isNaN { hasNaN = true } else if v > peak { peak = v }
                            }
                            var total: Scalar = 0
                            for v in row { total += .exp(v - peak) }
                            lse[i] = hasNaN ? .nan : peak + .log(total)
                            loss[i] = lse[i] - row[t]
                        }
                    }
                }
            }
        }
        let counted = targets.lazy.filter { $0 != ignoreIndex }.count
        let mean = rowLoss.reduce(0, +) / Scalar(counted)
        let input = self
        return Variable.result(Tensor(scalar: mean), inputs: [self]) { _, dy in
            let scale = dy[0] / Scalar(counted)
            input.withGradient { dx in
                input.value.scalars.withUnsafeBufferPointer { x in
                    Parallel.forEachChunk(of: 0..<n, minimumChunk: Self.crossEntropyChunk) {
                        for i in $0 where targets[i] != ignoreIndex {
                            let base = i * c
                            for j in 0..<c { dx[base + j] += scale * .exp(x[base + j] - logSumExp[i]) }
                            dx[base + Int(targets[i])] -= scale
                        }
                    }
                }
            }
        }
    }

    /// Binary cross-entropy on logits, `loss = mean(max(x, 0) - x·t + log1p(exp(-|x|)))`, fused so
    /// large `|x|` stays finite; backward `dx += dy · (sigmoid(x) - t) / n`.
    ///
    /// - Parameter targets: Same shape as `self`, values in `[0, 1]`.
    @_specialize(where Scalar == Float)
    public func binaryCrossEntropyWithLogits(targets: Tensor<Scalar>) -> Variable {
        checkArgument(
            targets.shape == value.shape,
            "binaryCrossEntropyWithLogits: logits \(value.shape) and targets \(targets.shape) differ")
        let (x, t) = (value.scalars, targets.scalars)
        var total: Scalar = 0
        for i in x.indices { total += Swift.max(x[i], 0) - x[i] * t[i] + .log(onePlus: .exp(-abs(x[i]))) }
        let count = Scalar(x.count)
        let input = self
        return Variable.result(Tensor(scalar: total / count), inputs: [self]) { _, dy in
            let scale = dy[0] / count
            input.withGradient { dx in
                for i in 0..<dx.count { dx[i] += scale * (1 / (1 + .exp(-x[i])) - t[i]) }
            }
        }
    }

    /// Bayesian personalized ranking loss (Rendle et al. 2009),
    /// `loss = mean(-log sigmoid(pos - neg)) = mean(softplus(neg - pos))`, composed from
    /// primitives.
    ///
    /// - Parameters:
    ///   - positive: Scores of observed items.
    ///   - negative: Scores of sampled items, same shape.
    public static func bprLoss(positive: Variable, negative: Variable) -> Variable {
        checkArgument(
            positive.value.shape == negative.value.shape,
            "bprLoss: positive \(positive.value.shape) and negative \(negative.value.shape) differ")
        return (negative - positive).softplus().mean()
    }
}

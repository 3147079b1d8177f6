/// Softmax and log-softmax over the last axis, with an optional causal mask.
///
/// Legend: a row is the last axis, `C` elements; with `causal`, the last two axes are
/// `(queries, keys)` and key `j` is hidden from query `i` when `j > i + keys - queries`.
///
/// Padding masks are additive: add a constant holding `0` or `-∞` (see
/// ``Tensor/additiveMask(keep:shape:)``) before the softmax. A fully masked row, whose maximum is
/// `-∞`, gives zeros (softmax) or `-∞` (log-softmax) and no gradient, rather than NaN; a NaN in a
/// row still makes the whole row NaN.
///
/// Backward: softmax `dx += y ⊙ (dy - Σ dy ⊙ y)`; log-softmax `dx += dy - exp(y) · Σ dy`.
extension Variable {
    /// `y_j = exp(x_j - max) / Σ_k exp(x_k - max)` over the last axis.
    public func softmax(causal: Bool = false) -> Variable { softmaxKernel(log: false, causal: causal) }

    /// `y_j = x_j - max - log Σ_k exp(x_k - max)` over the last axis.
    public func logSoftmax(causal: Bool = false) -> Variable { softmaxKernel(log: true, causal: causal) }

    @_specialize(where Scalar == Float)
    private func softmaxKernel(log: Bool, causal: Bool) -> Variable {
        let shape = value.shape
        checkArgument(!shape.isEmpty, "softmax: needs at least one axis, got shape \(shape)")
        checkArgument(!causal || shape.count >= 2, "softmax: a causal mask needs (…, queries, keys), got \(shape)")
        let columns = shape[shape.count - 1]
        let queries = shape.count >= 2 ? shape[shape.count - 2] : 1
        let rows = columns == 0 ? 0 : value.count / columns
        // Number of visible keys in a row.
        let visible: (Int) -> Int = { row in
            causal ? Swift.min(columns, Swift.max(0, row % queries + 1 + columns - queries)) : columns
        }
        // Every element is written below: visible keys, hidden ones, or a whole NaN row.
        var out = Tensor<Scalar>(uninitialized: shape)
        value.scalars.withUnsafeBufferPointer { x in
            out.scalars.withUnsafeMutableBufferPointer { y in
                Parallel.forEachChunk(of: 0..<rows, minimumChunk: Swift.max(1, 16_384 / Swift.max(1, columns))) {
                    for row in $0 {
                        let base = row * columns
                        let n = visible(row)
                        let hidden: Scalar = log ? -.infinity : 0
                        guard let x = x.baseAddress, let y = y.baseAddress else { continue }
                        let peak = Self.rowMaximum(n) { x[base + $0] }
                        if peak == -.infinity {
                            // Fully masked, unless a NaN lost to the -inf's.
                            let fill = (0..<n).contains { x[base + $0].isNaN } ? .nan : hidden
                            for j in 0..<columns { y[base + j] = fill }
                            continue
                        }
                        // exp(x - peak) on SIMD lanes; a NaN (or +inf) anywhere makes the sum NaN.
                        (y + base).update(from: x + base, count: n)
                        Scalar._scaledExp(y + base, n, shift: peak, scale: 1)
                        let total = Self.rowSum(n) { y[base + $0] }
                        if total.isNaN || peak.isNaN {
                            for j in 0..<columns { y[base + j] = .nan }
                            continue
                        }
                        if log {
                            let shift = peak + Scalar.log(total)
                            for j in 0..<n { y[base + j] = x[base + j] - shift }
                        } else {
                            let scale = 1 / total
                            for j in 0..<n { y[base + j] *= scale }
                        }
                        for j in n..<columns { y[base + j] = hidden }
                    }
                }
            }
        }
        let input = self
        return Variable.result(out, inputs: [self]) { output, dy in
            input.withGradient { dx in
                output.value.scalars.withUnsafeBufferPointer { y in
                    Parallel.forEachChunk(of: 0..<rows, minimumChunk: Swift.max(1, 16_384 / Swift.max(1, columns))) {
                        for row in $0 {
                            let base = row * columns
                            let n = visible(row)
                            var dot: Scalar = 0
                            if log {
                                for j in 0..<n where y[base + j] != -.infinity { dot += dy[base + j] }
                                for j in 0..<n where y[base + j] != -.infinity {
                                    dx[base + j] += dy[base + j] - .exp(y[base + j]) * dot
                                }
                            } else {
                                dot = Self.rowSum(n) { dy[base + $0] * y[base + $0] }
                                for j in 0..<n { dx[base + j] += y[base + j] * (dy[base + j] - dot) }
                            }
                        }
                    }
                }
            }
        }
    }
}

extension Tensor {
    /// An additive mask broadcastable against attention scores: `0` where `keep` is true and
    /// `-∞` where it is false.
    ///
    /// For key padding in attention scores `(batch, heads, queries, keys)`, pass `keep` with
    /// `batch · keys` entries and `shape: [batch, 1, 1, keys]`.
    public static func additiveMask(keep: [Bool], shape: [Int]) -> Tensor {
        checkArgument(
            keep.count == count(of: shape), "additiveMask: \(keep.count) flags for shape \(shape)")
        return Tensor(shape: shape, scalars: keep.map { $0 ? 0 : -.infinity })
    }
}

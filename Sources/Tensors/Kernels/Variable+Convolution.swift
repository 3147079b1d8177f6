/// Convolution and max-pooling, composed from one primitive: an element gather with a fixed
/// index map (`im2col` for convolution, the arg-max for pooling) followed by a GEMM.
///
/// Legend: `B` batch, `C` input channels, `O` output channels, `L` length, `H × W` image,
/// `K` kernel extent, `P` zero padding, `S` stride. Output extent `(L + 2P - K) / S + 1`.
extension Variable {
    /// `y[i] = x[indices[i]]`, or 0 where `indices[i]` is -1 (zero padding); backward
    /// `dx[indices[i]] += dy[i]`.
    ///
    /// - Parameters:
    ///   - indices: Flat offsets into `self`, one per output element, or -1.
    ///   - shape: The output shape, `indices.count` elements.
    @_specialize(where Scalar == Float)
    public func gatherElements(_ indices: [Int], shape: [Int]) -> Variable {
        checkArgument(
            indices.count == Tensor<Scalar>.count(of: shape),
            "gatherElements: \(indices.count) indices for output shape \(shape)")
        let n = value.count
        var out = Tensor<Scalar>(zeros: shape)
        value.scalars.withUnsafeBufferPointer { x in
            out.scalars.withUnsafeMutableBufferPointer { y in
                for (i, index) in indices.enumerated() where index >= 0 {
                    checkArgument(index < n, "gatherElements: index \(index) out of \(n) elements of \(value.shape)")
                    y[i] = x[index]
                }
            }
        }
        let input = self
        return Variable.result(out, inputs: [self]) { _, dy in
            input.withGradient { dx in
                for (i, index) in indices.enumerated() where index >= 0 { dx[index] += dy[i] }
            }
        }
    }

    /// 1-D cross-correlation (`torch.nn.functional.conv1d`): `self (B, C, L)`, `weight (O, C, K)`,
    /// `bias (O)` → `(B, O, L_out)`.
    public func conv1d(weight: Variable, bias: Variable?, stride: Int = 1, padding: Int = 0) -> Variable {
        let (x, w) = (value.shape, weight.value.shape)
        checkArgument(
            x.count == 3 && w.count == 3 && x[1] == w[1],
            "conv1d: input \(x) is not (B, C, L) with C matching weight \(w) (O, C, K)")
        let columns = reshaped([x[0], x[1], 1, x[2]]).im2col(
            kernel: (1, w[2]), stride: (1, stride), padding: (0, padding))
        let y = columns.matmul(weight.reshaped([w[0], w[1] * w[2]]), transposeOther: true)  // (B, L_out, O)
        let out = y.transposed()
        guard let bias else { return out }
        return out + bias.reshaped([w[0], 1])
    }

    /// 2-D cross-correlation (`torch.nn.functional.conv2d`): `self (B, C, H, W)`,
    /// `weight (O, C, KH, KW)`, `bias (O)` → `(B, O, H_out, W_out)`.
    public func conv2d(
        weight: Variable, bias: Variable?, stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0)
    ) -> Variable {
        let (x, w) = (value.shape, weight.value.shape)
        checkArgument(
            x.count == 4 && w.count == 4 && x[1] == w[1],
            "conv2d: input \(x) is not (B, C, H, W) with C matching weight \(w) (O, C, KH, KW)")
        let columns = im2col(kernel: (w[2], w[3]), stride: stride, padding: padding)  // (B, Ho·Wo, C·KH·KW)
        let (ho, wo) = Self.outputExtent(x[2], x[3], kernel: (w[2], w[3]), stride: stride, padding: padding)
        let y = columns.matmul(weight.reshaped([w[0], w[1] * w[2] * w[3]]), transposeOther: true)
        let out = y.transposed().reshaped([x[0], w[0], ho, wo])
        guard let bias else { return out }
        return out + bias.reshaped([w[0], 1, 1])
    }

    static func outputExtent(
        _ h: Int, _ w: Int, kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int)
    ) -> (Int, Int) {
        checkArgument(stride.0 > 0 && stride.1 > 0, "convolution: stride \(stride) must be positive")
        let ho = (h + 2 * padding.0 - kernel.0) / stride.0 + 1
        let wo = (w + 2 * padding.1 - kernel.1) / stride.1 + 1
        checkArgument(
            ho > 0 && wo > 0, "convolution: kernel \(kernel) with padding \(padding) does not fit input \(h)×\(w)")
        return (ho, wo)
    }

    /// `(B, C, H, W)` → `(B, Ho·Wo, C·KH·KW)`, each row one receptive field in `(C, KH, KW)` order.
    func im2col(kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int)) -> Variable {
        let x = value.shape
        let (b, c, h, w) = (x[0], x[1], x[2], x[3])
        let (ho, wo) = Self.outputExtent(h, w, kernel: kernel, stride: stride, padding: padding)
        let field = c * kernel.0 * kernel.1
        var indices = [Int](repeating: -1, count: b * ho * wo * field)
        var i = 0
        for n in 0..<b {
            for oy in 0..<ho {
                for ox in 0..<wo {
                    for ch in 0..<c {
                        for ky in 0..<kernel.0 {
                            for kx in 0..<kernel.1 {
                                let (iy, ix) = (oy * stride.0 - padding.0 + ky, ox * stride.1 - padding.1 + kx)
                                if iy >= 0 && iy < h && ix >= 0 && ix < w {
                                    indices[i] = ((n * c + ch) * h + iy) * w + ix
                                }
                                i += 1
                            }
                        }
                    }
                }
            }
        }
        return gatherElements(indices, shape: [b, ho * wo, field])
    }

    /// Max-pooling over windows of the last two axes (`torch.nn.functional.max_pool2d`, no
    /// padding): `(…, H, W)` → `(…, Ho, Wo)`. The gradient goes to each window's arg-max (the
    /// first one on ties); a NaN in a window is the window's maximum, so NaN propagates.
    @_specialize(where Scalar == Float)
    public func maxPool2d(kernel: (Int, Int), stride: (Int, Int)? = nil) -> Variable {
        let shape = value.shape
        checkArgument(shape.count >= 2, "maxPool2d: needs (…, H, W), got \(shape)")
        let (h, w) = (shape[shape.count - 2], shape[shape.count - 1])
        let step = stride ?? kernel
        let (ho, wo) = Self.outputExtent(h, w, kernel: kernel, stride: step, padding: (0, 0))
        let planes = shape.dropLast(2).reduce(1, *)
        var indices: [Int] = []
        indices.reserveCapacity(planes * ho * wo)
        let x = value.scalars
        for p in 0..<planes {
            for oy in 0..<ho {
                for ox in 0..<wo {
                    var best = p * h * w + oy * step.0 * w + ox * step.1
                    for ky in 0..<kernel.0 {
                        for kx in 0..<kernel.1 {
                            let index = p * h * w + (oy * step.0 + ky) * w + ox * step.1 + kx
                            if x[best].isNaN { continue }
                            if x[index] > x[best] || x[index].isNaN { best = index }
                        }
                    }
                    indices.append(best)
                }
            }
        }
        return gatherElements(indices, shape: Array(shape.dropLast(2)) + [ho, wo])
    }

    /// Max-pooling over windows of the last axis (`max_pool1d`): `(…, L)` → `(…, L_out)`.
    /// `kernel` equal to `L` is the max-over-time pooling of Caser and Kim's text CNN.
    public func maxPool1d(kernel: Int, stride: Int? = nil) -> Variable {
        let shape = value.shape
        checkArgument(!shape.isEmpty, "maxPool1d: needs (…, L), got \(shape)")
        let pooled = reshaped(Array(shape.dropLast()) + [1, shape[shape.count - 1]])
            .maxPool2d(kernel: (1, kernel), stride: (1, stride ?? kernel))
        return pooled.reshaped(Array(shape.dropLast()) + [pooled.value.shape[pooled.value.shape.count - 1]])
    }
}

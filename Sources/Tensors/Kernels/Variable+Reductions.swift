/// Sums and means over axes.
///
/// Backward broadcasts the output gradient back over the reduced axes: `dx[i] += dy[r(i)]`.
extension Variable {
    /// The sum over `axes` (all axes when `nil`), keeping reduced axes as extent 1 when
    /// `keepingDimensions`.
    ///
    /// Summing over an empty axis gives 0.
    /// - Complexity: O(count)
    @_specialize(where Scalar == Float)
    public func sum(alongAxes axes: [Int]? = nil, keepingDimensions: Bool = false) -> Variable {
        let shape = value.shape
        let reduced = Set((axes ?? Array(shape.indices)).map { $0 < 0 ? $0 + shape.count : $0 })
        checkArgument(
            reduced.allSatisfy { $0 >= 0 && $0 < shape.count },
            "sum: axes \(axes ?? []) out of range for shape \(shape)")
        let kept = shape.indices.map { reduced.contains($0) ? 1 : shape[$0] }
        let outShape = keepingDimensions ? kept : shape.indices.filter { !reduced.contains($0) }.map { shape[$0] }
        // Walk the input with the output as the broadcast operand: a = input (dense), b = output.
        let map = BroadcastMap(output: shape, shape, kept)
        var out = Tensor<Scalar>(zeros: outShape)
        value.scalars.withUnsafeBufferPointer { x in
            out.scalars.withUnsafeMutableBufferPointer { y in
                guard let x = x.baseAddress, let y = y.baseAddress else { return }
                // A run into one output (step 0) sums in four chains, not one long dependency.
                map.forEachRun { o, _, ib, count, _, sb in Self.accumulate(y + ib, sb, count) { x[o + $0] } }
            }
        }
        let input = self
        return Variable.result(out, inputs: [self]) { _, dy in
            input.withGradient { dx in
                map.forEachRun { o, _, ib, count, _, sb in
                    for j in 0..<count { dx[o + j] += dy[ib + j * sb] }
                }
            }
        }
    }

    /// The mean over `axes` (all axes when `nil`): ``sum(alongAxes:keepingDimensions:)`` times
    /// `1 / n`. The mean over zero elements is NaN, as in NumPy.
    public func mean(alongAxes axes: [Int]? = nil, keepingDimensions: Bool = false) -> Variable {
        let total = sum(alongAxes: axes, keepingDimensions: keepingDimensions)
        let n = value.count / max(1, total.value.count)
        return total.affine(scale: 1 / Scalar(n))
    }
}

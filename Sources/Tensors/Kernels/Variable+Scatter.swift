extension Variable {
    /// Adds each element of `self` into an output of `shape` at a flat offset
    /// (`torch.Tensor.scatter_add_` on zeros, flattened): `out[indices[i]] += self[i]`; an index of
    /// -1 drops its element. The transpose of ``gatherElements(_:shape:)``, and its backward pass
    /// is that gather: `dself[i] = dout[indices[i]]` (0 for -1).
    ///
    /// RepeatNet's repeat mode uses it to turn attention over history positions `(B, L)` into
    /// probabilities over items `(B, items)`: positions holding the same item add up.
    ///
    /// - Parameters:
    ///   - indices: Flat offsets into the output, one per element of `self`, or -1.
    ///   - shape: The output shape.
    @_specialize(where Scalar == Float)
    public func scatterAdd(_ indices: [Int], shape: [Int]) -> Variable {
        checkArgument(
            indices.count == value.count,
            "scatterAdd: \(indices.count) indices for \(value.count) elements of \(value.shape)")
        let n = Tensor<Scalar>.count(of: shape)
        var out = Tensor<Scalar>(zeros: shape)
        value.scalars.withUnsafeBufferPointer { x in
            out.scalars.withUnsafeMutableBufferPointer { y in
                for (i, index) in indices.enumerated() where index >= 0 {
                    checkArgument(index < n, "scatterAdd: index \(index) out of \(n) elements of \(shape)")
                    y[index] += x[i]
                }
            }
        }
        let input = self
        return Variable.result(out, inputs: [self]) { _, dy in
            input.withGradient { dx in
                for (i, index) in indices.enumerated() where index >= 0 { dx[i] += dy[index] }
            }
        }
    }
}

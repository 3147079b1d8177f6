/// Embedding lookup with a row-sparse gradient, and seeded dropout.
extension Variable {
    /// Rows of `table` gathered by `indices`: output `indices.shape + [D]` for a `(rows, D)` table.
    ///
    /// Backward adds `dy` rows straight into `table.grad` and records the touched rows, so the
    /// gradient stays sparse (see ``Parameter/gradientRows``). Positions holding `paddingIndex`
    /// output zeros and send no gradient, whatever the table's padding row holds (torch's
    /// `padding_idx` keeps that row at zero; here the output is zero by construction, so the
    /// function and its gradient agree).
    ///
    /// - Parameters:
    ///   - table: The `(rows, D)` embedding table.
    ///   - indices: Row numbers, `count(of: shape)` of them, each in `0..<rows`.
    ///   - shape: The shape of `indices`.
    ///   - tape: Where to record the backward step; `nil` computes the value only.
    @_specialize(where Scalar == Float)
    public static func gather(
        rowsOf table: Parameter<Scalar>, indices: [Int32], shape: [Int], paddingIndex: Int? = nil,
        on tape: Tape<Scalar>?
    ) -> Variable {
        let tableShape = table.value.shape
        checkArgument(tableShape.count == 2, "gather: table shape \(tableShape) is not (rows, D)")
        checkArgument(
            indices.count == Tensor<Scalar>.count(of: shape),
            "gather: \(indices.count) indices for index shape \(shape)")
        let (rows, d) = (tableShape[0], tableShape[1])
        var out = Tensor<Scalar>(zeros: shape + [d])
        table.value.scalars.withUnsafeBufferPointer { w in
            out.scalars.withUnsafeMutableBufferPointer { y in
                for (position, index) in indices.enumerated() {
                    let row = Int(index)
                    checkArgument(
                        row >= 0 && row < rows, "gather: index \(row) out of 0..<\(rows) for table \(tableShape)")
                    if row == paddingIndex { continue }
                    for j in 0..<d { y[position * d + j] = w[row * d + j] }
                }
            }
        }
        guard let tape, tape.isRecording else { return Variable(out, tape: tape, requiresGradient: false) }
        let output = Variable(out, tape: tape, requiresGradient: true)
        tape.record { [output] in
            guard let dy = output.grad else { return }
            let touched = indices.lazy.map { Int($0) }.filter { $0 != paddingIndex }
            table.accumulateRows(touched) { dw in
                for (position, index) in indices.enumerated() where Int(index) != paddingIndex {
                    let row = Int(index)
                    for j in 0..<d { dw[row * d + j] += dy.scalars[position * d + j] }
                }
            }
            output.grad = nil
        }
        return output
    }

    /// Inverted dropout: each element is zeroed with probability `probability` and the rest are
    /// scaled by `1 / (1 - probability)`, so the expectation is unchanged. Backward uses the
    /// same mask: `dx += dy ⊙ m`.
    ///
    /// The mask is drawn from `generator`, so a seed fixes it. Callers skip dropout at
    /// inference (the `Dropout` layer does so when the tape is not recording).
    @_specialize(where Scalar == Float, Generator == SplitMix64)
    public func dropout<Generator: RandomNumberGenerator>(
        probability: Scalar, using generator: inout Generator
    ) -> Variable {
        checkArgument(probability >= 0 && probability < 1, "dropout: probability \(probability) outside [0, 1)")
        let keep = 1 / (1 - probability)
        // Each 64-bit draw decides two elements: an element is dropped when its 32-bit half is
        // below `probability · 2³²` (an integer compare, no float conversion per element).
        let threshold = UInt64((Double(probability) * 0x1p32).rounded(.down))
        let count = value.count
        var mask = Tensor<Scalar>(zeros: [count]).scalars
        var out = value
        mask.withUnsafeMutableBufferPointer { m in
            out.scalars.withUnsafeMutableBufferPointer { y in
                var i = 0
                while i < count {
                    let bits = generator.next()
                    m[i] = bits & 0xFFFF_FFFF < threshold ? 0 : keep
                    if i + 1 < count { m[i + 1] = bits >> 32 < threshold ? 0 : keep }
                    i += 2
                }
                for j in 0..<count { y[j] *= m[j] }
            }
        }
        let input = self
        return Variable.result(out, inputs: [self]) { _, dy in
            input.withGradient { dx in
                for i in 0..<dx.count { dx[i] += dy[i] * mask[i] }
            }
        }
    }
}

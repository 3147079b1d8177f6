import Testing
import _RecTestSupport

@testable import Tensors

/// The fused self-attention against the same attention composed from slices, permutes, batched
/// products and the softmax (Float64), and against finite differences.
struct AttentionTests {
    static let seeds: [UInt64] = [1, 2, 3]

    /// torch's split, attention and merge, op by op: the oracle.
    static func composed(_ qkv: Variable<Double>, heads: Int, causal: Bool, keep: [Bool]?) -> Variable<Double> {
        let (batch, steps, width) = (qkv.shape[0], qkv.shape[1], qkv.shape[2] / 3)
        let d = width / heads
        func split(_ part: Int) -> Variable<Double> {
            qkv.slice(axis: 2, (part * width)..<((part + 1) * width)).reshaped([batch, steps, heads, d])
                .permuted([0, 2, 1, 3]).reshaped([batch * heads, steps, d])
        }
        var scores = split(0).affine(scale: 1 / Double(d).squareRoot()).matmul(split(1), transposeOther: true)
        if let keep {
            let mask = qkv.constant(Tensor.additiveMask(keep: keep, shape: [batch, 1, 1, steps]))
            scores = (scores.reshaped([batch, heads, steps, steps]) + mask).reshaped([batch * heads, steps, steps])
        }
        return scores.softmax(causal: causal).matmul(split(2)).reshaped([batch, heads, steps, d])
            .permuted([0, 2, 1, 3]).reshaped([batch, steps, width])
    }

    /// `attend`'s output on `packed` and `packed`'s gradient for the loss `Σ output ⊙ mix`.
    static func valueAndGradient(
        _ packed: Parameter<Double>, mix: Tensor<Double>, _ attend: (Variable<Double>) -> Variable<Double>
    ) -> (value: [Double], grad: [Double]) {
        let result = valuesAndGradients([packed], mix: mix) { attend($0.parameter(packed)) }
        return (result.value, result.grads[0])
    }

    // Batch 3, 4 steps, 2 heads of 3: row 1 has a padding key, row 2 has none visible at all.
    static let keep = [true, true, true, true, false, true, true, true, false, false, false, false]

    @Test(arguments: seeds)
    func fusedAttentionMatchesTheComposedOneAndFiniteDifferences(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        let (batch, steps, width, heads) = (3, 4, 6, 2)
        let packed = parameter([batch, steps, 3 * width], &generator, in: -2..<2)
        let mix = Tensor<Double>.randomUniform(shape: [batch, steps, width], in: -1..<1, using: &generator)
        for causal in [false, true] {
            for keep in [nil, Self.keep] {
                func run(_ attend: (Variable<Double>) -> Variable<Double>) -> (value: [Double], grad: [Double]) {
                    Self.valueAndGradient(packed, mix: mix, attend)
                }
                let fused = run { $0.selfAttention(heads: heads, causal: causal, keep: keep) }
                let oracle = run { Self.composed($0, heads: heads, causal: causal, keep: keep) }
                let label = "causal \(causal), keep \(keep != nil)"
                #expect(allClose(fused.value, oracle.value, rtol: 1e-12, atol: 1e-12), "\(label)")
                #expect(allClose(fused.grad, oracle.grad, rtol: 1e-10, atol: 1e-12), "\(label)")
                if keep != nil {
                    // The batch row without a visible key: zero output, zero gradient.
                    #expect(fused.value[(2 * steps * width)...].allSatisfy { $0 == 0 })
                    #expect(fused.grad[(2 * steps * 3 * width)...].allSatisfy { $0 == 0 })
                }
                expectGradient([packed], seed: seed) { tape in
                    tape.parameter(packed).selfAttention(heads: heads, causal: causal, keep: keep)
                }
            }
        }
    }

    @Test func aNaNScoreMakesItsRowNaNAndLeavesTheOthers() {
        var scalars = [Double](repeating: 0.5, count: 2 * 9)
        scalars[9 + 3] = .nan  // step 1's key
        let tape = Tape<Double>(recording: false)
        let y = tape.constant(Tensor(shape: [1, 2, 9], scalars: scalars)).selfAttention(heads: 1, causal: true)
        // Step 0 sees only key 0; step 1 sees the NaN key.
        #expect(y.value.scalars[0..<3].allSatisfy { $0 == 0.5 })
        #expect(y.value.scalars[3..<6].allSatisfy { $0.isNaN })
    }

    /// Long enough for the causal path's several query blocks (32 rows each here, the last
    /// partial): values and gradients against the composed attention.
    @Test func causalBlocksMatchTheComposedAttention() {
        var generator = SplitMix64(seed: 11)
        let (batch, steps, width) = (2, 70, 4)
        let packed = parameter([batch, steps, 3 * width], &generator, in: -2..<2)
        let mix = Tensor<Double>.randomUniform(shape: [batch, steps, width], in: -1..<1, using: &generator)
        var keep = [Bool](repeating: true, count: batch * steps)
        keep[3] = false
        keep[steps + 40] = false
        func run(_ attend: (Variable<Double>) -> Variable<Double>) -> (value: [Double], grad: [Double]) {
            Self.valueAndGradient(packed, mix: mix, attend)
        }
        let fused = run { $0.selfAttention(heads: 2, causal: true, keep: keep) }
        let oracle = run { Self.composed($0, heads: 2, causal: true, keep: keep) }
        #expect(allClose(fused.value, oracle.value, rtol: 1e-12, atol: 1e-12))
        #expect(allClose(fused.grad, oracle.grad, rtol: 1e-10, atol: 1e-12))
    }

    /// Dropout on the probabilities: with equal scores and `V` the identity (`D = L`), the
    /// output is the dropped-out probability matrix itself, so each entry must be `0` or
    /// `1 / (n (1 − p))` for a row that sees `n` keys, about `p` of them `0`; the seed fixes the
    /// mask; the gradient passes finite differences with the mask fixed.
    @Test func dropoutDropsProbabilitiesAndTheSeedFixesTheMask() {
        let (batch, steps, rate) = (8, 64, 0.25)
        var scalars = [Double](repeating: 0, count: batch * steps * 3 * steps)
        for b in 0..<batch {
            for i in 0..<steps { scalars[(b * steps + i) * 3 * steps + 2 * steps + i] = 1 }  // V = I
        }
        let tape = Tape<Double>(recording: false)
        let packed = tape.constant(Tensor(shape: [batch, steps, 3 * steps], scalars: scalars))
        for causal in [false, true] {
            let y = packed.selfAttention(heads: 1, causal: causal, dropout: rate, seed: 5).value.scalars
            var (dropped, visible) = (0, 0)
            for b in 0..<batch {
                for i in 0..<steps {
                    let n = causal ? i + 1 : steps
                    let kept = 1 / (Double(n) * (1 - rate))
                    for j in 0..<steps {
                        let value = y[(b * steps + i) * steps + j]
                        if j >= n {
                            #expect(value == 0)
                            continue
                        }
                        #expect(value == 0 || abs(value - kept) < 1e-12 * kept, "row \(i) key \(j): \(value)")
                        visible += 1
                        if value == 0 { dropped += 1 }
                    }
                }
            }
            let fraction = Double(dropped) / Double(visible)
            #expect(abs(fraction - rate) < 0.02, "dropped \(fraction)")
            let again = packed.selfAttention(heads: 1, causal: causal, dropout: rate, seed: 5).value.scalars
            let other = packed.selfAttention(heads: 1, causal: causal, dropout: rate, seed: 6).value.scalars
            #expect(again == y && other != y)
        }
        var generator = SplitMix64(seed: 4)
        let small = parameter([2, 5, 12], &generator, in: -2..<2)
        for causal in [false, true] {
            expectGradient([small], seed: 4) { tape in
                tape.parameter(small).selfAttention(heads: 2, causal: causal, dropout: 0.3, seed: 9)
            }
        }
    }
}

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
                    packed.zeroGradient()
                    let tape = Tape<Double>()
                    let y = attend(tape.parameter(packed))
                    tape.backward((y * tape.constant(mix)).sum())
                    return (y.value.scalars, packed.grad.scalars)
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
}

import Testing
import _RecTestSupport

@testable import Tensors

struct ScatterTests {
    /// Positions that hold the same item add up, -1 drops an element, and the backward pass
    /// reads each element's output gradient back.
    @Test func scatterAddSumsRepeatedOffsetsAndDropsMinusOne() {
        let tape = Tape<Double>()
        let p = Parameter(Tensor<Double>(shape: [2, 3], scalars: [0.5, 0.2, 0.3, 0.1, 0.9, 7]))
        let x = tape.parameter(p)
        // Row 0 holds items 2, 0, 2; row 1 holds items 1, 1 and a padding position.
        let y = x.scatterAdd([2, 0, 2, 4, 4, -1], shape: [2, 3])
        #expect(y.value.scalars == [0.2, 0, 0.8, 0, 1.0, 0])
        tape.backward((y * tape.constant(Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6]))).sum())
        #expect(p.grad.scalars == [3, 1, 3, 5, 5, 0])
    }

    /// Against central finite differences in Float64, alone and as RepeatNet's repeat mode uses
    /// it: a padding-masked softmax over positions scattered into item space.
    @Test(arguments: AutodiffTests.seeds)
    func scatterAddGradientMatchesFiniteDifferences(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        let x = parameter([3, 5], &generator)
        let items = 4
        var indices: [Int] = []
        var keep: [Bool] = []
        for r in 0..<3 {
            for t in 0..<5 {
                let padding = t >= 5 - r
                keep.append(!padding)
                indices.append(padding ? -1 : r * items + Int(generator.next() % UInt64(items)))
            }
        }
        expectGradient([x], seed: seed) { tape in tape.parameter(x).scatterAdd(indices, shape: [3, items]) }
        let mask = Tensor<Double>.additiveMask(keep: keep, shape: [3, 5])
        expectGradient([x], seed: seed) { tape in
            (tape.parameter(x) + tape.constant(mask)).softmax().scatterAdd(indices, shape: [3, items])
        }
    }
}

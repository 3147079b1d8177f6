import Testing

@testable import Tensors

struct ConvolutionTests {
    static let seeds: [UInt64] = [1, 2, 3]

    @Test(arguments: seeds)
    func convolutionGradients(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        let x1 = parameter([2, 2, 6], &generator)
        let w1 = parameter([3, 2, 3], &generator)
        let b1 = parameter([3], &generator)
        expectGradient([x1, w1, b1], seed: seed) { tape in
            tape.parameter(x1).conv1d(weight: tape.parameter(w1), bias: tape.parameter(b1), stride: 2, padding: 1)
        }
        let x2 = parameter([2, 2, 4, 5], &generator)
        let w2 = parameter([3, 2, 2, 3], &generator)
        let b2 = parameter([3], &generator)
        expectGradient([x2, w2, b2], seed: seed) { tape in
            tape.parameter(x2).conv2d(
                weight: tape.parameter(w2), bias: tape.parameter(b2), stride: (1, 2), padding: (1, 0))
        }
    }

    @Test(arguments: seeds)
    func maxPoolGradients(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        // Distinct values, so no window has a tie that finite differences would straddle.
        let x = Parameter(
            Tensor<Double>(
                shape: [2, 3, 4, 5], scalars: (0..<120).map { Double($0) * 0.1 }.shuffled(using: &generator)))
        expectGradient([x], seed: seed) { tape in tape.parameter(x).maxPool2d(kernel: (2, 2), stride: (1, 2)) }
        expectGradient([x], seed: seed) { tape in tape.parameter(x).maxPool1d(kernel: 5) }
    }

    @Test func maxPoolValuesAndNaN() {
        let tape = Tape<Double>()
        let x = tape.constant(Tensor(shape: [1, 2, 4], scalars: [1, 5, 2, 3, .nan, 0, 7, 9]))
        let pooled = x.maxPool1d(kernel: 2).value.scalars
        #expect(pooled[0] == 5 && pooled[1] == 3 && pooled[2].isNaN && pooled[3] == 9)
        #expect(x.maxPool1d(kernel: 4).value.shape == [1, 2, 1])
    }
}

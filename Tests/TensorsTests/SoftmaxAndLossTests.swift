import Testing
import _RecTestSupport

@testable import Tensors

struct SoftmaxAndLossTests {
    static let seeds: [UInt64] = [1, 2, 3]
    static let x: [Double] = [1, 2, 3, -1, 0.5, -0.5, 2, 0]

    @Test func softmaxMatchesTorch() {
        let tape = Tape<Double>()
        let x = tape.constant(Tensor(shape: [2, 4], scalars: Self.x))
        // torch.softmax(x, -1) / torch.log_softmax(x, -1), x = [[1.,2,3,-1],[.5,-.5,2,0]] in float64
        let softmax = [
            0.0889468172974043, 0.24178251715880075, 0.6572330228318554, 0.012037642711939448, 0.1548922923082515,
            0.05698168993612326, 0.6941790935174994, 0.09394692423812584,
        ]
        let logSoftmax = [
            -2.4197166463153397, -1.4197166463153397, -0.4197166463153396, -4.419716646315339, -1.8650252919435553,
            -2.8650252919435553, -0.3650252919435553, -2.3650252919435553,
        ]
        #expect(allClose(x.softmax().value.scalars, softmax, rtol: 1e-12, atol: 1e-14))
        #expect(allClose(x.logSoftmax().value.scalars, logSoftmax, rtol: 1e-12, atol: 1e-14))
    }

    @Test func softmaxMasksAndEdgeInputs() {
        let tape = Tape<Double>()
        let square = tape.constant(Tensor(shape: [1, 2, 2], scalars: [5, 7, 1, 1]))
        #expect(square.softmax(causal: true).value.scalars == [1, 0, 0.5, 0.5])
        let large = tape.constant(Tensor(shape: [1, 2], scalars: [1000, 1000]))
        #expect(large.softmax().value.scalars == [0.5, 0.5])
        let masked =
            tape.constant(Tensor(shape: [2, 2], scalars: [3, 4, 5, 6]))
            + tape.constant(Tensor.additiveMask(keep: [false, false, true, false], shape: [2, 2]))
        // A fully masked row gives zeros rather than NaN.
        #expect(masked.softmax().value.scalars == [0, 0, 1, 0])
        let nan = tape.constant(Tensor(shape: [2, 2], scalars: [.nan, 1, 2, 3]))
        #expect(nan.softmax().value.scalars[0..<2].allSatisfy { $0.isNaN })
        #expect(!nan.softmax().value.scalars[2].isNaN)
        #expect(tape.constant(Tensor(zeros: [0, 3])).softmax().value.count == 0)
    }

    @Test(arguments: seeds)
    func softmaxGradients(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        let x = parameter([2, 3, 3, 4], &generator, in: -3..<3)
        expectGradient([x], seed: seed) { tape in tape.parameter(x).softmax() }
        expectGradient([x], seed: seed) { tape in tape.parameter(x).logSoftmax() }
        expectGradient([x], seed: seed) { tape in tape.parameter(x).softmax(causal: true) }
        let keep = (0..<8).map { $0 % 3 != 1 }
        expectGradient([x], seed: seed) { tape in
            (tape.parameter(x) + tape.constant(Tensor.additiveMask(keep: keep, shape: [2, 1, 1, 4]))).softmax()
        }
    }

    @Test func crossEntropyMatchesTorch() {
        let tape = Tape<Double>()
        let x = tape.constant(Tensor(shape: [2, 4], scalars: Self.x))
        // F.cross_entropy(x, torch.tensor([2, 0])) in float64
        #expect(abs(x.crossEntropy(targets: [2, 0]).value.scalars[0] - 1.1423709691294475) < 1e-12)
        // Ignored rows do not count: only row 0 remains, loss = -log_softmax(x)[0, 2].
        #expect(
            abs(x.crossEntropy(targets: [2, -100], ignoreIndex: -100).value.scalars[0] - 0.4197166463153396) < 1e-12)
        let large = tape.constant(Tensor(shape: [1, 3], scalars: [1e4, 0, -1e4]))
        #expect(large.crossEntropy(targets: [1]).value.scalars == [1e4])
        #expect(
            tape.constant(Tensor(shape: [1, 2], scalars: [.nan, 0])).crossEntropy(targets: [1]).value.scalars[0].isNaN)
    }

    @Test(arguments: seeds)
    func crossEntropyGradients(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        // More rows than one chunk, so the chunked paths run more than once.
        let rows = Variable<Double>.crossEntropyChunk * 2 + 3
        let x = parameter([rows, 5], &generator, in: -3..<3)
        let targets = (0..<rows).map { Int32($0 % 7 == 3 ? -1 : $0 % 5) }
        expectGradient([x], seed: seed) { tape in tape.parameter(x).crossEntropy(targets: targets, ignoreIndex: -1) }
    }

    @Test(arguments: seeds)
    func linearCrossEntropyMatchesTheUnfusedComposition(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        let (n, d, c) = (11, 4, 7)
        let h = parameter([n, d], &generator, in: -2..<2)
        let w = parameter([c, d], &generator, in: -2..<2)
        let b = parameter([c], &generator)
        let targets = (0..<n).map { Int32($0 % 4 == 1 ? -1 : ($0 * 3) % c) }
        for chunkRows in [1, 4, 100] {
            expectGradient([h, w, b], seed: seed) { tape in
                tape.parameter(h).linearCrossEntropy(
                    weight: tape.parameter(w), bias: tape.parameter(b), targets: targets, ignoreIndex: -1,
                    chunkRows: chunkRows)
            }
            let tape = Tape<Double>(recording: false)
            let fused = tape.parameter(h).linearCrossEntropy(
                weight: tape.parameter(w), targets: targets, ignoreIndex: -1, chunkRows: chunkRows)
            let unfused = tape.parameter(h).matmul(tape.parameter(w), transposeOther: true)
                .crossEntropy(targets: targets, ignoreIndex: -1)
            #expect(abs(fused.value.scalar - unfused.value.scalar) < 1e-12)
        }
    }

    @Test func binaryCrossEntropyMatchesTorchAndStaysFinite() {
        let tape = Tape<Double>()
        let x = tape.constant(Tensor(shape: [2, 4], scalars: Self.x))
        let t = Tensor<Double>(shape: [2, 4], scalars: [1, 0, 1, 0, 0, 1, 1, 0])
        // F.binary_cross_entropy_with_logits(x, t) in float64
        #expect(abs(x.binaryCrossEntropyWithLogits(targets: t).value.scalars[0] - 0.6962834872020365) < 1e-12)
        let large = tape.constant(Tensor(shape: [2], scalars: [100, -100]))
        let loss = large.binaryCrossEntropyWithLogits(targets: Tensor(shape: [2], scalars: [0, 1])).value.scalars[0]
        #expect(abs(loss - 100) < 1e-9)
    }

    @Test(arguments: seeds)
    func binaryLossGradients(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        let x = parameter([3, 4], &generator, in: -3..<3)
        let t = Tensor<Double>.randomUniform(shape: [3, 4], in: 0..<1, using: &generator)
        expectGradient([x], seed: seed) { tape in tape.parameter(x).binaryCrossEntropyWithLogits(targets: t) }
        let pos = parameter([6], &generator)
        let neg = parameter([6], &generator)
        expectGradient([pos, neg], seed: seed) { tape in
            Variable.bprLoss(positive: tape.parameter(pos), negative: tape.parameter(neg))
        }
    }

    @Test func bprLossValue() {
        let tape = Tape<Double>()
        let loss = Variable.bprLoss(
            positive: tape.constant(Tensor(shape: [2], scalars: [2, 0])),
            negative: tape.constant(Tensor(shape: [2], scalars: [0, 0])))
        // mean(-log(sigmoid([2, 0]))) = (log(1 + e^-2) + log 2) / 2
        #expect(abs(loss.value.scalars[0] - (Double.log(1 + Double.exp(-2)) + Double.log(2)) / 2) < 1e-12)
    }
}

import Foundation
import Tensors
import Testing
import _RecTestSupport

@testable import NeuralNet

struct LayerTests {
    static let seeds: [UInt64] = [1, 2, 3]

    /// Gradient check over an input `x` and all of `layer`'s parameters, torch tolerances.
    func expectLayerGradient<L: Layer>(
        _ layer: L, input shape: [Int], extra: [Parameter<Double>] = [], seed: UInt64,
        sourceLocation: SourceLocation = #_sourceLocation, _ body: (Variable<Double>) -> Variable<Double>
    ) where L.Scalar == Double {
        var generator = SplitMix64(seed: seed)
        let x = Parameter<Double>(Tensor.randomUniform(shape: shape, in: -1..<1, using: &generator))
        let result = GradientCheck.check([x] + extra + layer.parameters, seed: seed) { tape in
            body(tape.parameter(x))
        }
        #expect(result.passed, "\(result)", sourceLocation: sourceLocation)
    }

    @Test(arguments: seeds)
    func recurrentLayerGradients(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        let gru = GRU<Double>(inputSize: 3, hiddenSize: 4, layers: 2, using: &generator)
        let initial = Parameter(Tensor<Double>.randomUniform(shape: [2, 2, 4], in: -1..<1, using: &generator))
        expectLayerGradient(gru, input: [2, 3, 3], extra: [initial], seed: seed) { x in
            let (output, state) = gru(x, initial: x.parameter(initial))
            return Variable.concatenate([output.reshaped([24]), state.reshaped([16])], axis: 0)
        }
        let lstm = LSTM<Double>(inputSize: 3, hiddenSize: 2, layers: 2, using: &generator)
        let h0 = Parameter(Tensor<Double>.randomUniform(shape: [2, 2, 2], in: -1..<1, using: &generator))
        let c0 = Parameter(Tensor<Double>.randomUniform(shape: [2, 2, 2], in: -1..<1, using: &generator))
        expectLayerGradient(lstm, input: [2, 3, 3], extra: [h0, c0], seed: seed) { x in
            let (output, hidden, cell) = lstm(x, initial: (x.parameter(h0), x.parameter(c0)))
            return Variable.concatenate([output.reshaped([12]), hidden.reshaped([8]), cell.reshaped([8])], axis: 0)
        }
    }

    @Test(arguments: seeds)
    func attentionAndBlockGradients(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        let keep = [true, true, true, false, true, true]
        let attention = MultiheadAttention<Double>(width: 4, heads: 2, using: &generator)
        expectLayerGradient(attention, input: [2, 3, 4], seed: seed) { x in
            var rng = SplitMix64(seed: 0)
            return attention(x, causal: true, keep: keep, using: &rng)
        }
        for normFirst in [false, true] {
            let block = TransformerBlock<Double>(
                width: 4, heads: 2, feedForwardSize: 5, dropout: 0, normFirst: normFirst, using: &generator)
            // No dropout: the numeric side evaluates on an inference tape, where Dropout is the
            // identity (the dropout op itself is checked in TensorsTests).
            expectLayerGradient(block, input: [2, 3, 4], seed: seed) { x in
                var rng = SplitMix64(seed: seed)
                return block(x, causal: true, keep: [true, true, true, false, true, true], using: &rng)
            }
        }
    }

    @Test(arguments: seeds)
    func lastStepOnlyIsTheLastRowOfTheFullOutput(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        let keep = [true, true, true, true, false, true, true, true, true, true]
        let input = Tensor<Double>(shape: [2, 5, 4], scalars: (0..<40).map { sin(Double($0 * (3 + Int(seed)))) })
        for normFirst in [false, true] {
            let block = TransformerBlock<Double>(
                width: 4, heads: 2, feedForwardSize: 6, dropout: 0, normFirst: normFirst, using: &generator)
            for mask in [nil, keep] {
                var rng = SplitMix64(seed: 0)
                let tape = Tape<Double>(recording: false)
                let full = block(tape.constant(input), causal: true, keep: mask, using: &rng)
                let last = block(tape.constant(input), causal: true, keep: mask, lastStepOnly: true, using: &rng)
                #expect(last.shape == [2, 1, 4])
                let expected = full.slice(axis: 1, 4..<5).value.scalars
                #expect(allClose(last.value.scalars, expected, rtol: 1e-12, atol: 1e-12))
            }
            expectLayerGradient(block, input: [2, 3, 4], seed: seed) { x in
                var rng = SplitMix64(seed: seed)
                return block(x, causal: true, lastStepOnly: true, using: &rng)
            }
        }
    }

    @Test func dropoutIsTheIdentityWhenNotRecording() {
        let dropout = Dropout<Float>(probability: 0.5)
        var generator = SplitMix64(seed: 1)
        let x = Tape<Float>(recording: false).constant(Tensor(shape: [8], repeating: 1))
        #expect(dropout(x, using: &generator).value == x.value)
    }

    @Test func mlpLearnsXOR() {
        var generator = SplitMix64(seed: 42)
        let mlp = MLP<Float>(sizes: [2, 8, 1], using: &generator)
        var optimizer = Adam(parameters: mlp.parameters, learningRate: 0.05)
        let x = Tensor<Float>(shape: [4, 2], scalars: [0, 0, 0, 1, 1, 0, 1, 1])
        let y = Tensor<Float>(shape: [4, 1], scalars: [0, 1, 1, 0])
        for _ in 0..<300 {
            optimizer.zeroGradients()
            let tape = Tape<Float>()
            tape.backward(mlp(tape.constant(x)).binaryCrossEntropyWithLogits(targets: y))
            optimizer.step()
        }
        let logits = mlp(Tape<Float>(recording: false).constant(x)).value.scalars
        #expect(logits.map { $0 > 0 } == [false, true, true, false], "logits \(logits)")
    }

    @Test func gruLearnsToEchoTheFirstToken() {
        // Sequences of 4 tokens over a vocabulary of 4; the target is the first token, read
        // from the final hidden state, so the GRU must carry it across three steps.
        var generator = SplitMix64(seed: 9)
        let (vocabulary, steps, batch) = (4, 4, 32)
        let tokens = (0..<(batch * steps)).map { _ in Int32(generator.next() % UInt64(vocabulary)) }
        let targets = (0..<batch).map { tokens[$0 * steps] }
        let embedding = Embedding<Float>(count: vocabulary, dimension: 8, standardDeviation: 1, using: &generator)
        let gru = GRU<Float>(inputSize: 8, hiddenSize: 16, using: &generator)
        let head = Linear<Float>(inputSize: 16, outputSize: vocabulary, using: &generator)
        var optimizer = Adam(parameters: embedding.parameters + gru.parameters + head.parameters, learningRate: 0.03)
        func logits(_ tape: Tape<Float>) -> Variable<Float> {
            head(gru(embedding(tokens, shape: [batch, steps], on: tape)).state.reshaped([batch, 16]))
        }
        var losses: [Float] = []
        for _ in 0..<120 {
            optimizer.zeroGradients()
            let tape = Tape<Float>()
            let loss = logits(tape).crossEntropy(targets: targets)
            tape.backward(loss)
            optimizer.step()
            losses.append(loss.value.scalars[0])
        }
        let scores = logits(Tape(recording: false)).value.scalars
        let predictions = (0..<batch).map { row in
            Int32((0..<vocabulary).max { scores[row * vocabulary + $0] < scores[row * vocabulary + $1] } ?? 0)
        }
        #expect(predictions == targets, "losses \(losses.first ?? 0) → \(losses.last ?? 0)")
    }

    @Test func stateDictRoundTripsAndLoadsStrictly() throws {
        var generator = SplitMix64(seed: 5)
        let block = TransformerBlock<Float>(width: 4, heads: 2, feedForwardSize: 6, using: &generator)
        #expect(
            block.namedParameters.map(\.name) == [
                "self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight",
                "self_attn.out_proj.bias", "linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias",
                "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias",
            ])
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "reckit-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try StateDict.save(block, to: url)
        let copy = TransformerBlock<Float>(width: 4, heads: 2, feedForwardSize: 6, using: &generator)
        #expect(copy.parameters[0].value != block.parameters[0].value)
        try StateDict.load(from: url, into: copy)
        #expect(copy.parameters.map(\.value) == block.parameters.map(\.value))

        var tensors = StateDict.tensors(of: block)
        tensors["extra"] = SafeTensor([Float(1)])
        #expect(throws: CheckpointError.unexpectedKeys(["extra"])) { try StateDict.load(tensors, into: copy) }
        tensors["extra"] = nil
        tensors["norm2.bias"] = nil
        #expect(throws: CheckpointError.missingKeys(["norm2.bias"])) { try StateDict.load(tensors, into: copy) }
        tensors["norm2.bias"] = SafeTensor([Float](repeating: 0, count: 5))
        #expect(throws: CheckpointError.mismatch(key: "norm2.bias", expected: "[4]", found: "[5]")) {
            try StateDict.load(tensors, into: copy)
        }
        tensors["norm2.bias"] = SafeTensor([Double](repeating: 0, count: 4))
        #expect(throws: CheckpointError.mismatch(key: "norm2.bias", expected: "F32", found: "F64")) {
            try StateDict.load(tensors, into: copy)
        }
        #expect(copy.parameters.map(\.value) == block.parameters.map(\.value))  // failed loads change nothing
    }

    @Test func servingModelsAreSendableAndHoldNoGradientBuffers() async {
        var generator = SplitMix64(seed: 6)
        let block = TransformerBlock<Float>(width: 4, heads: 2, feedForwardSize: 6, using: &generator)
        let x = deterministicInput([1, 3, 4]) as Tensor<Float>
        // Two tasks score with the same model at once (reads only).
        let first = Task.detached {
            var rng = SplitMix64(seed: 7)
            return block(Tape(recording: false).constant(x), causal: true, using: &rng).value
        }
        var rng = SplitMix64(seed: 7)
        let second = block(Tape(recording: false).constant(x), causal: true, using: &rng).value
        #expect(await first.value == second)
        let weight = block.linear1.weight
        #expect(weight.gradientRows == [] && weight.grad == Tensor(zeros: weight.shape))
    }

    @Test func sequentialKeysMatchTorch() {
        var generator = SplitMix64(seed: 1)
        let mlp = MLP<Float>(sizes: [2, 3, 4], using: &generator)
        #expect(mlp.namedParameters.map(\.name) == ["0.weight", "0.bias", "2.weight", "2.bias"])
        let gru = GRU<Float>(inputSize: 2, hiddenSize: 3, layers: 2, using: &generator)
        #expect(gru.namedParameters.map(\.name).last == "bias_hh_l1")
        #expect(gru.namedParameters.map(\.parameter.shape).first == [9, 2])
    }

    @Test(arguments: [0, 1, 2])
    func optimizersUpdateOnlyTouchedEmbeddingRows(kind: Int) {
        var generator = SplitMix64(seed: 2)
        let embedding = Embedding<Float>(count: 5, dimension: 3, paddingIndex: 0, using: &generator)
        let before = embedding.weight.value.scalars
        var optimizer: any Optimizer<Float> =
            switch kind {
            case 0: SGD(parameters: embedding.parameters, learningRate: 0.1, momentum: 0.9)
            case 1: Adam.adamW(parameters: embedding.parameters, learningRate: 0.1)
            default: Adagrad(parameters: embedding.parameters, learningRate: 0.1)
            }
        for _ in 0..<2 {
            optimizer.zeroGradients()
            let tape = Tape<Float>()
            tape.backward(embedding([0, 3, 3], shape: [3], on: tape).sum())
            optimizer.step()
        }
        let after = embedding.weight.value.scalars
        for row in 0..<5 {
            let moved = (row * 3..<row * 3 + 3).contains { (index: Int) -> Bool in after[index] != before[index] }
            #expect(moved == (row == 3), "row \(row)")
        }
    }

    @Test func clippingAndSchedules() {
        let p = Parameter<Float>(Tensor(zeros: [2]))
        p.accumulateGradient(Tensor(shape: [2], scalars: [3, 4]))
        #expect(clipGradientNorm([p], maxNorm: 1) == 5)
        #expect(abs(p.grad.scalars[0] - 0.6) < 1e-5 && abs(p.grad.scalars[1] - 0.8) < 1e-5)
        #expect(clipGradientNorm([p], maxNorm: 10) < 1.0001 && abs(p.grad.scalars[1] - 0.8) < 1e-5)

        let linear = LearningRateSchedule<Double>(base: 1, warmupSteps: 4, totalSteps: 14, decay: .linear)
        #expect((0..<4).map { linear.rate(at: $0) } == [0.25, 0.5, 0.75, 1])
        #expect(linear.rate(at: 9) == 0.5 && linear.rate(at: 14) == 0 && linear.rate(at: 100) == 0)
        let cosine = LearningRateSchedule<Double>(base: 2, totalSteps: 10, decay: .cosine, minimum: 0.5)
        #expect(cosine.rate(at: 0) == 2 && abs(cosine.rate(at: 5) - 1.25) < 1e-12 && cosine.rate(at: 10) == 0.5)
        #expect(LearningRateSchedule<Double>(base: 3, totalSteps: 5, decay: .constant).rate(at: 4) == 3)
    }

    @Test func initializersHaveTheRightSpread() {
        var generator = SplitMix64(seed: 4)
        let xavier: Tensor<Double> = Initializer.xavierUniform(shape: [200, 100], using: &generator)
        let bound = (6.0 / 300).squareRoot()
        #expect(xavier.scalars.allSatisfy { abs($0) <= bound })
        #expect(abs(xavier.scalars.map { $0 * $0 }.reduce(0, +) / 20_000 - bound * bound / 3) < 1e-3)
        let normal: Tensor<Double> = Initializer.normal(shape: [20_000], using: &generator)
        let variance = normal.scalars.map { $0 * $0 }.reduce(0, +) / 20_000
        #expect(abs(variance.squareRoot() - 0.02) < 0.001)
    }
}

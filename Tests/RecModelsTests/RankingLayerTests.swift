import Foundation
import NeuralNet
import RecData
import Tensors
import Testing

@testable import RecModels

/// Gradient checks (Float64, central differences, torch's tolerances) of the click-through
/// layers and networks, and the FM identity against the explicit pairwise sum (issue 46).
struct RankingLayerTests {
    static let seeds: [UInt64] = [1, 2, 3]

    /// Three examples, two single fields over rows 1...6, a bag of width 3 (the third example's
    /// empty) and a behaviour sequence of width 4 (padding 0 at the end, one empty).
    static let indices = FieldIndices(
        count: 3, fields: [1, 4, 2, 5, 3, 6], fieldCount: 2,
        bags: [[2, 3, 0, 5, 0, 0, 0, 0, 0], [4, 5, 6, 0, 6, 0, 0, 0, 0, 0, 0, 0]])
    static let rows = 7

    func expectGradient(
        _ parameters: [Parameter<Double>], seed: UInt64, sourceLocation: SourceLocation = #_sourceLocation,
        _ function: (Tape<Double>) -> Variable<Double>
    ) {
        let result = GradientCheck.check(parameters, seed: seed, function)
        #expect(result.passed, "\(result)", sourceLocation: sourceLocation)
        #expect(result.checked > 0, sourceLocation: sourceLocation)
    }

    /// Draws every parameter from U(-0.5, 0.5), so zero-initialized ones (first-order weights)
    /// are checked away from zero too.
    func randomize(_ parameters: [Parameter<Double>], seed: UInt64) {
        var generator = SplitMix64(seed: seed &+ 100)
        for parameter in parameters {
            parameter.value = Tensor.randomUniform(shape: parameter.shape, in: -0.5..<0.5, using: &generator)
        }
    }

    @Test(arguments: seeds)
    func fieldEmbeddingGradients(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        let layer = FieldEmbedding<Double>(rows: Self.rows, dimension: 3, firstOrder: true, using: &generator)
        randomize(layer.parameters, seed: seed)
        expectGradient(layer.parameters, seed: seed) { tape in
            let e = layer(Self.indices, on: tape)
            return Variable.concatenate(
                [e.reshaped([36]), layer.firstOrder(Self.indices, on: tape).reshaped([3])], axis: 0)
        }
    }

    @Test func meanPoolingAveragesPresentEntriesAndEmptyBagsAreZero() {
        var generator = SplitMix64(seed: 4)
        let layer = FieldEmbedding<Double>(rows: Self.rows, dimension: 2, firstOrder: false, using: &generator)
        let e = layer(Self.indices, on: Tape(recording: false)).value
        let w = layer.embedding.weight.value.scalars
        #expect(e.shape == [3, 4, 2])
        // Example 0, bag 0 holds rows 2 and 3; example 2's bags are empty.
        for j in 0..<2 {
            #expect(abs(e[0, 2, j] - (w[2 * 2 + j] + w[3 * 2 + j]) / 2) < 1e-12)
            #expect(e[2, 2, j] == 0 && e[2, 3, j] == 0)
            #expect(abs(e[1, 3, j] - w[6 * 2 + j]) < 1e-12)
        }
    }

    @Test(arguments: seeds)
    func pairwiseTermEqualsExplicitSumAndItsGradientChecks(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        let e = Parameter(Tensor<Double>.randomUniform(shape: [2, 4, 3], in: -1..<1, using: &generator))
        let fast = pairwiseInteraction(Tape(recording: false).parameter(e)).value
        for n in 0..<2 {
            var explicit = 0.0
            for f in 0..<4 {
                for g in (f + 1)..<4 { for d in 0..<3 { explicit += e.value[n, f, d] * e.value[n, g, d] } }
            }
            #expect(abs(fast[n, 0] - explicit) < 1e-12)
        }
        expectGradient([e], seed: seed) { tape in pairwiseInteraction(tape.parameter(e)) }
    }

    @Test(arguments: seeds)
    func factorizationMachineAndDeepFMGradients(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        let fm = FactorizationMachine<Double>(rows: Self.rows, dimension: 3, using: &generator)
        randomize(fm.parameters, seed: seed)
        expectGradient(fm.parameters, seed: seed) { tape in fm.logits(Self.indices, on: tape) }
        let deep = DeepFM<Double>(rows: Self.rows, dimension: 3, fieldCount: 4, hidden: [5, 4], using: &generator)
        randomize(deep.fm.parameters, seed: seed)
        expectGradient(deep.parameters, seed: seed) { tape in deep.logits(Self.indices, on: tape) }
    }

    @Test(arguments: seeds)
    func crossNetworkAndDCNV2Gradients(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        let cross = CrossNetwork<Double>(width: 4, depth: 2, using: &generator)
        let x = Parameter(Tensor<Double>.randomUniform(shape: [3, 4], in: -1..<1, using: &generator))
        expectGradient([x] + cross.parameters, seed: seed) { tape in cross(tape.parameter(x)) }
        // One layer by hand: x1 = x0 ⊙ (W x0 + b) + x0.
        let one = CrossNetwork<Double>(width: 4, depth: 1, using: &generator)
        let y = one(Tape(recording: false).parameter(x)).value
        let (w, b) = (one.layers[0].weight.value, one.layers[0].bias?.value ?? Tensor(zeros: [4]))
        for n in 0..<3 {
            for i in 0..<4 {
                let linear = (0..<4).reduce(b[i]) { $0 + w[i, $1] * x.value[n, $1] }
                #expect(abs(y[n, i] - (x.value[n, i] * linear + x.value[n, i])) < 1e-12)
            }
        }
        let dcn = DCNV2<Double>(
            rows: Self.rows, dimension: 2, fieldCount: 4, crossLayers: 2, hidden: [3], using: &generator)
        randomize(dcn.fields.parameters, seed: seed)
        expectGradient(dcn.parameters, seed: seed) { tape in dcn.logits(Self.indices, on: tape) }
    }

    @Test(arguments: seeds)
    func attentionAndDINGradients(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        let attention = AttentionPooling<Double>(dimension: 2, hidden: 3, using: &generator)
        let q = Parameter(Tensor<Double>.randomUniform(shape: [2, 1, 2], in: -1..<1, using: &generator))
        let k = Parameter(Tensor<Double>.randomUniform(shape: [2, 3, 2], in: -1..<1, using: &generator))
        let mask = Tensor<Double>(shape: [2, 3, 1], scalars: [1, 1, 0, 1, 0, 0])
        expectGradient([q, k] + attention.parameters, seed: seed) { tape in
            attention(query: tape.parameter(q), keys: tape.parameter(k), mask: mask)
        }
        // A masked position adds nothing, whatever its key: no softmax renormalizes.
        let tape = Tape<Double>(recording: false)
        let pooled = attention(query: tape.parameter(q), keys: tape.parameter(k), mask: mask).value
        k.value[1, 2, 0] += 10
        let moved = attention(query: tape.parameter(q), keys: tape.parameter(k), mask: mask).value
        #expect(pooled == moved)
        let din = DeepInterestNetwork<Double>(
            rows: Self.rows, dimension: 2, fieldCount: 4, itemField: 1, attentionHidden: 3, hidden: [4],
            using: &generator)
        randomize(din.fields.parameters, seed: seed)
        expectGradient(din.parameters, seed: seed) { tape in din.logits(Self.indices, on: tape) }
    }
}

import Tensors
import Testing

@testable import NeuralNet

/// Training runs in `Float` while gradient checks run in `Double`; these tests tie the two
/// together: the same weights give the same loss and gradients in both, to Float32 precision.
struct PrecisionTests {
    func lossAndGradients<Scalar: TensorScalar>(_ type: Scalar.Type) -> (loss: Double, gradients: [[Double]]) {
        var generator = SplitMix64(seed: 3)
        let embedding = Embedding<Scalar>(count: 7, dimension: 8, paddingIndex: 0, using: &generator)
        let block = TransformerBlock<Scalar>(width: 8, heads: 2, feedForwardSize: 12, dropout: 0, using: &generator)
        let gru = GRU<Scalar>(inputSize: 8, hiddenSize: 8, using: &generator)
        for layer in [embedding.namedParameters, block.namedParameters, gru.namedParameters] {
            for (k, (_, parameter)) in layer.enumerated() {
                for i in 0..<parameter.value.count {
                    let v = 0.3 * Double.sin(0.7 * Double(i) + 1.3 * Double(k) + 0.1)
                    parameter.value.scalars[i] = Scalar(v)
                }
            }
        }
        let tokens: [Int32] = [0, 1, 2, 3, 4, 5, 6, 1, 0, 0, 2, 2]
        let tape = Tape<Scalar>()
        let x = embedding(tokens, shape: [2, 6], on: tape)
        // Padding keys are hidden; query 0 of row 0 sees no key at all and must give zeros, not NaN.
        let h = block(x, causal: true, keep: tokens.map { $0 != 0 }, using: &generator)
        let (_, state) = gru(h)
        let logits = state.reshaped([2, 8]).matmul(x.parameter(embedding.weight), transposeOther: true)
        let loss = logits.crossEntropy(targets: [3, 5])
        tape.backward(loss)
        let parameters = embedding.parameters + block.parameters + gru.parameters
        return (Double(loss.value.scalars[0]), parameters.map { $0.grad.scalars.map { Double($0) } })
    }

    @Test func floatTrainingMatchesDoubleReference() {
        let single = lossAndGradients(Float.self)
        let double = lossAndGradients(Double.self)
        #expect(abs(single.loss - double.loss) < 1e-5 * max(1, abs(double.loss)))
        for (index, (f, d)) in zip(single.gradients, double.gradients).enumerated() {
            let scale = max(1e-3, d.map { abs($0) }.max() ?? 0)
            let worst = zip(f, d).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= 1e-4 * scale, "parameter \(index): worst difference \(worst), scale \(scale)")
        }
    }
}

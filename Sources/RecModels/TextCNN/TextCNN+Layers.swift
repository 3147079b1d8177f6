import Foundation
import NeuralNet
import RecData
import Tensors

extension TextCNN {
    /// Word embeddings → parallel convolutions → max over time, beside the mean attribute
    /// embedding, → a linear layer to `factors`.
    struct Encoder: Layer {
        typealias Scalar = Float
        let wordEmbedding: Embedding<Float>
        let attributeEmbedding: Embedding<Float>
        let convolutions: [Conv1d<Float>]
        let projection: Linear<Float>

        init(
            words: Int, attributes: Int, wordSize: Int, filters: Int, widths: [Int], factors: Int,
            generator: inout SplitMix64
        ) {
            wordEmbedding = Embedding(
                count: words + 1, dimension: wordSize, paddingIndex: 0, standardDeviation: 0.1, using: &generator)
            attributeEmbedding = Embedding(
                count: attributes + 1, dimension: wordSize, paddingIndex: 0, standardDeviation: 0.1, using: &generator)
            convolutions = widths.map {
                Conv1d(inputChannels: wordSize, outputChannels: filters, kernelSize: $0, using: &generator)
            }
            projection = Linear(inputSize: filters * widths.count + wordSize, outputSize: factors, using: &generator)
        }

        var namedParameters: [(name: String, parameter: Parameter<Float>)] {
            wordEmbedding.namedParameters(prefix: "word_embedding")
                + attributeEmbedding.namedParameters(prefix: "attribute_embedding")
                + convolutions.enumerated().flatMap { $0.element.namedParameters(prefix: "convs.\($0.offset)") }
                + projection.namedParameters(prefix: "projection")
        }

        /// `(items, factors)` content vectors for `items` (indices into `tokens`).
        func callAsFunction(_ items: [Int32], tokens: ItemTokens, on tape: Tape<Float>) -> Variable<Float> {
            let n = items.count
            let width = tokens.maxWords
            var wordIDs = [Int32](repeating: 0, count: n * width)
            for (r, item) in items.enumerated() {
                for (t, word) in tokens.words[Int(item)].enumerated() { wordIDs[r * width + t] = word }
            }
            let text = wordEmbedding(wordIDs, shape: [n, width], on: tape).permuted([0, 2, 1])  // (N, E, T)
            let pooled = convolutions.map { conv -> Variable<Float> in
                let extent = width - conv.weight.shape[2] + 1
                return conv(text).relu().maxPool1d(kernel: extent).reshaped([n, conv.weight.shape[0]])
            }
            let longest = max(1, items.map { tokens.attributes[Int($0)].count }.max() ?? 1)
            var attributeIDs = [Int32](repeating: 0, count: n * longest)
            var scale = [Float](repeating: 0, count: n)
            for (r, item) in items.enumerated() {
                let row = tokens.attributes[Int(item)]
                for (t, attribute) in row.enumerated() { attributeIDs[r * longest + t] = attribute }
                scale[r] = row.isEmpty ? 0 : 1 / Float(row.count)
            }
            let attributes =
                attributeEmbedding(attributeIDs, shape: [n, longest], on: tape).sum(alongAxes: [1])
                * tape.constant(Tensor(shape: [n, 1], scalars: scale))
            return projection(Variable.concatenate(pooled + [attributes], axis: 1))
        }
    }

    /// The mean id embedding of a user's items, then a linear layer.
    struct UserTower: Layer {
        typealias Scalar = Float
        let itemEmbedding: Embedding<Float>
        let projection: Linear<Float>

        init(items: Int, factors: Int, generator: inout SplitMix64) {
            itemEmbedding = Embedding(
                count: items + 1, dimension: factors, paddingIndex: 0, standardDeviation: 0.1, using: &generator)
            projection = Linear(inputSize: factors, outputSize: factors, using: &generator)
        }

        var namedParameters: [(name: String, parameter: Parameter<Float>)] {
            itemEmbedding.namedParameters(prefix: "item_embedding") + projection.namedParameters(prefix: "projection")
        }

        func callAsFunction(_ histories: [[Int32]], on tape: Tape<Float>) -> Variable<Float> {
            let n = histories.count
            let longest = max(1, histories.map(\.count).max() ?? 1)
            var ids = [Int32](repeating: 0, count: n * longest)
            var scale = [Float](repeating: 0, count: n)
            for (r, history) in histories.enumerated() {
                for (t, item) in history.enumerated() { ids[r * longest + t] = item + 1 }
                scale[r] = history.isEmpty ? 0 : 1 / Float(history.count)
            }
            let mean =
                itemEmbedding(ids, shape: [n, longest], on: tape).sum(alongAxes: [1])
                * tape.constant(Tensor(shape: [n, 1], scalars: scale))
            return projection(mean)
        }
    }
}

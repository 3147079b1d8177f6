import NeuralNet
import Tensors

/// SASRec (Kang & McAuley 2018): causal self-attention over the newest items, learned
/// positions, the item embeddings shared between input and output.
///
/// Parameters: `hidden_size` [64], `blocks` [2], `heads` [1], `inner_size` [256] (the
/// feed-forward width), `dropout` [0.2], plus the shared ones of ``NeuralSequenceModel``
/// (`max_length` [50]).
public typealias SASRec = NeuralSequenceModel<SASRecArchitecture>

public struct SASRecArchitecture: SequenceArchitecture {
    public static let kind = ModelKind.sasrec
    public static let defaultMaxLength = 50
    public let hiddenSize: Int
    public let blocks: Int
    public let heads: Int
    public let innerSize: Int
    public let dropout: Float

    public init(reading reader: inout ParameterReader) throws {
        hiddenSize = try reader.int("hidden_size", default: 64, in: 1...4096)
        blocks = try reader.int("blocks", default: 2, in: 1...64)
        heads = try reader.int("heads", default: 1, in: 1...64)
        innerSize = try reader.int("inner_size", default: 256, in: 1...65_536)
        dropout = Float(try reader.double("dropout", default: 0.2, in: 0...0.95))
        guard hiddenSize % heads == 0 else {
            throw ModelError.invalidParameter(
                model: Self.kind.rawValue, key: "heads", value: String(heads),
                reason: "hidden_size \(hiddenSize) is not divisible by it")
        }
    }

    public var parameters: [String: String] {
        [
            "hidden_size": String(hiddenSize), "blocks": String(blocks), "heads": String(heads),
            "inner_size": String(innerSize), "dropout": String(dropout),
        ]
    }

    public func makeNetwork(items: Int, users: Int, maxLength: Int, generator: inout SplitMix64) -> Network {
        Network(architecture: self, items: items, maxLength: maxLength, generator: &generator)
    }

    public struct Network: SequenceNetwork {
        public let itemEmbedding: Embedding<Float>
        public let positionEmbedding: Embedding<Float>
        public let blocks: [TransformerBlock<Float>]
        public let finalNorm: LayerNorm<Float>
        public let dropout: Dropout<Float>
        public static var predictsEveryPosition: Bool { true }

        init(architecture: SASRecArchitecture, items: Int, maxLength: Int, generator: inout SplitMix64) {
            let d = architecture.hiddenSize
            itemEmbedding = Embedding(count: items + 1, dimension: d, paddingIndex: 0, using: &generator)
            positionEmbedding = Embedding(count: maxLength, dimension: d, using: &generator)
            blocks = (0..<architecture.blocks).map { _ in
                TransformerBlock(
                    width: d, heads: architecture.heads, feedForwardSize: architecture.innerSize,
                    dropout: architecture.dropout, normFirst: true, using: &generator)
            }
            finalNorm = LayerNorm(dimension: d)
            dropout = Dropout(probability: architecture.dropout)
        }

        public var namedParameters: [(name: String, parameter: Parameter<Float>)] {
            itemEmbedding.namedParameters(prefix: "item_embedding")
                + positionEmbedding.namedParameters(prefix: "position_embedding")
                + blocks.enumerated().flatMap { $0.element.namedParameters(prefix: "blocks.\($0.offset)") }
                + finalNorm.namedParameters(prefix: "final_norm")
        }

        public var outputWeight: Parameter<Float> { itemEmbedding.weight }
        public var outputBias: Parameter<Float>? { nil }

        public func encode(_ batch: SequenceBatch, on tape: Tape<Float>, generator: inout SplitMix64) -> Variable<Float>
        {
            let (rows, length) = (batch.rows, batch.length)
            let d = itemEmbedding.weight.shape[1]
            let items = itemEmbedding(batch.tokens, shape: [rows, length], on: tape)
            let positions = positionEmbedding((0..<length).map(Int32.init), shape: [length], on: tape)
            // Rows are right-padded, so causal attention never lets a real position see padding.
            var h = dropout(items + positions, using: &generator)
            for block in blocks { h = block(h, causal: true, using: &generator) }
            return finalNorm(h).reshaped([rows * length, d])
        }

        /// When no row is padded (one sequence, as the server scores), the last block computes
        /// only the newest step: its attention query, residual and feed-forward network for one
        /// row instead of `length`.
        public func lastStates(_ batch: SequenceBatch, on tape: Tape<Float>) -> Tensor<Float> {
            var generator = SplitMix64(seed: 0)
            guard batch.lengths.allSatisfy({ $0 == batch.length }), let lastBlock = blocks.last else {
                return Self.lastStates(of: encode(batch, on: tape, generator: &generator).value, batch: batch)
            }
            let (rows, length) = (batch.rows, batch.length)
            let items = itemEmbedding(batch.tokens, shape: [rows, length], on: tape)
            let positions = positionEmbedding((0..<length).map(Int32.init), shape: [length], on: tape)
            var h = items + positions
            for block in blocks.dropLast() { h = block(h, causal: true, using: &generator) }
            h = lastBlock(h, causal: true, lastStepOnly: true, using: &generator)
            return finalNorm(h).reshaped([rows, itemEmbedding.weight.shape[1]]).value
        }
    }
}

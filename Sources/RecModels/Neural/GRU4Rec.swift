import NeuralNet
import Tensors

/// GRU4Rec (Hidasi et al. 2016) trained as Hidasi & Czapp (2023) recommend: cross-entropy over
/// every item at every position (their best loss), item embeddings tied between input and
/// output. `LSTMRec` is the same model with an LSTM cell.
///
/// Parameters: `hidden_size` [128] (the recurrent state), `embedding_size` [64], `layers` [1],
/// `dropout` [0.3] on the input embeddings, `hidden_dropout` [0] on the recurrent outputs before
/// the projection to item space (the state carried along the sequence is not dropped; Hidasi &
/// Czapp's `dropout_p_hidden`), plus the shared ones of ``NeuralSequenceModel`` (`max_length` [50]).
public typealias GRU4Rec = NeuralSequenceModel<RecurrentArchitecture<GRUStack>>
/// GRU4Rec with an LSTM cell.
public typealias LSTMRec = NeuralSequenceModel<RecurrentArchitecture<LSTMStack>>

/// The recurrent layers of a ``RecurrentArchitecture``: `layers` GRU or LSTM layers, one after
/// another. (A cell, in `Tensors`, is one step's arithmetic inside such a layer.)
public protocol RecurrentStack: Sendable {
    static var kind: ModelKind { get }
    init(inputSize: Int, hiddenSize: Int, layers: Int, generator: inout SplitMix64)
    /// `(B, L, hidden)` outputs for `(B, L, input)` inputs.
    func run(_ x: Variable<Float>) -> Variable<Float>
    var namedParameters: [(name: String, parameter: Parameter<Float>)] { get }
}

/// `layers` GRU layers (``GRU``): GRU4Rec's recurrence.
public struct GRUStack: RecurrentStack {
    public static let kind = ModelKind.gru4rec
    public let gru: GRU<Float>
    public init(inputSize: Int, hiddenSize: Int, layers: Int, generator: inout SplitMix64) {
        gru = GRU(inputSize: inputSize, hiddenSize: hiddenSize, layers: layers, using: &generator)
    }
    public func run(_ x: Variable<Float>) -> Variable<Float> { gru(x).output }
    public var namedParameters: [(name: String, parameter: Parameter<Float>)] { gru.namedParameters(prefix: "gru") }
}

/// `layers` LSTM layers (``LSTM``), forget gates opened: LSTMRec's recurrence.
public struct LSTMStack: RecurrentStack {
    public static let kind = ModelKind.lstm
    public let lstm: LSTM<Float>
    public init(inputSize: Int, hiddenSize: Int, layers: Int, generator: inout SplitMix64) {
        lstm = LSTM(inputSize: inputSize, hiddenSize: hiddenSize, layers: layers, using: &generator)
        // Forget gates start open (bias 1, Gers et al. 2000; Jozefowicz et al. 2015), so the cell
        // carries its state across steps from the first epoch instead of learning to.
        for cell in lstm.cells {
            for j in hiddenSize..<(2 * hiddenSize) { cell.biasIH.value.scalars[j] = 1 }
        }
    }
    public func run(_ x: Variable<Float>) -> Variable<Float> { lstm(x).output }
    public var namedParameters: [(name: String, parameter: Parameter<Float>)] { lstm.namedParameters(prefix: "lstm") }
}

public struct RecurrentArchitecture<Stack: RecurrentStack>: SequenceArchitecture {
    public static var kind: ModelKind { Stack.kind }
    public static var defaultMaxLength: Int { 50 }
    public let hiddenSize: Int
    public let embeddingSize: Int
    public let layers: Int
    public let dropout: Float
    public let hiddenDropout: Float

    public init(reading reader: inout ParameterReader) throws {
        hiddenSize = try reader.int("hidden_size", default: 128, in: 1...4096)
        embeddingSize = try reader.int("embedding_size", default: 64, in: 1...4096)
        layers = try reader.int("layers", default: 1, in: 1...16)
        dropout = Float(try reader.double("dropout", default: 0.3, in: 0...0.95))
        hiddenDropout = Float(try reader.double("hidden_dropout", default: 0, in: 0...0.95))
    }

    public var parameters: [String: String] {
        [
            "hidden_size": String(hiddenSize), "embedding_size": String(embeddingSize), "layers": String(layers),
            "dropout": String(dropout), "hidden_dropout": String(hiddenDropout),
        ]
    }

    public func makeNetwork(items: Int, users: Int, maxLength: Int, generator: inout SplitMix64) -> Network {
        Network(architecture: self, items: items, generator: &generator)
    }

    public struct Network: SequenceNetwork {
        public let itemEmbedding: Embedding<Float>
        public let stack: Stack
        public let dense: Linear<Float>
        public let dropout: Dropout<Float>
        public let hiddenDropout: Dropout<Float>
        public static var predictsEveryPosition: Bool { true }

        init(architecture: RecurrentArchitecture, items: Int, generator: inout SplitMix64) {
            itemEmbedding = Embedding(
                count: items + 1, dimension: architecture.embeddingSize, paddingIndex: 0, using: &generator)
            stack = Stack(
                inputSize: architecture.embeddingSize, hiddenSize: architecture.hiddenSize, layers: architecture.layers,
                generator: &generator)
            dense = Linear(
                inputSize: architecture.hiddenSize, outputSize: architecture.embeddingSize, using: &generator)
            dropout = Dropout(probability: architecture.dropout)
            hiddenDropout = Dropout(probability: architecture.hiddenDropout)
        }

        public var namedParameters: [(name: String, parameter: Parameter<Float>)] {
            itemEmbedding.namedParameters(prefix: "item_embedding") + stack.namedParameters
                + dense.namedParameters(prefix: "dense")
        }

        public var outputWeight: Parameter<Float> { itemEmbedding.weight }
        public var outputBias: Parameter<Float>? { nil }

        public func encode(_ batch: SequenceBatch, on tape: Tape<Float>, generator: inout SplitMix64) -> Variable<Float>
        {
            let x = dropout(
                itemEmbedding(batch.tokens, shape: [batch.rows, batch.length], on: tape), using: &generator)
            let h = dense(hiddenDropout(stack.run(x), using: &generator))
            return h.reshaped([batch.rows * batch.length, h.shape[2]])
        }
    }
}

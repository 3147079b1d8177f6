import NeuralNet
import Tensors

/// Caser (Tang & Wang 2018): horizontal and vertical convolutions over the `L × d` matrix of
/// a user's newest item embeddings, joined with a user embedding; the output layer is tied to
/// the item embeddings, as in RecBole's implementation.
///
/// Parameters: `hidden_size` [64], `horizontal_filters` [16] per height 1…L, `vertical_filters`
/// [4], `dropout` [0.4], plus the shared ones of ``NeuralSequenceModel`` (`max_length` [5], the
/// window L). A user the model never saw gets a zero user vector.
public typealias Caser = NeuralSequenceModel<CaserArchitecture>

public struct CaserArchitecture: SequenceArchitecture {
    public static let kind = ModelKind.caser
    public static let defaultMaxLength = 5
    public let hiddenSize: Int
    public let horizontalFilters: Int
    public let verticalFilters: Int
    public let dropout: Float

    public init(reading reader: inout ParameterReader) throws {
        hiddenSize = try reader.int("hidden_size", default: 64, in: 1...4096)
        horizontalFilters = try reader.int("horizontal_filters", default: 16, in: 1...4096)
        verticalFilters = try reader.int("vertical_filters", default: 4, in: 1...4096)
        dropout = Float(try reader.double("dropout", default: 0.4, in: 0...0.95))
    }

    public var parameters: [String: String] {
        [
            "hidden_size": String(hiddenSize), "horizontal_filters": String(horizontalFilters),
            "vertical_filters": String(verticalFilters), "dropout": String(dropout),
        ]
    }

    public func makeNetwork(items: Int, users: Int, maxLength: Int, generator: inout SplitMix64) -> Network {
        Network(architecture: self, items: items, users: users, window: maxLength, generator: &generator)
    }

    public struct Network: SequenceNetwork {
        public let itemEmbedding: Embedding<Float>
        /// `users + 1` rows; the last is the zero vector of unknown users.
        public let userEmbedding: Embedding<Float>
        /// One convolution per height `1…L`, each spanning the whole embedding width.
        public let horizontal: [Conv2d<Float>]
        /// `L × 1` filters: weighted sums of the window's embeddings.
        public let vertical: Conv2d<Float>
        public let fc1: Linear<Float>
        public let fc2: Linear<Float>
        public let dropout: Dropout<Float>
        public static var predictsEveryPosition: Bool { false }

        init(architecture: CaserArchitecture, items: Int, users: Int, window: Int, generator: inout SplitMix64) {
            let d = architecture.hiddenSize
            let (nh, nv) = (architecture.horizontalFilters, architecture.verticalFilters)
            itemEmbedding = Embedding(
                count: items + 1, dimension: d, paddingIndex: 0, standardDeviation: 1 / Float(d), using: &generator)
            userEmbedding = Embedding(
                count: users + 1, dimension: d, paddingIndex: users, standardDeviation: 1 / Float(d), using: &generator)
            horizontal = (1...window).map { height in
                Conv2d(inputChannels: 1, outputChannels: nh, kernelSize: (height, d), using: &generator)
            }
            vertical = Conv2d(inputChannels: 1, outputChannels: nv, kernelSize: (window, 1), using: &generator)
            fc1 = Linear(inputSize: nv * d + nh * window, outputSize: d, using: &generator)
            fc2 = Linear(inputSize: 2 * d, outputSize: d, using: &generator)
            dropout = Dropout(probability: architecture.dropout)
        }

        public var namedParameters: [(name: String, parameter: Parameter<Float>)] {
            itemEmbedding.namedParameters(prefix: "item_embedding")
                + userEmbedding.namedParameters(prefix: "user_embedding")
                + horizontal.enumerated().flatMap { $0.element.namedParameters(prefix: "conv_h.\($0.offset)") }
                + vertical.namedParameters(prefix: "conv_v") + fc1.namedParameters(prefix: "fc1")
                + fc2.namedParameters(prefix: "fc2")
        }

        public var outputWeight: Parameter<Float> { itemEmbedding.weight }
        public var outputBias: Parameter<Float>? { nil }

        public func encode(_ batch: SequenceBatch, on tape: Tape<Float>, generator: inout SplitMix64) -> Variable<Float>
        {
            let (rows, window) = (batch.rows, batch.length)
            let d = itemEmbedding.weight.shape[1]
            checkArgument(
                window == horizontal.count, "Caser: a batch of width \(window) for window \(horizontal.count)")
            let image = itemEmbedding(batch.tokens, shape: [rows, 1, window], on: tape)
            let verticalFeatures = vertical(image).reshaped([rows, vertical.weight.shape[0] * d])
            let horizontalFeatures = horizontal.map { conv -> Variable<Float> in
                let extent = window - conv.weight.shape[2] + 1
                return conv(image).relu().reshaped([rows, conv.weight.shape[0], extent]).maxPool1d(kernel: extent)
                    .reshaped([rows, conv.weight.shape[0]])
            }
            let features = Variable.concatenate([verticalFeatures] + horizontalFeatures, axis: 1)
            let z = fc1(dropout(features, using: &generator)).relu()
            let unknown = Int32(userEmbedding.weight.shape[0] - 1)
            let users = userEmbedding(batch.users.map { $0 < 0 ? unknown : $0 }, shape: [rows], on: tape)
            return fc2(Variable.concatenate([z, users], axis: 1)).relu()
        }
    }
}

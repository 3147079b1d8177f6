import NeuralNet
import Tensors

/// A mini-batch of item sequences as the networks read them.
///
/// Item `i` of the catalogue is stored as `i + 1`; `0` is padding. Rows are right-padded
/// (`[a, b, c, 0, 0]`) for the networks that predict at every position, so position `t` always
/// holds the `t`-th item of the window, and left-padded (`[0, 0, a, b, c]`) for the ones that read
/// a fixed window ending at its last column (Caser).
public struct SequenceBatch: Sendable {
    /// `rows × length` item tokens, row-major.
    public var tokens: [Int32]
    /// The number of real items in each row.
    public var lengths: [Int]
    /// The user of each row, or -1 for a user the model never saw.
    public var users: [Int32]
    /// Columns per row.
    public var length: Int

    public var rows: Int { lengths.count }

    /// A batch of `sequences` (item indices), each cut to its newest `length` items.
    public init(sequences: [ArraySlice<Int32>], users: [Int32], length: Int, padLeft: Bool) {
        checkArgument(users.count == sequences.count, "SequenceBatch: \(users.count) users for \(sequences.count) rows")
        let width = max(1, length)
        var tokens = [Int32](repeating: 0, count: sequences.count * width)
        var lengths: [Int] = []
        for (r, sequence) in sequences.enumerated() {
            let kept = sequence.suffix(width)
            let start = r * width + (padLeft ? width - kept.count : 0)
            for (offset, item) in kept.enumerated() { tokens[start + offset] = item + 1 }
            lengths.append(kept.count)
        }
        self.tokens = tokens
        self.lengths = lengths
        self.users = users
        self.length = width
    }
}

/// A neural network that turns item sequences into hidden states which score every item by a
/// dot product with ``outputWeight`` (plus ``outputBias``).
public protocol SequenceNetwork: Layer where Scalar == Float {
    /// `(rows · length, D)` hidden states, one per position, when ``predictsEveryPosition``;
    /// else `(rows, D)`, one per row.
    func encode(
        _ batch: SequenceBatch, on tape: Tape<Float>, generator: inout SplitMix64
    ) -> Variable<Float>

    /// `(rows, D)`: the state after each row's newest item, for inference (`tape` not recording).
    /// A network may compute it more cheaply than ``encode(_:on:generator:)`` does every state;
    /// the default picks it out of those.
    func lastStates(_ batch: SequenceBatch, on tape: Tape<Float>) -> Tensor<Float>

    /// `(items + 1, D)`: row `i + 1` scores item `i`; row 0 is the padding token's.
    var outputWeight: Parameter<Float> { get }
    /// `(items + 1)` or `nil`.
    var outputBias: Parameter<Float>? { get }
    /// Whether ``encode(_:on:generator:)`` gives a state per position (trained on the next item
    /// at every position) or one per row (trained on the item after the window).
    static var predictsEveryPosition: Bool { get }
}

extension SequenceNetwork {
    public func lastStates(_ batch: SequenceBatch, on tape: Tape<Float>) -> Tensor<Float> {
        var generator = SplitMix64(seed: 0)
        return Self.lastStates(of: encode(batch, on: tape, generator: &generator).value, batch: batch)
    }

    /// The rows of `states` (as ``encode(_:on:generator:)`` returns them) after each row's
    /// newest item. An empty history reads the padding state at column 0, a learned "no history"
    /// start.
    static func lastStates(of states: Tensor<Float>, batch: SequenceBatch) -> Tensor<Float> {
        guard predictsEveryPosition else { return states }
        let d = states.shape[1]
        var last = Tensor<Float>(zeros: [batch.rows, d])
        for r in 0..<batch.rows {
            let row = r * batch.length + max(0, batch.lengths[r] - 1)
            for j in 0..<d { last.scalars[r * d + j] = states.scalars[row * d + j] }
        }
        return last
    }
}

/// What distinguishes one sequence model from another: its hyper-parameters and network.
/// ``NeuralSequenceModel`` supplies the training loop, scoring, explanations and checkpoints.
public protocol SequenceArchitecture: Sendable {
    associatedtype Network: SequenceNetwork
    /// The model kind.
    static var kind: ModelKind { get }
    /// The default window: how many of the newest items the network reads.
    static var defaultMaxLength: Int { get }
    /// Reads the architecture's own hyper-parameters.
    init(reading reader: inout ParameterReader) throws
    /// The architecture's own hyper-parameters, for `model.json`.
    var parameters: [String: String] { get }
    /// A freshly initialized network for `items` items and `users` users.
    func makeNetwork(items: Int, users: Int, maxLength: Int, generator: inout SplitMix64) -> Network
}

import Foundation
import NeuralNet
import RecData
import Tensors

/// RepeatNet (Ren et al., "RepeatNet: A Repeat Aware Neural Recommendation Machine for
/// Session-based Recommendation", AAAI 2019): a GRU over the newest `max_length` items, then a
/// learned choice between two modes, `P(i) = P(repeat) P_r(i) + P(explore) P_e(i)`:
/// repeat mode attends over the history positions and gives each item the attention on the
/// positions that hold it; explore mode is a softmax over every item not in the window. Trained
/// on `−log(P(target) + 1e-8)` for every event after a user's first (the window before it as
/// input), with the shared epoch loop (Adam, early stopping on validation NDCG@10).
///
/// As in the authors' code (github.com/PengjieRen/RepeatNet, `AttReDecoder`): three additive
/// attentions without biases, the mode map reads the mode attention's context, the explore map
/// reads `[context; h_T]` and is its own `(items, 2H)` matrix (not tied to the embeddings),
/// dropout on the encoder states. Not the authors' joint mode loss (off by default there too).
///
/// Parameters: `hidden_size` [64], `embedding_size` [64], `dropout` [0.3], `max_length` [50],
/// and the shared `epochs`, `batch_size`, `learning_rate`, `lr_schedule`, `weight_decay`,
/// `patience`, `seed` of ``NeuralSequenceModel`` (`loss` is only `ce`: the mixture's likelihood).
public struct RepeatNet: Recommender {
    public static let kind = ModelKind.repeatNet

    public let options: SequenceTrainingOptions
    public let hiddenSize: Int
    public let embeddingSize: Int
    public let dropout: Float
    public private(set) var network: RepeatNetNetwork?
    public private(set) var epochs: [EpochRecord] = []
    private var counts = (items: 0, users: 0)

    public init(parameters: [String: String] = [:]) throws {
        var reader = ParameterReader(model: Self.kind, parameters)
        options = try SequenceTrainingOptions(reading: &reader, defaultMaxLength: 50, trainsOnWindows: false)
        hiddenSize = try reader.int("hidden_size", default: 64, in: 1...4096)
        embeddingSize = try reader.int("embedding_size", default: 64, in: 1...4096)
        dropout = Float(try reader.double("dropout", default: 0.3, in: 0...0.95))
        try reader.finish()
        guard options.loss == .crossEntropy else {
            throw ModelError.invalidParameter(
                model: Self.kind.rawValue, key: "loss", value: options.loss.rawValue,
                reason: "RepeatNet trains on the likelihood of its mixture: only ce")
        }
    }

    public var parameters: [String: String] {
        options.parameters.merging([
            "hidden_size": String(hiddenSize), "embedding_size": String(embeddingSize), "dropout": String(dropout),
        ]) { first, _ in first }
    }

    public var itemCount: Int { network == nil ? 0 : counts.items }

    func makeNetwork(items: Int) -> RepeatNetNetwork {
        var generator = SplitMix64(seed: options.seed)
        return RepeatNetNetwork(
            items: items, embeddingSize: embeddingSize, hiddenSize: hiddenSize, dropout: dropout,
            generator: &generator)
    }

    // MARK: Training

    public mutating func fit(_ data: TrainingData, progress: ProgressHandler? = nil) throws {
        let log = data.log
        guard log.count > 0, log.itemCount > 0 else {
            throw ModelError.unsuitableData("\(Self.kind) needs interactions")
        }
        counts = (log.itemCount, log.userCount)
        let fresh = makeNetwork(items: counts.items)
        let sequences = log.chronologicalEventsByUser().map { $0.map { log.items[$0] } }
        // One example per event after a user's first: (user, index of the target).
        var examples: [(user: Int, end: Int)] = []
        for (user, sequence) in sequences.enumerated() where sequence.count >= 2 {
            for end in 1..<sequence.count { examples.append((user, end)) }
        }
        guard !examples.isEmpty else {
            throw ModelError.unsuitableData("\(Self.kind) needs users with at least two training events")
        }
        let (items, maxLength) = (counts.items, options.maxLength)
        let scorer: EpochTrainer<RepeatNetNetwork>.Scorer = { network, contexts in
            try Self.scores(of: network, for: contexts, items: items, maxLength: maxLength)
        }
        let loop = EpochTrainer(
            network: fresh, options: options, control: data.control, model: Self.kind.rawValue,
            validate: EpochTrainer.ranking(data.validation, itemCount: items, scorer: scorer))
        epochs = try loop.run(exampleCount: examples.count, progress: progress) { batch, tape, generator in
            let chosen = batch.map { examples[$0] }
            let inputs = chosen.map { sequences[$0.user][max(0, $0.end - maxLength)..<$0.end] }
            let input = SequenceBatch(
                sequences: inputs, users: chosen.map { Int32($0.user) }, length: inputs.map(\.count).max() ?? 1,
                padLeft: false)
            let output = fresh.forward(input, on: tape, generator: &generator)
            return fresh.loss(output, targets: chosen.map { sequences[$0.user][$0.end] })
        }
        network = fresh
    }

    // MARK: Scoring

    /// The network's output for `contexts` (each cut to its newest `maxLength` items), in
    /// inference mode.
    static func forward(of network: RepeatNetNetwork, for contexts: [ScoringContext], maxLength: Int)
        -> RepeatNetNetwork.Output
    {
        let windows = contexts.map { $0.history.suffix(maxLength) }
        let batch = SequenceBatch(
            sequences: windows, users: contexts.map { $0.user ?? -1 },
            length: max(1, windows.map(\.count).max() ?? 1), padLeft: false)
        var generator = SplitMix64(seed: 0)
        return network.forward(batch, on: Tape<Float>(recording: false), generator: &generator)
    }

    /// `(contexts, items)` probabilities `P(i)`.
    static func scores(
        of network: RepeatNetNetwork, for contexts: [ScoringContext], items: Int, maxLength: Int
    ) throws -> Matrix<Float> {
        var result = Matrix<Float>(rows: contexts.count, columns: items)
        let blockRows = 256
        for start in stride(from: 0, to: contexts.count, by: blockRows) {
            let block = Array(contexts[start..<min(contexts.count, start + blockRows)])
            let probabilities = forward(of: network, for: block, maxLength: maxLength).probabilities.value.scalars
            for (offset, value) in probabilities.enumerated() { result.storage[start * items + offset] = value }
        }
        return result
    }

    private func fitted() throws -> RepeatNetNetwork {
        guard let network else { throw ModelError.notFitted }
        return network
    }

    private func checked(_ context: ScoringContext) throws -> ScoringContext {
        for item in context.history where item < 0 || Int(item) >= counts.items {
            throw ModelError.unknownItem(item)
        }
        return context
    }

    public func score(_ context: ScoringContext, into scores: inout [Float]) throws {
        let result = try Self.scores(
            of: fitted(), for: [checked(context)], items: counts.items, maxLength: options.maxLength)
        scores = result.storage
    }

    public func scoreBatch(_ contexts: [ScoringContext]) throws -> Matrix<Float> {
        try Self.scores(of: fitted(), for: contexts.map(checked), items: counts.items, maxLength: options.maxLength)
    }

    /// `P(repeat)` for each context: how sure the model is that the next item is one of the window's.
    public func repeatProbabilities(_ contexts: [ScoringContext]) throws -> [Float] {
        let modes = Self.forward(of: try fitted(), for: try contexts.map(checked), maxLength: options.maxLength).modes
        return (0..<contexts.count).map { modes.value.scalars[2 * $0] }
    }

    // MARK: Item similarity and explanations

    public func similarItems(to item: Int32, count: Int) throws -> [ScoredItem] {
        let network = try fitted()
        guard item >= 0, Int(item) < counts.items else { throw ModelError.unknownItem(item) }
        return Matrix.similarItems(inPaddedTable: network.itemEmbedding.weight.value, to: item, count: count)
    }

    /// Which mode the score came from. Repeat mode: the item itself (it is in the window), with
    /// `P(repeat)`, the attention on its positions and how many there are. Explore mode: the
    /// history items the explore decoder attended to, sharing the score by that attention.
    /// The item contributions add up to the score.
    public func explain(_ context: ScoringContext, item: Int32, count: Int) throws -> [Contribution] {
        let network = try fitted()
        let context = try checked(context)
        guard item >= 0, Int(item) < counts.items else { throw ModelError.unknownItem(item) }
        let window = Array(context.history.suffix(options.maxLength))
        let output = Self.forward(of: network, for: [context], maxLength: options.maxLength)
        let (pRepeat, pExplore) = (output.modes.value.scalars[0], output.modes.value.scalars[1])
        let repeatShare = pRepeat * output.repeatProbabilities.value.scalars[Int(item)]
        let exploreShare = pExplore * output.exploreProbabilities.value.scalars[Int(item)]
        let positions = window.filter { $0 == item }.count
        if positions > 0 {
            let attention = output.repeatProbabilities.value.scalars[Int(item)]
            let places = positions == 1 ? "place" : "\(positions) places"
            let reason =
                String(format: "repeat mode: P(repeat) %.2f, attention %.2f", pRepeat, attention)
                + " on its \(places) in the history"
            return [Contribution(item: item, feature: reason, weight: repeatShare + exploreShare)]
        }
        let reason = String(
            format: "explore mode: P(explore) %.2f, P(item | explore) %.4f", pExplore,
            output.exploreProbabilities.value.scalars[Int(item)])
        var weights: [Int32: Float] = [:]
        for (position, historyItem) in window.enumerated() {
            weights[historyItem, default: 0] += output.exploreWeights.value.scalars[position] * exploreShare
        }
        let items = weights.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }
            .map { Contribution(item: $0.key, weight: $0.value) }
        return Array(([Contribution(feature: reason, weight: window.isEmpty ? exploreShare : 0)] + items).prefix(count))
    }

    // MARK: Saving

    public func weights() throws -> [String: SafeTensor] {
        var tensors = StateDict.tensors(of: try fitted())
        tensors["reckit.counts"] = SafeTensor([Int64(counts.items), Int64(counts.users)])
        return tensors
    }

    public mutating func load(weights: [String: SafeTensor]) throws {
        guard let shape = weights["reckit.counts"], let values = try? shape.int64s(), values.count == 2,
            values[0] > 0, values[1] >= 0
        else { throw CheckpointError.missingKeys(["reckit.counts"]) }
        let loaded = makeNetwork(items: Int(values[0]))
        var rest = weights
        rest["reckit.counts"] = nil
        try StateDict.load(rest, into: loaded)
        counts = (Int(values[0]), Int(values[1]))
        network = loaded
    }
}

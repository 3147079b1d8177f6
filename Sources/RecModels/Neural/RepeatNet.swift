import Foundation
import NeuralNet
import RecData
import Tensors

/// RepeatNet (Ren et al., "RepeatNet: A Repeat Aware Neural Recommendation Machine for
/// Session-based Recommendation", AAAI 2019): a GRU over the newest `max_length` items, then a
/// learned choice between two modes, `P(i) = P(repeat) P_r(i) + P(explore) P_e(i)`:
/// repeat mode attends over the history positions and gives each item the attention on the
/// positions that hold it; explore mode is a softmax over every item not in the window. Trained
/// on `−log(P(target) + 1e-8)` with the shared epoch loop (Adam, early stopping on validation
/// NDCG@10).
///
/// As in the authors' code (github.com/PengjieRen/RepeatNet, `AttReDecoder`): three additive
/// attentions without biases, the mode map reads the mode attention's context, the explore map
/// reads `[context; h_T]` and is its own `(items, 2H)` matrix (not tied to the embeddings),
/// dropout on the encoder states. Not the authors' joint mode loss (off by default there too).
///
/// Beyond the paper, baskets (``BasketAgeEncoding``): each position's basket age, how many
/// baskets before the one predicted it was bought in (0: in that basket, still open), is
/// embedded into the GRU's input and biases the repeat attention, which makes the repeat
/// decoder a personal frequency with a learned decay by baskets, as `repeat`'s, and lets it
/// learn that an open basket's items are not bought again in it.
///
/// Parameters: `hidden_size` [64], `embedding_size` [64], `dropout` [0.3], `max_length` [50],
/// `max_age` [32] (older baskets share the age 32; 0 turns the ages off), `open_basket` [false]
/// (the newest history basket is the one predicted, being filled: `seq-loo`, a cart; as
/// `repeat`'s), `targets` [events] (`events`: one example per event after a user's first, its
/// basket open before it; `baskets`: one per basket after the first, its distinct items the
/// targets, the form of `next-basket`), and the shared `epochs`, `batch_size`,
/// `learning_rate`, `lr_schedule`, `weight_decay`, `patience`, `seed` of
/// ``NeuralSequenceModel`` (`loss` is only `ce`: the mixture's likelihood).
public struct RepeatNet: Recommender {
    public static let kind = ModelKind.repeatNet

    public let options: SequenceTrainingOptions
    public let hiddenSize: Int
    public let embeddingSize: Int
    public let dropout: Float
    public let maxAge: Int
    public let openBasket: Bool
    /// Trains on each next basket (`targets=baskets`) instead of each next event.
    public let basketTargets: Bool
    public private(set) var network: RepeatNetNetwork<Float>?
    public private(set) var epochs: [EpochRecord] = []
    private var counts = (items: 0, users: 0)

    public init(parameters: [String: String] = [:]) throws {
        var reader = ParameterReader(model: Self.kind, parameters)
        options = try SequenceTrainingOptions(reading: &reader, defaultMaxLength: 50, trainsOnWindows: false)
        hiddenSize = try reader.int("hidden_size", default: 64, in: 1...4096)
        embeddingSize = try reader.int("embedding_size", default: 64, in: 1...4096)
        dropout = Float(try reader.double("dropout", default: 0.3, in: 0...0.95))
        maxAge = try reader.int("max_age", default: 32, in: 0...10_000)
        openBasket = try reader.choice("open_basket", default: "false", in: ["true", "false"]) == "true"
        basketTargets = try reader.choice("targets", default: "events", in: ["events", "baskets"]) == "baskets"
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
            "max_age": String(maxAge), "open_basket": String(openBasket),
            "targets": basketTargets ? "baskets" : "events",
        ]) { first, _ in first }
    }

    public var itemCount: Int { network == nil ? 0 : counts.items }

    func makeNetwork(items: Int) -> RepeatNetNetwork<Float> {
        var generator = SplitMix64(seed: options.seed)
        return RepeatNetNetwork(
            items: items, embeddingSize: embeddingSize, hiddenSize: hiddenSize, maxAge: maxAge, dropout: dropout,
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
        let numbers = log.basketNumbers()
        let events = log.chronologicalEventsByUser()
        let sequences = events.map { $0.map { log.items[$0] } }
        let baskets = events.map { $0.map { numbers[$0] } }
        let examples = Self.examples(baskets: baskets, byBasket: basketTargets)
        guard !examples.isEmpty else {
            throw ModelError.unsuitableData("\(Self.kind) needs users with at least two training events")
        }
        let (items, maxLength, open) = (counts.items, options.maxLength, openBasket)
        let scorer: EpochTrainer<RepeatNetNetwork<Float>>.Scorer = { network, contexts in
            try Self.scores(of: network, for: contexts, items: items, maxLength: maxLength, openBasket: open)
        }
        let loop = EpochTrainer(
            network: fresh, options: options, control: data.control, model: Self.kind.rawValue,
            validate: EpochTrainer.ranking(data.validation, itemCount: items, scorer: scorer))
        epochs = try loop.run(exampleCount: examples.count, progress: progress) { batch, tape, generator in
            let chosen = batch.map { examples[$0] }
            let windows = chosen.map { sequences[$0.user][max(0, $0.end - maxLength)..<$0.end] }
            // Ages count from the target's basket: 0 marks the positions of an open basket.
            let ages = chosen.map { example in
                baskets[example.user][max(0, example.end - maxLength)..<example.end].map {
                    baskets[example.user][example.end] - $0
                }
            }
            let (input, flatAges) = Self.batch(windows, ages: ages, users: chosen.map { Int32($0.user) })
            let output = fresh.forward(input, ages: flatAges, on: tape, generator: &generator)
            var targets: [(row: Int, item: Int32)] = []
            for (row, example) in chosen.enumerated() {
                var seen = Set<Int32>()
                for item in sequences[example.user][example.end..<example.targetEnd] where seen.insert(item).inserted {
                    targets.append((row, item))
                }
            }
            return fresh.loss(output, targets: targets)
        }
        network = fresh
    }

    /// The training examples, per user: each event after the first (`targets=events`: the
    /// window before it as input, its basket open), or each basket after the first
    /// (`targets=baskets`: the baskets before it as input, its distinct items the targets).
    /// `end` is the first target event, `targetEnd` one past the last.
    static func examples(baskets: [[Int32]], byBasket: Bool) -> [(user: Int, end: Int, targetEnd: Int)] {
        var examples: [(user: Int, end: Int, targetEnd: Int)] = []
        for (user, numbers) in baskets.enumerated() where numbers.count >= 2 {
            guard byBasket else {
                for end in 1..<numbers.count { examples.append((user, end, end + 1)) }
                continue
            }
            var start = 0
            while start < numbers.count {
                var stop = start + 1
                while stop < numbers.count && numbers[stop] == numbers[start] { stop += 1 }
                if start > 0 { examples.append((user, start, stop)) }
                start = stop
            }
        }
        return examples
    }

    /// A right-padded batch of `windows` and its `rows × length` ages.
    static func batch(_ windows: [ArraySlice<Int32>], ages: [[Int32]], users: [Int32]) -> (SequenceBatch, [Int32]) {
        let input = SequenceBatch(
            sequences: windows, users: users, length: max(1, windows.map(\.count).max() ?? 1), padLeft: false)
        var flat = [Int32](repeating: 0, count: input.rows * input.length)
        for (row, rowAges) in ages.enumerated() {
            for (t, age) in rowAges.enumerated() { flat[row * input.length + t] = age }
        }
        return (input, flat)
    }

    // MARK: Scoring

    /// The basket age of each event of `context`'s newest `maxLength`: counted from the basket
    /// to predict, the newest one itself with `openBasket`, else the one after it. Without
    /// baskets each event is a basket of its own, none open.
    static func ages(of context: ScoringContext, maxLength: Int, openBasket: Bool) -> [Int32] {
        let count = context.history.count
        let kept = max(0, count - maxLength)..<count
        guard let baskets = context.baskets, let newest = baskets.last else {
            return kept.map { Int32(count - $0) }
        }
        let next = openBasket ? newest : newest + 1
        return kept.map { next - baskets[$0] }
    }

    /// The network's output for `contexts` (each cut to its newest `maxLength` items), in
    /// inference mode.
    static func forward(
        of network: RepeatNetNetwork<Float>, for contexts: [ScoringContext], maxLength: Int, openBasket: Bool
    ) -> RepeatNetNetwork<Float>.Output {
        let (batch, ages) = Self.batch(
            contexts.map { $0.history.suffix(maxLength) },
            ages: contexts.map { Self.ages(of: $0, maxLength: maxLength, openBasket: openBasket) },
            users: contexts.map { $0.user ?? -1 })
        var generator = SplitMix64(seed: 0)
        return network.forward(batch, ages: ages, on: Tape<Float>(recording: false), generator: &generator)
    }

    /// `(contexts, items)` probabilities `P(i)`.
    static func scores(
        of network: RepeatNetNetwork<Float>, for contexts: [ScoringContext], items: Int, maxLength: Int,
        openBasket: Bool
    ) throws -> Matrix<Float> {
        var result = Matrix<Float>(rows: contexts.count, columns: items)
        let blockRows = 256
        for start in stride(from: 0, to: contexts.count, by: blockRows) {
            let block = Array(contexts[start..<min(contexts.count, start + blockRows)])
            let probabilities = forward(of: network, for: block, maxLength: maxLength, openBasket: openBasket)
                .probabilities.value.scalars
            for (offset, value) in probabilities.enumerated() { result.storage[start * items + offset] = value }
        }
        return result
    }

    private func fitted() throws -> RepeatNetNetwork<Float> {
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
            of: fitted(), for: [checked(context)], items: counts.items, maxLength: options.maxLength,
            openBasket: openBasket)
        scores = result.storage
    }

    public func scoreBatch(_ contexts: [ScoringContext]) throws -> Matrix<Float> {
        try Self.scores(
            of: fitted(), for: contexts.map(checked), items: counts.items, maxLength: options.maxLength,
            openBasket: openBasket)
    }

    /// `P(repeat)` for each context: how sure the model is that the next item is one of the window's.
    public func repeatProbabilities(_ contexts: [ScoringContext]) throws -> [Float] {
        let modes = Self.forward(
            of: try fitted(), for: try contexts.map(checked), maxLength: options.maxLength, openBasket: openBasket
        ).modes
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
        let output = Self.forward(of: network, for: [context], maxLength: options.maxLength, openBasket: openBasket)
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

import Foundation
import NeuralNet
import RecData
import Tensors

/// A sequence recommender on the numeric core: an architecture's network with the one training
/// loop every neural model shares, scoring from any item sequence, leave-one-out explanations
/// and checkpoints.
///
/// Parameters shared by every architecture (defaults in brackets): `epochs` [200],
/// `batch_size` [128], `learning_rate` [0.001], `lr_schedule` `constant|linear|cosine` [constant]
/// (to zero at the end of epoch `epochs`, step by step), `weight_decay` [0], `max_length` (the window,
/// per architecture), `loss` `ce|bpr|bce` [ce: cross-entropy over every item], `windows`
/// `newest|all|overlap` [newest] (see ``TrainingWindows``; every-position networks, so not Caser),
/// `window_stride` [`max_length / 2`] (targets per window with `overlap`), `patience` [10]
/// epochs without a better validation NDCG@10 before stopping, `seed` [2020].
public struct NeuralSequenceModel<Architecture: SequenceArchitecture>: Recommender {
    public static var kind: ModelKind { Architecture.kind }

    public let architecture: Architecture
    public let options: SequenceTrainingOptions
    public private(set) var network: Architecture.Network?
    public private(set) var epochs: [EpochRecord] = []
    private var counts = (items: 0, users: 0)

    public init(parameters: [String: String] = [:]) throws {
        var reader = ParameterReader(model: Architecture.kind, parameters)
        options = try SequenceTrainingOptions(
            reading: &reader, defaultMaxLength: Architecture.defaultMaxLength,
            trainsOnWindows: Architecture.Network.predictsEveryPosition)
        architecture = try Architecture(reading: &reader)
        try reader.finish()
    }

    public var parameters: [String: String] {
        options.parameters.merging(architecture.parameters) { first, _ in first }
    }

    public var itemCount: Int { network == nil ? 0 : counts.items }

    // MARK: Training

    public mutating func fit(_ data: TrainingData, progress: ProgressHandler? = nil) throws {
        let log = data.log
        guard log.count > 0, log.itemCount > 0 else {
            throw ModelError.unsuitableData("\(Self.kind) needs interactions")
        }
        counts = (log.itemCount, log.userCount)
        var generator = SplitMix64(seed: options.seed)
        let fresh = architecture.makeNetwork(
            items: counts.items, users: counts.users, maxLength: options.maxLength, generator: &generator)
        // A warm start continues from the previous network, for its own number of epochs.
        var options = self.options
        if let warm = data.warmStart, Self.start(fresh, from: warm, log: log) { options.epochs = warm.iterations }
        let sequences = log.chronologicalEventsByUser().map { $0.map { log.items[$0] } }
        let trainer = SequenceTrainer(
            network: fresh, options: options, sequences: sequences, itemCount: counts.items,
            validation: data.validation, control: data.control, model: Self.kind.rawValue)
        let (items, maxLength) = (counts.items, options.maxLength)
        epochs = try trainer.run(progress: progress) { network, cases in
            try Self.scores(of: network, for: cases, items: items, maxLength: maxLength)
        }
        network = fresh
    }

    /// Sets `network` to a previous model's weights: the item table (and Caser's user table) row
    /// by row, matched by identifier, every other tensor whole. Returns false, leaving `network`
    /// untouched, when a shape differs (the previous model had other hyper-parameters).
    static func start(_ network: Architecture.Network, from warm: WarmStart, log: InteractionLog) -> Bool {
        var values: [(Parameter<Float>, Tensor<Float>)] = []
        for (name, parameter) in network.namedParameters {
            guard let tensor = warm.weights[name], tensor.dtype == .f32, let previous = try? tensor.floats(),
                tensor.shape.count == parameter.shape.count, tensor.shape.dropFirst() == parameter.shape.dropFirst()
            else { return false }
            let width = parameter.shape.dropFirst().reduce(1, *)
            var value = parameter.value.scalars
            switch name {
            case "item_embedding.weight":
                // Row 0 is the padding, item i is row i + 1.
                for c in 0..<width { value[c] = previous[c] }
                WarmStart.copyRows(previous, warm.itemIDs, into: &value, log.itemIDs, width: width, offset: 1)
            case "user_embedding.weight":
                // User u is row u; the last row is the unknown user.
                let (last, previousLast) = (value.count - width, previous.count - width)
                for c in 0..<width { value[last + c] = previous[previousLast + c] }
                WarmStart.copyRows(previous, warm.userIDs, into: &value, log.userIDs, width: width, offset: 0)
            default:
                guard tensor.shape == parameter.shape else { return false }
                value = previous
            }
            values.append((parameter, Tensor(shape: parameter.shape, scalars: value)))
        }
        for (parameter, value) in values { parameter.value = value }
        return true
    }

    // MARK: Scoring

    /// `(contexts, items)` scores from `network`, in inference mode.
    static func scores(
        of network: Architecture.Network, for contexts: [ScoringContext], items: Int, maxLength: Int
    ) throws -> Matrix<Float> {
        var result = Matrix<Float>(rows: contexts.count, columns: items)
        let blockRows = 256
        for blockStart in stride(from: 0, to: contexts.count, by: blockRows) {
            let block = Array(contexts[blockStart..<min(contexts.count, blockStart + blockRows)])
            let hidden = lastHidden(of: network, for: block, maxLength: maxLength)
            let d = hidden.columns
            let weight = network.outputWeight.value.scalars
            let bias = network.outputBias?.value.scalars
            var logits = Matrix<Float>(rows: block.count, columns: items + 1)
            hidden.storage.withUnsafeBufferPointer { h in
                weight.withUnsafeBufferPointer { w in
                    logits.storage.withUnsafeMutableBufferPointer { z in
                        guard let h = h.baseAddress, let w = w.baseAddress, let z = z.baseAddress else { return }
                        BLAS.gemm(
                            .none, .transposed, m: block.count, n: items + 1, k: d, a: h, lda: d, b: w, ldb: d,
                            c: z, ldc: items + 1)
                    }
                }
            }
            for r in 0..<block.count {
                let out = (blockStart + r) * items
                let row = r * (items + 1) + 1
                for i in 0..<items {
                    result.storage[out + i] = logits.storage[row + i] + (bias?[i + 1] ?? 0)
                }
            }
        }
        return result
    }

    /// The hidden state after each context's newest item: `(contexts, D)`.
    static func lastHidden(
        of network: Architecture.Network, for contexts: [ScoringContext], maxLength: Int
    ) -> Matrix<Float> {
        let everyPosition = Architecture.Network.predictsEveryPosition
        // Every-position networks are causal: a batch only needs its longest row's columns.
        let longest = contexts.map { min($0.history.count, maxLength) }.max() ?? 1
        let batch = SequenceBatch(
            sequences: contexts.map { $0.history[...] }, users: contexts.map { $0.user ?? -1 },
            length: everyPosition ? max(1, longest) : maxLength, padLeft: !everyPosition)
        let states = network.lastStates(batch, on: Tape<Float>(recording: false))
        return Matrix(rows: contexts.count, columns: states.shape[1], storage: states.scalars)
    }

    private func fitted() throws -> Architecture.Network {
        guard let network else { throw ModelError.notFitted }
        return network
    }

    func checked(_ context: ScoringContext) throws -> ScoringContext {
        for item in context.history where item < 0 || Int(item) >= counts.items {
            throw ModelError.unknownItem(item)
        }
        var context = context
        if let user = context.user, user < 0 || Int(user) >= counts.users { context.user = nil }
        return context
    }

    public func score(_ context: ScoringContext, into scores: inout [Float]) throws {
        let result = try Self.scores(
            of: fitted(), for: [checked(context)], items: counts.items, maxLength: options.maxLength)
        scores = result.storage
    }

    public func scoreBatch(_ contexts: [ScoringContext]) throws -> Matrix<Float> {
        try Self.scores(
            of: fitted(), for: contexts.map(checked), items: counts.items, maxLength: options.maxLength)
    }

    // MARK: Item similarity and explanations

    public func similarItems(to item: Int32, count: Int) throws -> [ScoredItem] {
        let network = try fitted()
        guard item >= 0, Int(item) < counts.items else { throw ModelError.unknownItem(item) }
        return Matrix.similarItems(inPaddedTable: network.outputWeight.value, to: item, count: count)
    }

    /// The change in `item`'s score when each history item in the window is left out: positive
    /// weights pushed the item up. One batch of `window + 1` sequences, cheap for a top 10.
    public func explain(_ context: ScoringContext, item: Int32, count: Int) throws -> [Contribution] {
        let network = try fitted()
        let context = try checked(context)
        guard item >= 0, Int(item) < counts.items else { throw ModelError.unknownItem(item) }
        let window = Array(context.history.suffix(options.maxLength))
        guard !window.isEmpty else { return [] }
        var variants = [ScoringContext(user: context.user, history: window)]
        for position in window.indices {
            var shorter = window
            shorter.remove(at: position)
            variants.append(ScoringContext(user: context.user, history: shorter))
        }
        let hidden = Self.lastHidden(of: network, for: variants, maxLength: options.maxLength)
        let d = hidden.columns
        let row = Int(item) + 1
        let bias = network.outputBias?.value.scalars[row] ?? 0
        let scores = (0..<variants.count).map { r in
            var dot = bias
            for j in 0..<d { dot += hidden.storage[r * d + j] * network.outputWeight.value.scalars[row * d + j] }
            return dot
        }
        var weights: [Int32: Float] = [:]
        for (position, historyItem) in window.enumerated() {
            weights[historyItem, default: 0] += scores[0] - scores[position + 1]
        }
        return weights.sorted { abs($0.value) > abs($1.value) || (abs($0.value) == abs($1.value) && $0.key < $1.key) }
            .prefix(count).map { Contribution(item: $0.key, weight: $0.value) }
    }

    // MARK: Saving

    public func weights() throws -> [String: SafeTensor] {
        let network = try fitted()
        var tensors = StateDict.tensors(of: network)
        tensors["reckit.counts"] = SafeTensor([Int64(counts.items), Int64(counts.users)])
        return tensors
    }

    public mutating func load(weights: [String: SafeTensor]) throws {
        guard let shape = weights["reckit.counts"], let values = try? shape.int64s(), values.count == 2,
            values[0] > 0, values[1] >= 0
        else { throw CheckpointError.missingKeys(["reckit.counts"]) }
        var generator = SplitMix64(seed: options.seed)
        let loaded = architecture.makeNetwork(
            items: Int(values[0]), users: Int(values[1]), maxLength: options.maxLength, generator: &generator)
        var rest = weights
        rest["reckit.counts"] = nil
        try StateDict.load(rest, into: loaded)
        counts = (Int(values[0]), Int(values[1]))
        network = loaded
    }
}

import Foundation
import NeuralNet
import RecData
import Tensors

/// NeuMF (He et al. 2017): a generalized matrix factorization (the element-wise product of a
/// user and an item embedding) beside an MLP over their concatenation, joined by one output
/// unit; trained with binary cross-entropy against uniformly sampled negatives on the shared
/// epoch loop (validation NDCG@10, early stopping, checkpoints).
///
/// Parameters: `embedding_size` [64], `mlp_sizes` [128,64], `dropout` [0.1], `negatives` [4, as He et al.]
/// per positive, plus `epochs` [200], `batch_size` [2048], `learning_rate` [0.001],
/// `weight_decay`, `patience` [10], `seed`. A user the model never saw is scored as the mean
/// trained user (its row `users` in every user table).
public struct NeuMF: Recommender {
    public static let kind = ModelKind.neumf
    public let options: SequenceTrainingOptions
    public let embeddingSize: Int
    public let mlpSizes: [Int]
    public let dropout: Float
    public let negatives: Int
    public private(set) var network: Network?
    public private(set) var epochs: [EpochRecord] = []

    public init(parameters: [String: String] = [:]) throws {
        var reader = ParameterReader(model: Self.kind, parameters)
        options = try SequenceTrainingOptions(reading: &reader, defaultMaxLength: nil, defaultBatchSize: 2048)
        embeddingSize = try reader.int("embedding_size", default: 64, in: 1...4096)
        let sizesKey = "mlp_sizes"
        let sizesText = reader.string(sizesKey, default: "128,64")
        let sizes = sizesText.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !sizes.isEmpty, sizes.allSatisfy({ ($0 ?? 0) > 0 }) else {
            throw ModelError.invalidParameter(
                model: Self.kind.rawValue, key: sizesKey, value: sizesText,
                reason: "needs positive integers, e.g. 128,64")
        }
        mlpSizes = sizes.compactMap { $0 }
        dropout = Float(try reader.double("dropout", default: 0.1, in: 0...0.95))
        negatives = try reader.int("negatives", default: 4, in: 1...1000)
        try reader.finish()
    }

    public var parameters: [String: String] {
        options.parameters.merging([
            "embedding_size": String(embeddingSize), "mlp_sizes": mlpSizes.map(String.init).joined(separator: ","),
            "dropout": String(dropout), "negatives": String(negatives),
        ]) { first, _ in first }
    }

    public var itemCount: Int { network?.items ?? 0 }

    public mutating func fit(_ data: TrainingData, progress: ProgressHandler? = nil) throws {
        let matrix = data.matrix.sortedRows()
        guard matrix.nonzeroCount > 0, data.itemCount > 1 else {
            throw ModelError.unsuitableData("neumf needs interactions and at least two items")
        }
        var generator = SplitMix64(seed: options.seed)
        let fresh = Network(
            users: data.userCount, items: data.itemCount, embeddingSize: embeddingSize, mlpSizes: mlpSizes,
            dropout: dropout, generator: &generator)
        var pairs: [(user: Int32, item: Int32)] = []
        var seen: [Set<Int32>] = []
        for u in 0..<matrix.rows {
            let items = matrix.columnIndices[matrix.rowPointers[u]..<matrix.rowPointers[u + 1]]
            var distinct = Set<Int32>()
            for item in items where distinct.insert(item).inserted { pairs.append((Int32(u), item)) }
            seen.append(distinct)
        }
        let loop = EpochTrainer(
            network: fresh, options: options, control: data.control, model: Self.kind.rawValue,
            validate: EpochTrainer.ranking(data.validation, itemCount: data.itemCount) { network, contexts in
                Self.scores(of: network, for: contexts)
            })
        let (items, negativesPerPair) = (data.itemCount, negatives)
        epochs = try loop.run(exampleCount: pairs.count, progress: progress) { batch, tape, generator in
            var users: [Int32] = []
            var candidates: [Int32] = []
            var labels: [Float] = []
            for index in batch {
                let (user, item) = pairs[index]
                users.append(user)
                candidates.append(item)
                labels.append(1)
                let userItems = seen[Int(user)]
                guard userItems.count < items else { continue }
                for _ in 0..<negativesPerPair {
                    var negative: Int32
                    repeat {
                        negative = Int32.random(in: 0..<Int32(items), using: &generator)
                    } while userItems
                        .contains(negative)
                    users.append(user)
                    candidates.append(negative)
                    labels.append(0)
                }
            }
            return fresh.logits(users: users, items: candidates, on: tape, generator: &generator)
                .binaryCrossEntropyWithLogits(targets: Tensor(shape: [labels.count], scalars: labels))
        }
        fresh.setUnknownUserToTheMean()
        network = fresh
    }

    static func scores(of network: Network, for contexts: [ScoringContext]) -> Matrix<Float> {
        let items = network.items
        var result = Matrix<Float>(rows: contexts.count, columns: items)
        let allItems = (0..<Int32(items)).map { $0 }
        result.storage.withUnsafeMutableBufferPointer { output in
            Parallel.forEachChunk(of: 0..<contexts.count) { range in
                for r in range {
                    let user = contexts[r].user.flatMap { $0 >= 0 && Int($0) < network.users ? $0 : nil }
                    let tape = Tape<Float>(recording: false)
                    var generator = SplitMix64(seed: 0)
                    let logits = network.logits(
                        users: [Int32](repeating: user ?? Int32(network.users), count: items), items: allItems,
                        on: tape, generator: &generator)
                    for i in 0..<items { output[r * items + i] = logits.value.scalars[i] }
                }
            }
        }
        return result
    }

    private func fitted() throws -> Network {
        guard let network else { throw ModelError.notFitted }
        return network
    }

    public func score(_ context: ScoringContext, into scores: inout [Float]) throws {
        scores = try scoreBatch([context]).storage
    }

    public func scoreBatch(_ contexts: [ScoringContext]) throws -> Matrix<Float> {
        let network = try fitted()
        for context in contexts {
            for item in context.history where item < 0 || Int(item) >= network.items {
                throw ModelError.unknownItem(item)
            }
        }
        return Self.scores(of: network, for: contexts)
    }

    /// Cosine similarity of the items' GMF embeddings.
    public func similarItems(to item: Int32, count: Int) throws -> [ScoredItem] {
        let network = try fitted()
        guard item >= 0, Int(item) < network.items else { throw ModelError.unknownItem(item) }
        let table = network.itemGMF.weight.value
        let scores = Matrix(rows: table.shape[0], columns: table.shape[1], storage: table.scalars)
            .cosineSimilarities(to: Int(item))
        return TopK.select(count, from: scores) { $0 != item }
    }

    /// NeuMF scores from the user's embedding, not from history items: the explanation is the
    /// user's history items most similar to the recommended one (GMF cosine), as weights.
    public func explain(_ context: ScoringContext, item: Int32, count: Int) throws -> [Contribution] {
        let network = try fitted()
        guard item >= 0, Int(item) < network.items else { throw ModelError.unknownItem(item) }
        let similar = try similarItems(to: item, count: network.items)
        let history = Set(context.history)
        return similar.filter { history.contains($0.item) }.prefix(count).map {
            Contribution(item: $0.item, weight: $0.score)
        }
    }

    public func weights() throws -> [String: SafeTensor] { StateDict.tensors(of: try fitted()) }

    public mutating func load(weights: [String: SafeTensor]) throws {
        guard let users = weights["user_gmf.weight"]?.shape.first, let items = weights["item_gmf.weight"]?.shape.first,
            users >= 1, items >= 1
        else { throw CheckpointError.missingKeys(["user_gmf.weight", "item_gmf.weight"]) }
        var generator = SplitMix64(seed: options.seed)
        let loaded = Network(
            users: users - 1, items: items, embeddingSize: embeddingSize, mlpSizes: mlpSizes, dropout: dropout,
            generator: &generator)
        try StateDict.load(weights, into: loaded)
        network = loaded
    }

    public struct Network: Layer {
        public typealias Scalar = Float
        /// `users + 1` rows: the last is the unknown user (the mean of the others after training).
        public let userGMF: Embedding<Float>
        public let itemGMF: Embedding<Float>
        public let userMLP: Embedding<Float>
        public let itemMLP: Embedding<Float>
        public let mlp: [Linear<Float>]
        public let output: Linear<Float>
        public let dropout: Dropout<Float>

        public var users: Int { userGMF.weight.shape[0] - 1 }
        public var items: Int { itemGMF.weight.shape[0] }

        init(
            users: Int, items: Int, embeddingSize d: Int, mlpSizes: [Int], dropout: Float,
            generator: inout SplitMix64
        ) {
            userGMF = Embedding(count: users + 1, dimension: d, standardDeviation: 0.01, using: &generator)
            itemGMF = Embedding(count: items, dimension: d, standardDeviation: 0.01, using: &generator)
            userMLP = Embedding(count: users + 1, dimension: d, standardDeviation: 0.01, using: &generator)
            itemMLP = Embedding(count: items, dimension: d, standardDeviation: 0.01, using: &generator)
            let sizes = [2 * d] + mlpSizes
            mlp = (0..<mlpSizes.count).map {
                Linear(inputSize: sizes[$0], outputSize: sizes[$0 + 1], using: &generator)
            }
            output = Linear(inputSize: d + (mlpSizes.last ?? 0), outputSize: 1, using: &generator)
            self.dropout = Dropout(probability: dropout)
        }

        public var namedParameters: [(name: String, parameter: Parameter<Float>)] {
            userGMF.namedParameters(prefix: "user_gmf") + itemGMF.namedParameters(prefix: "item_gmf")
                + userMLP.namedParameters(prefix: "user_mlp") + itemMLP.namedParameters(prefix: "item_mlp")
                + mlp.enumerated().flatMap { $0.element.namedParameters(prefix: "mlp.\($0.offset)") }
                + output.namedParameters(prefix: "output")
        }

        /// `(N)` logits for `N` (user, item) pairs.
        func logits(users: [Int32], items: [Int32], on tape: Tape<Float>, generator: inout SplitMix64) -> Variable<
            Float
        > {
            let n = users.count
            let gmf = userGMF(users, shape: [n], on: tape) * itemGMF(items, shape: [n], on: tape)
            var h = Variable.concatenate(
                [userMLP(users, shape: [n], on: tape), itemMLP(items, shape: [n], on: tape)], axis: 1)
            for layer in mlp { h = dropout(layer(h).relu(), using: &generator) }
            return output(Variable.concatenate([gmf, h], axis: 1)).reshaped([n])
        }

        /// Sets the unknown user's rows to the mean of the trained users'.
        func setUnknownUserToTheMean() {
            for table in [userGMF.weight, userMLP.weight] {
                let (rows, d) = (table.shape[0], table.shape[1])
                guard rows > 1 else { continue }
                var mean = [Float](repeating: 0, count: d)
                for r in 0..<(rows - 1) {
                    for j in 0..<d { mean[j] += table.value.scalars[r * d + j] }
                }
                for j in 0..<d { table.value.scalars[(rows - 1) * d + j] = mean[j] / Float(rows - 1) }
            }
        }
    }
}

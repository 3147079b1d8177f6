import Foundation
import NeuralNet
import RecData
import Tensors

/// TextCNN's three ways of training its encoder, each on the shared ``EpochTrainer``: the same
/// seeded shuffles, Adam, epoch log and checkpoint as the sequence models.
extension TextCNN {
    /// The encoder trained together with a second layer (the user tower, or the profile's
    /// projection); one network for the trainer, so both are checkpointed and kept together.
    struct Pair<Other: Layer>: Layer where Other.Scalar == Float {
        typealias Scalar = Float
        let encoder: Encoder
        let other: Other

        var namedParameters: [(name: String, parameter: Parameter<Float>)] {
            encoder.namedParameters(prefix: "encoder") + other.namedParameters(prefix: "other")
        }
    }

    /// The trainer's options: TextCNN's epochs, batch, rate and seed, a constant rate without
    /// weight decay, and `patience` epochs without a better validation figure.
    private func trainer<Network: Layer>(
        _ network: Network, patience: Int, control: TrainingControl,
        validate: @escaping EpochTrainer<Network>.Validator = { _ in [:] }
    ) -> EpochTrainer<Network> {
        let options = SequenceTrainingOptions(
            epochs: epochCount, batchSize: batchSize, learningRate: learningRate, patience: patience, seed: seed)
        return EpochTrainer(
            network: network, options: options, control: control, model: Self.kind.rawValue, validate: validate,
            selection: "cosine")
    }

    /// Trains the encoder to reproduce `targets` (mean squared error) for the items that have
    /// interactions. A seeded tenth of them (when there are 100 or more) is held out: after each
    /// epoch the mean cosine between their predicted and target vectors is measured, the best
    /// epoch's weights are kept, and training stops after `patience` epochs without a better one
    /// — the encoder overfits a few thousand titles within a few epochs.
    func trainRegression(
        _ encoder: Encoder, targets: Matrix<Float>, control: TrainingControl, progress: ProgressHandler?
    ) throws {
        var warm = itemCounts.indices.filter { itemCounts[$0] > 0 }.map(Int32.init)
        guard !warm.isEmpty else { return }
        var splitter = SplitMix64(seed: seed ^ 0x5EED)
        warm.shuffle(using: &splitter)
        // A tenth of a few dozen items is too few to measure: small catalogues train every epoch.
        let heldOut = warm.count >= 100 ? Array(warm.prefix(warm.count / 10)) : []
        let fitted = Array(warm.dropFirst(heldOut.count))
        let (factors, tokens) = (factors, itemTokens)
        func target(_ item: Int32) -> ArraySlice<Float> {
            targets.storage[(Int(item) * factors)..<((Int(item) + 1) * factors)]
        }
        let loop = trainer(encoder, patience: heldOut.isEmpty ? max(1, epochCount) : patience, control: control) {
            encoder in
            guard !heldOut.isEmpty else { return [:] }
            let predicted = encoder(heldOut, tokens: tokens, on: Tape<Float>(recording: false)).value.scalars
            var cosine: Float = 0
            for (r, item) in heldOut.enumerated() {
                let p = Self.unitLength(Array(predicted[(r * factors)..<((r + 1) * factors)]))
                let t = Self.unitLength(Array(target(item)))
                cosine += zip(p, t).reduce(0) { $0 + $1.0 * $1.1 } / Float(heldOut.count)
            }
            return ["cosine": Double(cosine)]
        }
        _ = try loop.run(exampleCount: fitted.count, progress: progress) { examples, tape, _ in
            let batch = examples.map { fitted[$0] }
            let predicted = encoder(batch, tokens: tokens, on: tape)
            let expected = Tensor(shape: [batch.count, factors], scalars: Array(batch.map(target).joined()))
            let difference = predicted - tape.constant(expected)
            return (difference * difference).mean()
        }
    }

    /// Trains the encoder and a user tower with in-batch sampled softmax: each example is one
    /// event, the user's newest 50 other items describe them and the event's item is the positive.
    func trainTwoTower(
        _ encoder: Encoder, _ tower: UserTower, data: TrainingData, progress: ProgressHandler?
    ) throws {
        let (histories, pairs) = Self.events(of: data.log, minimumHistory: 1)
        let counts = data.log.itemCounts()
        let tokens = itemTokens
        let loop = trainer(Pair(encoder: encoder, other: tower), patience: max(1, epochCount), control: data.control)
        _ = try loop.run(exampleCount: pairs.count, progress: progress) { examples, tape, _ in
            let batch = examples.map { pairs[$0] }
            let contexts = batch.map { pair -> [Int32] in
                var history = histories[Int(pair.user)]
                history.remove(at: Int(pair.position))
                return Array(history.suffix(50))
            }
            let positives = batch.map { histories[Int($0.user)][Int($0.position)] }
            let users = tower(contexts, on: tape)
            let items = encoder(positives, tokens: tokens, on: tape)
            // logQ correction (Yi et al. 2019): in-batch negatives are drawn in proportion to
            // popularity, so subtract log(frequency) from each column; the model then learns
            // the full softmax, popularity included, instead of a popularity-discounted one.
            let correction = positives.map { -Float(Foundation.log(Double(max(1, counts[Int($0)])))) }
            let logits =
                users.matmul(items, transposeOther: true)
                + tape.constant(Tensor(shape: [1, batch.count], scalars: correction))
            return logits.crossEntropy(targets: (0..<Int32(batch.count)).map { $0 })
        }
    }

    /// Trains the encoder and a projection with in-batch sampled softmax, a user being the
    /// projected mean content vector of their newest 50 other items.
    func trainProfile(
        _ encoder: Encoder, _ projection: Linear<Float>, data: TrainingData, progress: ProgressHandler?
    ) throws {
        let (histories, pairs) = Self.events(of: data.log, minimumHistory: 2)
        let (factors, tokens) = (factors, itemTokens)
        let allItems = (0..<Int32(tokens.count)).map { $0 }
        let loop = trainer(
            Pair(encoder: encoder, other: projection), patience: max(1, epochCount), control: data.control)
        _ = try loop.run(exampleCount: pairs.count, progress: progress) { examples, tape, _ in
            let batch = examples.map { pairs[$0] }
            // Every item's content vector once per step (the catalogue is small); users and
            // positives are rows of it, so the gradient reaches the encoder through both.
            let content = encoder(allItems, tokens: tokens, on: tape)
            var profileIndices: [Int] = []
            var scale = [Float](repeating: 0, count: batch.count * factors)
            let width = 50
            for (r, pair) in batch.enumerated() {
                var history = histories[Int(pair.user)]
                history.remove(at: Int(pair.position))
                let recent = history.suffix(width)
                for slot in 0..<width {
                    let item = slot < recent.count ? Int(recent[recent.startIndex + slot]) : -1
                    for k in 0..<factors { profileIndices.append(item < 0 ? -1 : item * factors + k) }
                }
                for k in 0..<factors { scale[r * factors + k] = 1 / Float(max(1, recent.count)) }
            }
            let profiles =
                content.gatherElements(profileIndices, shape: [batch.count, width, factors]).sum(alongAxes: [1])
                * tape.constant(Tensor(shape: [batch.count, factors], scalars: scale))
            let positives = batch.map { histories[Int($0.user)][Int($0.position)] }
            let items = content.gatherElements(
                positives.flatMap { item in (0..<factors).map { Int(item) * factors + $0 } },
                shape: [batch.count, factors])
            let logits = projection(profiles).matmul(items, transposeOther: true)
            return logits.crossEntropy(targets: (0..<Int32(batch.count)).map { $0 })
        }
    }

    /// Each user's items in time order, and one example per event of the users with at least
    /// `minimumHistory` events.
    private static func events(of log: InteractionLog, minimumHistory: Int) -> (
        histories: [[Int32]], pairs: [(user: Int32, position: Int32)]
    ) {
        let histories = log.chronologicalEventsByUser().map { $0.map { log.items[$0] } }
        var pairs: [(user: Int32, position: Int32)] = []
        for (user, history) in histories.enumerated() where history.count >= minimumHistory {
            for position in history.indices { pairs.append((Int32(user), Int32(position))) }
        }
        return (histories, pairs)
    }
}

import Foundation
import NeuralNet
import RecData
import Tensors

/// The epoch loop every neural model shares: seeded shuffling, mini-batches, Adam, a measure of
/// the network after each epoch (``validate``) with early stopping and the best weights kept, an
/// epoch log and a resumable checkpoint.
///
/// Each epoch draws its shuffle, dropout masks and negatives from a generator seeded by
/// `(seed, epoch)`, so a run resumed from a checkpoint continues exactly as an unbroken one.
struct EpochTrainer<Network: Layer> where Network.Scalar == Float {
    /// Metrics of the network after an epoch, by name; empty when there is nothing to measure.
    typealias Validator = (Network) throws -> [String: Double]
    typealias Scorer = (Network, [ScoringContext]) throws -> Matrix<Float>
    /// The mean loss of a batch of examples (indices into the model's example list), recorded on the tape.
    typealias BatchLoss = (_ examples: [Int], _ tape: Tape<Float>, _ generator: inout SplitMix64) throws -> Variable<
        Float
    >

    let network: Network
    let options: SequenceTrainingOptions
    let control: TrainingControl
    let model: String
    /// Run after each epoch. The weights of the epoch with the highest `selection` metric are
    /// kept, or of the lowest training loss when it gives none.
    let validate: Validator
    var selection = "ndcg@10"

    /// Trains `network` in place on `exampleCount` examples and leaves it holding the best weights seen.
    ///
    /// OpenBLAS runs single-threaded meanwhile, and RecKit splits products and batches across
    /// the cores itself (see ``BLAS/withSingleThreadedKernels(_:)``).
    func run(exampleCount: Int, progress: ProgressHandler?, loss batchLoss: BatchLoss) throws -> [EpochRecord] {
        MemoryTuning.keepFreedBuffers()
        return try BLAS.withSingleThreadedKernels {
            try loop(exampleCount: exampleCount, progress: progress, loss: batchLoss)
        }
    }

    private func loop(exampleCount: Int, progress: ProgressHandler?, loss batchLoss: BatchLoss) throws
        -> [EpochRecord]
    {
        let parameters = network.parameters
        var optimizer = Adam(
            parameters: parameters, learningRate: options.learningRate, weightDecay: options.weightDecay)
        var state = RunState()
        if let url = control.checkpoint, FileManager.default.fileExists(atPath: url.path) {
            state = try TrainingCheckpoint.restore(from: url, network: network, optimizer: &optimizer, model: model)
        }
        while state.epoch < options.epochs && state.badEpochs < options.patience {
            let epoch = state.epoch + 1
            let started = Date()
            var generator = SplitMix64(seed: options.seed ^ (UInt64(epoch) &* 0x9E37_79B9_7F4A_7C15))
            var order = Array(0..<exampleCount)
            order.shuffle(using: &generator)
            var lossSum = 0.0
            var lossCount = 0
            let lastLoss = state.history.last.map { String(format: " (last loss %.4f)", $0.loss) } ?? ""
            let label = "\(model) epoch \(epoch)/\(options.epochs)\(lastLoss)"
            let steps = (order.count + options.batchSize - 1) / options.batchSize
            let schedule = LearningRateSchedule(
                base: options.learningRate, totalSteps: options.epochs * steps, decay: options.decay)
            for (step, batchStart) in stride(from: 0, to: order.count, by: options.batchSize).enumerated() {
                optimizer.learningRate = schedule.rate(at: (epoch - 1) * steps + step)
                let batch = Array(order[batchStart..<min(order.count, batchStart + options.batchSize)])
                let tape = Tape<Float>()
                let lossVariable = try batchLoss(batch, tape, &generator)
                let loss = lossVariable.value.scalar
                guard loss.isFinite else {
                    throw ModelError.nonFinite("in the loss (\(loss)) at epoch \(epoch), step \(step + 1)")
                }
                tape.backward(lossVariable)
                optimizer.step()
                optimizer.zeroGradients()
                lossSum += Double(loss) * Double(batch.count)
                lossCount += batch.count
                progress?(label, batchStart + batch.count, order.count)
            }
            let seconds = Date().timeIntervalSince(started)
            let metrics = try validate(network)
            let record = EpochRecord(
                epoch: epoch, loss: lossSum / Double(max(1, lossCount)), validation: metrics, seconds: seconds,
                examplesPerSecond: Double(order.count) / max(seconds, 1e-9))
            state.history.append(record)
            state.epoch = epoch
            let score = metrics[selection] ?? -record.loss
            if state.best == nil || score > state.bestScore {
                state.best = StateDict.tensors(of: network)
                state.bestScore = score
                state.badEpochs = 0
            } else {
                state.badEpochs += 1
            }
            try appendEpochLog(record)
            if let url = control.checkpoint {
                try TrainingCheckpoint.write(state, network: network, optimizer: optimizer, model: model, to: url)
            }
        }
        if let best = state.best { try StateDict.load(best, into: network) }
        return state.history
    }
}

extension EpochTrainer {
    /// NDCG@10 and HR@10 over the validation cases (none when there are none), by the
    /// evaluator's own rank rule and metrics (``Metrics``), so early stopping follows the figure
    /// that is reported.
    static func ranking(_ validation: [ValidationCase], itemCount: Int, scorer: @escaping Scorer) -> Validator {
        { network in
            guard !validation.isEmpty else { return [:] }
            let names = Metrics.names
            guard let ndcgIndex = names.firstIndex(of: "ndcg"), let hitIndex = names.firstIndex(of: "hit") else {
                return [:]
            }
            var (ndcg, hits) = (0.0, 0.0)
            let block = 512
            for start in stride(from: 0, to: validation.count, by: block) {
                let cases = validation[start..<min(validation.count, start + block)]
                let contexts = cases.map { ScoringContext(user: $0.user, history: $0.history, baskets: $0.baskets) }
                let scores = try scorer(network, contexts)
                for (r, item) in cases.enumerated() {
                    let row = scores.storage[(r * itemCount)..<((r + 1) * itemCount)]
                    let values = Metrics.atK(10, ranks: Metrics.ranks(of: item.targets, in: row, masked: item.mask))
                    ndcg += values[ndcgIndex]
                    hits += values[hitIndex]
                }
            }
            let n = Double(validation.count)
            return ["ndcg@10": ndcg / n, "hit@10": hits / n]
        }
    }

    private func appendEpochLog(_ record: EpochRecord) throws {
        guard let url = control.epochLog else { return }
        // A run that starts at epoch 1 starts a fresh log; a resumed run appends to its own.
        try JSONLines.append(record, to: url, restart: record.epoch == 1, name: "epoch log")
    }
}

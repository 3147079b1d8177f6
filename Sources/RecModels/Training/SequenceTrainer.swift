import Foundation
import NeuralNet
import RecData
import Tensors

/// The loss a sequence model trains with.
public enum SequenceLoss: String, Sendable, CaseIterable {
    /// Cross-entropy over every item (a softmax over the catalogue), computed in chunks.
    case crossEntropy = "ce"
    /// BPR with one uniformly sampled negative per target.
    case bpr
    /// Binary cross-entropy: the target against one uniformly sampled negative.
    case binaryCrossEntropy = "bce"
    /// Sampled softmax over the batch's targets and `negatives` uniform items, logQ-corrected
    /// (``CatalogueLoss/sampledSoftmax``): its cost does not grow with the catalogue.
    case sampledSoftmax = "sampled"
    /// gSASRec's generalized BCE against `negatives` uniform items, calibration `gbce_t`
    /// (``CatalogueLoss/generalizedBCE``).
    case generalizedBCE = "gbce"

    /// Whether the loss reads `negatives` (and `gbce_t`).
    var samplesNegatives: Bool { self == .sampledSoftmax || self == .generalizedBCE }
}

/// Which stretches of a user's history an every-position model (SASRec, GRU4Rec) trains on.
public enum TrainingWindows: String, Sendable, CaseIterable {
    /// The newest `max_length + 1` items once per epoch, as Kang & McAuley's SASRec does.
    case newest
    /// The whole history cut into consecutive windows of `max_length` targets, newest first, so
    /// every event after a user's first is a target once per epoch. A target early in its
    /// window sees only the few items before it in that window.
    case all
    /// Windows of `max_length` inputs ending every `window_stride` targets [`max_length / 2`],
    /// each training on its newest `window_stride` targets (the oldest window on all of its
    /// targets): every event after a user's first is still a target once per epoch, now with at
    /// least `max_length - window_stride` items before it where the history has them — closer
    /// to what the model reads when it recommends — for `max_length / window_stride` times the
    /// windows of `all`. A stride of 1 is RecBole's training on every prefix.
    case overlap
}

extension TrainingWindows {
    /// Targets per `overlap` window when `window_stride` is not given: half a window.
    static func defaultStride(maxLength: Int) -> Int { max(1, maxLength / 2) }

    /// The windows over a history of `count` items, newest first: each reads the `maxLength`
    /// items before `end` (exclusive) and predicts each next one, counting the targets at
    /// indices `≥ firstTarget`. `stride` (overlap only) defaults to ``defaultStride(maxLength:)``.
    func windows(count: Int, maxLength: Int, stride: Int? = nil) -> [(end: Int, firstTarget: Int)] {
        // Windows end at the newest item and step back `stride` targets at a time.
        let stride =
            self == .overlap
            ? max(1, min(maxLength, stride ?? Self.defaultStride(maxLength: maxLength))) : maxLength
        var result: [(end: Int, firstTarget: Int)] = []
        var end = count
        repeat {
            let oldest = self == .newest || end - stride < 2
            result.append((end, oldest ? 0 : end - stride))
            end -= stride
        } while self != .newest && end >= 2
        return result
    }
}

/// Hyper-parameters of the shared training loop.
public struct SequenceTrainingOptions: Sendable, Equatable {
    public var epochs: Int
    public var batchSize: Int
    public var learningRate: Float
    /// How the rate falls over `epochs` epochs (``LearningRateSchedule``, no warm-up).
    public var decay: LearningRateSchedule<Float>.Decay
    public var weightDecay: Float
    public var maxLength: Int
    public var loss: SequenceLoss
    public var windows: TrainingWindows
    /// Targets per window with `windows=overlap`.
    public var windowStride: Int
    /// Sampled items per batch for `loss=sampled` and `loss=gbce`.
    public var negatives = 256
    /// gBCE's calibration `t`.
    public var gbceCalibration = 0.75
    public var patience: Int
    public var seed: UInt64

    /// Whether the model reads sequences (`max_length` and `loss` apply).
    public var isSequential: Bool
    /// Whether the model trains on windows of its sequences (`windows` and `window_stride` apply):
    /// networks that predict at every position do; Caser trains on every prefix instead.
    public var trainsOnWindows: Bool

    /// Reads the options; `defaultMaxLength` `nil` for a model that reads no sequences (NeuMF).
    /// A model that does not train on windows accepts only `windows=newest` (what its saved
    /// models record) and ignores `window_stride`, which applies to `overlap` alone.
    init(
        reading reader: inout ParameterReader, defaultMaxLength: Int?, trainsOnWindows: Bool = true,
        defaultBatchSize: Int = 128
    ) throws {
        epochs = try reader.int("epochs", default: 200, in: 1...100_000)
        batchSize = try reader.int("batch_size", default: defaultBatchSize, in: 1...1_000_000)
        learningRate = Float(try reader.double("learning_rate", default: 1e-3, in: 1e-9...100))
        let decayName = try reader.choice(
            "lr_schedule", default: LearningRateSchedule<Float>.Decay.constant.rawValue,
            in: LearningRateSchedule<Float>.Decay.allCases.map(\.rawValue))
        decay = LearningRateSchedule<Float>.Decay(rawValue: decayName) ?? .constant
        weightDecay = Float(try reader.double("weight_decay", default: 0, in: 0...1e6))
        isSequential = defaultMaxLength != nil
        self.trainsOnWindows = isSequential && trainsOnWindows
        if let defaultMaxLength {
            maxLength = try reader.int("max_length", default: defaultMaxLength, in: 1...100_000)
            let lossName = try reader.choice("loss", default: "ce", in: SequenceLoss.allCases.map(\.rawValue))
            loss = SequenceLoss(rawValue: lossName) ?? .crossEntropy
            let choices = trainsOnWindows ? TrainingWindows.allCases : [.newest]
            let windowsName = try reader.choice(
                "windows", default: TrainingWindows.newest.rawValue, in: choices.map(\.rawValue))
            windows = TrainingWindows(rawValue: windowsName) ?? .newest
            windowStride = try reader.int(
                "window_stride", default: TrainingWindows.defaultStride(maxLength: maxLength), in: 1...maxLength)
            if loss.samplesNegatives {
                negatives = try reader.int("negatives", default: 256, in: 1...10_000_000)
                gbceCalibration = try reader.double("gbce_t", default: 0.75, in: 0...1)
            }
        } else {
            (maxLength, loss, windows, windowStride) = (0, .binaryCrossEntropy, .newest, 1)
        }
        patience = try reader.int("patience", default: 10, in: 1...100_000)
        seed = try reader.uint64("seed", default: 2020)
    }

    /// Options for a network that reads no sequences (TextCNN's encoder): a constant rate and no
    /// weight decay.
    init(epochs: Int, batchSize: Int, learningRate: Float, patience: Int, seed: UInt64) {
        (self.epochs, self.batchSize, self.learningRate, self.patience, self.seed) =
            (epochs, batchSize, learningRate, patience, seed)
        (decay, weightDecay, isSequential, trainsOnWindows) = (.constant, 0, false, false)
        (maxLength, loss, windows, windowStride) = (0, .binaryCrossEntropy, .newest, 1)
    }

    var parameters: [String: String] {
        var result = [
            "epochs": String(epochs), "batch_size": String(batchSize), "learning_rate": String(learningRate),
            "weight_decay": String(weightDecay), "patience": String(patience), "seed": String(seed),
            "lr_schedule": decay.rawValue,
        ]
        if isSequential {
            result["max_length"] = String(maxLength)
            result["loss"] = loss.rawValue
        }
        if isSequential && loss.samplesNegatives {
            result["negatives"] = String(negatives)
            if loss == .generalizedBCE { result["gbce_t"] = String(gbceCalibration) }
        }
        if trainsOnWindows {
            result["windows"] = windows.rawValue
            result["window_stride"] = String(windowStride)
        }
        return result
    }
}

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

/// The sequence models' use of ``EpochTrainer``: mini-batches of the newest `max_length` items
/// with next-item targets (at every position, or after a fixed window) and the loss of
/// ``SequenceLoss``.
struct SequenceTrainer<Network: SequenceNetwork> {
    let network: Network
    let options: SequenceTrainingOptions
    let sequences: [[Int32]]
    let itemCount: Int
    let validation: [ValidationCase]
    let control: TrainingControl
    let model: String

    /// One training example: a user, the end (exclusive) of the part of their sequence it reads,
    /// and the first index of that sequence that counts as a target.
    private struct Example {
        var user: Int32
        var end: Int
        var firstTarget = 0
    }

    private var examples: [Example] {
        var result: [Example] = []
        for (user, sequence) in sequences.enumerated() where sequence.count >= 2 {
            if Network.predictsEveryPosition {
                for window in options.windows.windows(
                    count: sequence.count, maxLength: options.maxLength, stride: options.windowStride)
                {
                    result.append(Example(user: Int32(user), end: window.end, firstTarget: window.firstTarget))
                }
            } else {
                for end in 1..<sequence.count { result.append(Example(user: Int32(user), end: end + 1)) }
            }
        }
        return result
    }

    /// Trains `network` in place and leaves it holding the best weights seen.
    func run(progress: ProgressHandler?, scorer: @escaping EpochTrainer<Network>.Scorer) throws -> [EpochRecord] {
        let all = examples
        guard !all.isEmpty else {
            throw ModelError.unsuitableData("\(model) needs users with at least two training events")
        }
        let loop = EpochTrainer(
            network: network, options: options, control: control, model: model,
            validate: EpochTrainer.ranking(validation, itemCount: itemCount, scorer: scorer))
        // Training frequency of each output class (0 is padding), for the sampled softmax's logQ.
        var frequencies = [Double](repeating: 0, count: itemCount + 1)
        if options.loss == .sampledSoftmax {
            let total = Double(max(1, sequences.reduce(0) { $0 + $1.count }))
            for sequence in sequences {
                for item in sequence { frequencies[Int(item) + 1] += 1 / total }
            }
        }
        return try loop.run(exampleCount: all.count, progress: progress) { batch, tape, generator in
            loss(batch.map { all[$0] }, frequencies: frequencies, tape: tape, generator: &generator)
        }
    }

    /// The mean loss of `batch`, recorded on `tape`.
    private func loss(_ batch: [Example], frequencies: [Double], tape: Tape<Float>, generator: inout SplitMix64)
        -> Variable<Float>
    {
        let everyPosition = Network.predictsEveryPosition
        // Every-position rows read the newest max_length + 1 items: inputs all but the last,
        // targets all but the first. Last-position rows read the window before their target.
        let inputs = batch.map { example -> ArraySlice<Int32> in
            let sequence = sequences[Int(example.user)]
            let lower = max(0, example.end - 1 - options.maxLength)
            return sequence[lower..<(example.end - 1)]
        }
        let longest = inputs.map(\.count).max() ?? 1
        let input = SequenceBatch(
            sequences: inputs, users: batch.map(\.user), length: everyPosition ? longest : options.maxLength,
            padLeft: !everyPosition)
        var rows: [Int] = []
        var targets: [Int32] = []
        for (r, example) in batch.enumerated() {
            let sequence = sequences[Int(example.user)]
            if everyPosition {
                let count = input.lengths[r]
                for t in 0..<count where example.end - count + t >= example.firstTarget {
                    rows.append(r * input.length + t)
                    targets.append(sequence[example.end - count + t] + 1)
                }
            } else {
                rows.append(r)
                targets.append(sequence[example.end - 1] + 1)
            }
        }
        let states = network.encode(input, on: tape, generator: &generator)
        let d = states.shape[1]
        // The target rows' states.
        let hidden =
            rows.count == states.shape[0]
            ? states
            : states.gatherElements(rows.flatMap { row in (0..<d).map { row * d + $0 } }, shape: [rows.count, d])
        let loss: Variable<Float>
        switch options.loss {
        case .crossEntropy:
            loss = hidden.linearCrossEntropy(
                weight: hidden.parameter(network.outputWeight), bias: network.outputBias.map { hidden.parameter($0) },
                targets: targets, chunkRows: 1_024)
        case .sampledSoftmax:
            loss = CatalogueLoss.sampledSoftmax(
                hidden: hidden, weight: network.outputWeight, bias: network.outputBias, targets: targets,
                negatives: options.negatives, frequencies: frequencies, generator: &generator, tape: tape)
        case .generalizedBCE:
            loss = CatalogueLoss.generalizedBCE(
                hidden: hidden, weight: network.outputWeight, bias: network.outputBias, targets: targets,
                negatives: options.negatives, calibration: options.gbceCalibration, generator: &generator, tape: tape)
        case .bpr, .binaryCrossEntropy:
            let negatives = targets.map { target -> Int32 in
                guard itemCount > 1 else { return target }
                var negative: Int32
                repeat { negative = Int32.random(in: 1...Int32(itemCount), using: &generator) } while negative == target
                return negative
            }
            func logits(_ items: [Int32]) -> Variable<Float> {
                var scores =
                    (hidden
                    * Variable.gather(rowsOf: network.outputWeight, indices: items, shape: [items.count], on: tape))
                    .sum(alongAxes: [1])
                if let outputBias = network.outputBias {
                    scores =
                        scores + hidden.parameter(outputBias).gatherElements(items.map(Int.init), shape: [items.count])
                }
                return scores
            }
            let (positive, negative) = (logits(targets), logits(negatives))
            if options.loss == .bpr {
                loss = Variable.bprLoss(positive: positive, negative: negative)
            } else {
                let both = Variable.concatenate([positive, negative], axis: 0)
                let labels = Tensor<Float>(
                    shape: [2 * targets.count],
                    scalars: [Float](repeating: 1, count: targets.count) + [Float](repeating: 0, count: targets.count))
                loss = both.binaryCrossEntropyWithLogits(targets: labels)
            }
        }
        return loss
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
                let scores = try scorer(network, cases.map { ScoringContext(user: $0.user, history: $0.history) })
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

/// Where a run stands: what a checkpoint saves.
struct RunState {
    var epoch = 0
    var badEpochs = 0
    var bestScore = -Double.infinity
    var best: [String: SafeTensor]?
    var history: [EpochRecord] = []
}

/// A training checkpoint: the network, the best weights so far, Adam's moments and the run's
/// progress, in one safetensors file written atomically.
enum TrainingCheckpoint {
    static func write<Network: Layer>(
        _ state: RunState, network: Network, optimizer: Adam<Float>, model: String, to url: URL
    ) throws where Network.Scalar == Float {
        var tensors: [String: SafeTensor] = [:]
        for (key, value) in StateDict.tensors(of: network) { tensors["network." + key] = value }
        for (key, value) in state.best ?? [:] { tensors["best." + key] = value }
        let adam = optimizer.state
        for (p, moment) in adam.first.enumerated() { tensors["adam.m.\(p)"] = SafeTensor(moment) }
        for (p, moment) in adam.second.enumerated() { tensors["adam.v.\(p)"] = SafeTensor(moment) }
        let history = String(decoding: try JSONEncoder().encode(state.history), as: UTF8.self)
        let metadata = [
            "format": "reckit-training-checkpoint", "model": model, "epoch": String(state.epoch),
            "bad_epochs": String(state.badEpochs), "best_score": String(state.bestScore),
            "adam_step": String(adam.step), "history": history,
        ]
        // `SafeTensors.write` replaces the file atomically: a crash leaves the previous epoch's.
        try SafeTensors.write(tensors, metadata: metadata, to: url)
    }

    static func restore<Network: Layer>(
        from url: URL, network: Network, optimizer: inout Adam<Float>, model: String
    ) throws -> RunState where Network.Scalar == Float {
        let (tensors, metadata) = try SafeTensors.read(from: url)
        func bad(_ reason: String) -> CheckpointError { .malformed(path: url.path, reason: reason) }
        guard metadata["format"] == "reckit-training-checkpoint" else { throw bad("not a training checkpoint") }
        guard metadata["model"] == model else {
            throw bad("written by \(metadata["model"] ?? "?"), not \(model)")
        }
        guard let epoch = metadata["epoch"].flatMap(Int.init), let badEpochs = metadata["bad_epochs"].flatMap(Int.init),
            let bestScore = metadata["best_score"].flatMap(Double.init),
            let step = metadata["adam_step"].flatMap(Int.init),
            let historyText = metadata["history"],
            let history = try? JSONDecoder().decode([EpochRecord].self, from: Data(historyText.utf8))
        else { throw bad("missing run metadata") }
        var current: [String: SafeTensor] = [:]
        var best: [String: SafeTensor] = [:]
        for (key, value) in tensors {
            if key.hasPrefix("network.") { current[String(key.dropFirst(8))] = value }
            if key.hasPrefix("best.") { best[String(key.dropFirst(5))] = value }
        }
        let count = network.parameters.count
        let first = try (0..<count).map { p in
            guard let tensor = tensors["adam.m.\(p)"] else { throw bad("missing adam.m.\(p)") }
            return try tensor.floats(key: "adam.m.\(p)")
        }
        let second = try (0..<count).map { p in
            guard let tensor = tensors["adam.v.\(p)"] else { throw bad("missing adam.v.\(p)") }
            return try tensor.floats(key: "adam.v.\(p)")
        }
        // Validate everything before changing anything.
        let probe = StateDict.tensors(of: network)
        try StateDict.load(current, into: network)
        if !best.isEmpty {
            do { try StateDict.load(best, into: network) } catch {
                try StateDict.load(probe, into: network)
                throw error
            }
            try StateDict.load(current, into: network)
        }
        guard optimizer.restore(step: step, first: first, second: second) else {
            try StateDict.load(probe, into: network)
            throw bad("optimizer state does not match the network")
        }
        return RunState(
            epoch: epoch, badEpochs: badEpochs, bestScore: bestScore, best: best.isEmpty ? nil : best, history: history)
    }
}

import Foundation
import NeuralNet
import RecData
import Tensors

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
        switch options.loss {
        case .crossEntropy:
            return hidden.linearCrossEntropy(
                weight: hidden.parameter(network.outputWeight), bias: network.outputBias.map { hidden.parameter($0) },
                targets: targets, chunkRows: 1_024)
        case .sampledSoftmax:
            return CatalogueLoss.sampledSoftmax(
                hidden: hidden, weight: network.outputWeight, bias: network.outputBias, targets: targets,
                negatives: options.negatives, frequencies: frequencies, generator: &generator, tape: tape)
        case .generalizedBCE:
            return CatalogueLoss.generalizedBCE(
                hidden: hidden, weight: network.outputWeight, bias: network.outputBias, targets: targets,
                negatives: options.negatives, calibration: options.gbceCalibration, generator: &generator, tape: tape)
        case .bpr, .binaryCrossEntropy:
            return pairLoss(hidden: hidden, targets: targets, tape: tape, generator: &generator)
        }
    }

    /// BPR or binary cross-entropy of each target against one uniformly sampled negative.
    private func pairLoss(hidden: Variable<Float>, targets: [Int32], tape: Tape<Float>, generator: inout SplitMix64)
        -> Variable<Float>
    {
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
            return Variable.bprLoss(positive: positive, negative: negative)
        } else {
            let both = Variable.concatenate([positive, negative], axis: 0)
            let labels = Tensor<Float>(
                shape: [2 * targets.count],
                scalars: [Float](repeating: 1, count: targets.count) + [Float](repeating: 0, count: targets.count))
            return both.binaryCrossEntropyWithLogits(targets: labels)
        }
    }
}

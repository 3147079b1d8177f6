import Foundation
import NeuralNet
import RecData
import Tensors

/// Training settings of the click-through models, read from `--param key=value`.
///
/// Defaults follow FuxiCTR's and RecBole's context-aware settings where they agree: embedding
/// dimension 16, Adam with learning rate 1e-3, batches of 2048 examples, early stopping on
/// validation AUC with patience 2.
public struct CTRHyperParameters: Sendable, Codable, Equatable {
    /// `dimension`: the embedding size of every field (16).
    public var dimension = 16
    /// `hidden`: the MLP's hidden sizes, comma-separated (`64,64,64`, RecBole's DeepFM).
    public var hidden = [64, 64, 64]
    /// `cross_layers`: DCN-V2's cross layers (3, FuxiCTR's).
    public var crossLayers = 3
    /// `attention_hidden`: the hidden size of DIN's activation unit (64, FuxiCTR's).
    public var attentionHidden = 64
    /// `epochs`: the most epochs (30).
    public var epochs = 30
    /// `patience`: epochs without a better validation AUC before stopping (2, FuxiCTR's).
    public var patience = 2
    /// `batch_size` (2048, RecBole's `train_batch_size`).
    public var batchSize = 2048
    /// `learning_rate` (1e-3).
    public var learningRate = 1e-3
    /// `weight_decay`: Adam's L2 term on every parameter (0).
    public var weightDecay = 0.0
    /// `seed`: initial weights and the epochs' shuffles (2020).
    public var seed: UInt64 = 2020

    public init() {}

    /// Reads `values`; an unknown key or a value out of range throws ``ModelError``.
    public init(kind: CTRModelKind, _ values: [String: String]) throws {
        var reader = ParameterReader(rankerName: kind.rawValue, values)
        dimension = try reader.int("dimension", default: dimension, in: 1...512)
        let hiddenText = reader.string("hidden", default: hidden.map(String.init).joined(separator: ","))
        let sizes = hiddenText.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !sizes.isEmpty, sizes.allSatisfy({ ($0 ?? 0) > 0 && ($0 ?? 0) <= 8192 }) else {
            throw ModelError.invalidParameter(
                model: kind.rawValue, key: "hidden", value: hiddenText, reason: "give sizes such as 64,64,64")
        }
        hidden = sizes.compactMap { $0 }
        crossLayers = try reader.int("cross_layers", default: crossLayers, in: 0...16)
        attentionHidden = try reader.int("attention_hidden", default: attentionHidden, in: 1...4096)
        epochs = try reader.int("epochs", default: epochs, in: 1...10_000)
        patience = try reader.int("patience", default: patience, in: 1...10_000)
        batchSize = try reader.int("batch_size", default: batchSize, in: 1...1_000_000)
        learningRate = try reader.double("learning_rate", default: learningRate, in: 1e-7...10)
        weightDecay = try reader.double("weight_decay", default: weightDecay, in: 0...10)
        seed = try reader.uint64("seed", default: seed)
        try reader.finish()
    }
}

extension ParameterReader {
    /// A reader for a model that is not a ``ModelKind`` (the click-through rankers).
    init(rankerName: String, _ values: [String: String]) {
        model = rankerName
        self.values = values
    }
}

/// One epoch of a click-through model's training.
public struct CTREpoch: Sendable, Codable, Equatable {
    public var epoch: Int
    /// Mean training log loss over the epoch's batches.
    public var loss: Double
    public var validationAUC: Double
    public var seconds: Double
}

/// The mini-batch loop: binary cross-entropy on logits, Adam, validation AUC after every epoch,
/// early stopping with the best epoch's weights restored.
enum CTRTrainer {
    static func train<Network: CTRNetwork>(
        _ network: Network, train: CTRBatch, validation: CTRBatch, settings: CTRHyperParameters,
        progress: ((CTREpoch) -> Void)? = nil
    ) throws -> [CTREpoch] where Network.Scalar == Float {
        let parameters = network.parameters
        var optimizer = Adam(
            parameters: parameters, learningRate: Float(settings.learningRate),
            weightDecay: Float(settings.weightDecay))
        var epochs: [CTREpoch] = []
        var best = (auc: -Double.infinity, values: parameters.map(\.value))
        var stale = 0
        for epoch in 1...settings.epochs {
            let start = Date()
            var order = Array(0..<train.count)
            var generator = SeededGenerator(seed: mixHash(settings.seed, UInt64(epoch)))
            generator.shuffle(&order)
            var (total, batches) = (0.0, 0)
            for first in stride(from: 0, to: order.count, by: settings.batchSize) {
                let batch = train.rows(order[first..<min(order.count, first + settings.batchSize)])
                let tape = Tape<Float>()
                let logits = network.logits(FieldIndices(batch), on: tape)
                let loss = logits.binaryCrossEntropyWithLogits(
                    targets: Tensor(shape: [batch.count], scalars: batch.labels))
                guard loss.value.scalar.isFinite else {
                    throw ModelError.nonFinite("in the loss at epoch \(epoch), batch \(batches + 1)")
                }
                tape.backward(loss)
                optimizer.step()
                optimizer.zeroGradients()
                total += Double(loss.value.scalar)
                batches += 1
            }
            let auc = CTRMetrics.auc(scores: predict(network, validation), labels: validation.labels) ?? 0.5
            let record = CTREpoch(
                epoch: epoch, loss: total / Double(max(1, batches)), validationAUC: auc,
                seconds: Date().timeIntervalSince(start))
            epochs.append(record)
            progress?(record)
            if auc > best.auc {
                best = (auc, parameters.map(\.value))
                stale = 0
            } else {
                stale += 1
                if stale >= settings.patience { break }
            }
        }
        for (parameter, value) in zip(parameters, best.values) { parameter.value = value }
        return epochs
    }

    /// Click probabilities of every example of `batch`, in chunks, without recording.
    static func predict<Network: CTRNetwork>(_ network: Network, _ batch: CTRBatch, chunk: Int = 4096) -> [Float]
    where Network.Scalar == Float {
        var result: [Float] = []
        result.reserveCapacity(batch.count)
        for first in stride(from: 0, to: batch.count, by: chunk) {
            let part = batch.count <= chunk ? batch : batch.rows(first..<min(batch.count, first + chunk))
            let logits = network.logits(FieldIndices(part), on: Tape<Float>(recording: false))
            result += logits.value.scalars.map { 1 / (1 + Foundation.exp(-$0)) }
        }
        return result
    }
}

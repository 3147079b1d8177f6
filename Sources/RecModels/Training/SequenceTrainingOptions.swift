import NeuralNet
import Tensors

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

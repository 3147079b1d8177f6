import Tensors

/// A learning-rate schedule: linear warm-up from 0, then constant, linear or cosine decay to
/// `minimum` at `totalSteps` (the shape of `transformers.get_linear_schedule_with_warmup` and
/// `get_cosine_schedule_with_warmup`).
public struct LearningRateSchedule<Scalar: TensorScalar>: Sendable {
    /// The decay after warm-up.
    public enum Decay: String, Sendable, CaseIterable { case constant, linear, cosine }

    public let base: Scalar
    public let warmupSteps: Int
    public let totalSteps: Int
    public let decay: Decay
    public let minimum: Scalar

    public init(base: Scalar, warmupSteps: Int = 0, totalSteps: Int, decay: Decay, minimum: Scalar = 0) {
        checkArgument(
            warmupSteps >= 0 && totalSteps >= warmupSteps, "schedule: warm-up \(warmupSteps) of \(totalSteps) steps")
        (self.base, self.warmupSteps, self.totalSteps, self.decay, self.minimum) =
            (base, warmupSteps, totalSteps, decay, minimum)
    }

    /// The rate for 0-based `step`: `base · (step + 1) / warmupSteps` while warming up.
    public func rate(at step: Int) -> Scalar {
        if step < warmupSteps { return base * Scalar(step + 1) / Scalar(warmupSteps) }
        let span = Swift.max(1, totalSteps - warmupSteps)
        let progress = Swift.min(1, Scalar(step - warmupSteps) / Scalar(span))
        switch decay {
        case .constant: return base
        case .linear: return minimum + (base - minimum) * (1 - progress)
        case .cosine: return minimum + (base - minimum) * (1 + Scalar.cos(Scalar.pi * progress)) / 2
        }
    }
}

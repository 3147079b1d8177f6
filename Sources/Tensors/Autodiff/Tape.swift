/// Records differentiable operations in order and runs their backward functions in reverse.
///
/// ```swift
/// let tape = Tape<Float>()
/// let x = tape.constant(batch)
/// let loss = model(x).crossEntropy(targets: labels)
/// tape.backward(loss)        // adds into every Parameter's grad
/// ```
///
/// Creation order is a topological order, so backward is one reverse pass: no graph search.
/// A tape is used for one step and then dropped; its variables keep only a weak reference to
/// it, so nothing leaks if `backward` is never called.
///
/// In inference mode (``isRecording`` false, or inside ``withoutRecording(_:)``) operations
/// compute values only: no backward closure is created and no intermediate is retained.
public final class Tape<Scalar: TensorScalar> {
    /// Whether operations record backward functions.
    public var isRecording: Bool
    private var backwardSteps: [() -> Void] = []
    private var bound: [ObjectIdentifier: (parameter: Parameter<Scalar>, variable: Variable<Scalar>)] = [:]
    private var boundOrder: [ObjectIdentifier] = []
    private var hasRunBackward = false

    /// A tape; `recording: false` gives an inference tape with no bookkeeping.
    public init(recording: Bool = true) { isRecording = recording }

    /// The number of recorded backward steps.
    public var recordedCount: Int { backwardSteps.count }

    /// A leaf that needs no gradient (inputs, targets, masks).
    public func constant(_ value: Tensor<Scalar>) -> Variable<Scalar> {
        Variable(value, tape: self, requiresGradient: false)
    }

    /// A leaf whose gradient ``backward(_:gradient:)`` computes into ``Variable/grad``.
    public func variable(_ value: Tensor<Scalar>) -> Variable<Scalar> {
        Variable(value, tape: self, requiresGradient: isRecording)
    }

    /// The variable standing for `parameter` on this tape, created on first use. After
    /// ``backward(_:gradient:)`` its gradient is added to `parameter.grad`.
    public func parameter(_ parameter: Parameter<Scalar>) -> Variable<Scalar> {
        guard isRecording else { return constant(parameter.value) }
        let id = ObjectIdentifier(parameter)
        if let existing = bound[id] { return existing.variable }
        let variable = Variable(parameter.value, tape: self, requiresGradient: true)
        bound[id] = (parameter, variable)
        boundOrder.append(id)
        return variable
    }

    /// Runs `body` with recording off, restoring the previous mode afterwards (`torch.no_grad`).
    public func withoutRecording<R>(_ body: () throws -> R) rethrows -> R {
        let previous = isRecording
        isRecording = false
        defer { isRecording = previous }
        return try body()
    }

    /// Appends a backward step; called by operations while recording.
    func record(_ step: @escaping () -> Void) { backwardSteps.append(step) }

    /// Back-propagates from `output`, seeding its gradient with `gradient` (default: ones, so a
    /// scalar loss gets `dL/dL = 1`), then adds every bound parameter's gradient to it.
    ///
    /// The recorded steps are released afterwards: a tape runs backward once.
    public func backward(_ output: Variable<Scalar>, gradient: Tensor<Scalar>? = nil) {
        checkArgument(output.tape === self, "backward: the output was not recorded on this tape")
        checkArgument(!hasRunBackward, "backward: this tape already ran backward; record a new tape per step")
        hasRunBackward = true
        let seed = gradient ?? Tensor(shape: output.value.shape, repeating: 1)
        checkArgument(
            seed.shape == output.value.shape,
            "backward: seed gradient \(seed.shape) for output \(output.value.shape)")
        guard output.requiresGradient else { return }
        output.addGradient(seed)
        // Each step is dropped as soon as it has run, releasing the values it captured, so
        // memory falls during the pass instead of peaking at its end.
        for index in backwardSteps.indices.reversed() {
            backwardSteps[index]()
            backwardSteps[index] = {}
        }
        backwardSteps.removeAll()
        for id in boundOrder {
            guard let (parameter, variable) = bound[id], let grad = variable.grad else { continue }
            parameter.accumulateGradient(grad)
        }
    }
}

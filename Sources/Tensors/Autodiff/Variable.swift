/// A tensor value on a ``Tape``, with the gradient that flows back to it.
///
/// Operations on variables (`matmul`, `+`, `softmax`, …) compute their value eagerly and, when
/// the tape records and an input needs a gradient, append their backward step.
public final class Variable<Scalar: TensorScalar> {
    /// The computed value.
    public let value: Tensor<Scalar>
    /// `dOutput/dSelf`, accumulated during backward; `nil` until something flows here.
    ///
    /// Leaves (``Tape/variable(_:)``) keep their gradient; an operation's output releases its
    /// gradient once it has been passed on to the inputs, as torch does without `retain_grad`.
    public internal(set) var grad: Tensor<Scalar>?
    /// Whether a gradient flows to this variable.
    public let requiresGradient: Bool
    /// The tape this variable was recorded on (weak: the tape owns its variables, not the reverse).
    public private(set) weak var tape: Tape<Scalar>?

    init(_ value: Tensor<Scalar>, tape: Tape<Scalar>?, requiresGradient: Bool) {
        self.value = value
        self.tape = tape
        self.requiresGradient = requiresGradient
    }

    /// The shape of `value`.
    public var shape: [Int] { value.shape }

    /// The variable for `parameter` on this variable's tape (a constant if the tape is gone).
    public func parameter(_ parameter: Parameter<Scalar>) -> Variable<Scalar> {
        tape?.parameter(parameter) ?? Variable(parameter.value, tape: nil, requiresGradient: false)
    }

    /// A constant on this variable's tape.
    public func constant(_ value: Tensor<Scalar>) -> Variable<Scalar> {
        Variable(value, tape: tape, requiresGradient: false)
    }

    /// Whether operations on this variable are being recorded.
    public var isRecording: Bool { tape?.isRecording ?? false }

    /// `grad += g`.
    @_specialize(where Scalar == Float)
    func addGradient(_ g: Tensor<Scalar>) {
        checkArgument(g.shape == value.shape, "gradient \(g.shape) for value \(value.shape)")
        withGradient { dst in
            g.scalars.withUnsafeBufferPointer { src in
                for i in 0..<dst.count { dst[i] += src[i] }
            }
        }
    }

    /// `grad += g`, taking `g`'s storage when there is no gradient yet: no zero fill, no copy
    /// (copy-on-write keeps later in-place additions from touching `g`'s owner).
    func addGradient(adopting g: Tensor<Scalar>) {
        if grad == nil {
            checkArgument(g.count == value.count, "gradient \(g.shape) for value \(value.shape)")
            grad = g.shape == value.shape ? g : g.reshaped(value.shape)
        } else {
            addGradient(g.shape == value.shape ? g : g.reshaped(value.shape))
        }
    }

    /// Gives `body` the gradient storage (zeros on first use) to add to.
    @_specialize(where Scalar == Float)
    func withGradient(_ body: (UnsafeMutableBufferPointer<Scalar>) -> Void) {
        if grad == nil { grad = Tensor(zeros: value.shape) }
        // Force-unwrap-free access: the line above guarantees a gradient.
        grad?.scalars.withUnsafeMutableBufferPointer { body($0) }
    }

    /// Builds the output of an operation: records `backward` when `inputs` need gradients and
    /// the tape records. `backward` receives the output's gradient.
    static func result(
        _ value: Tensor<Scalar>, inputs: [Variable<Scalar>],
        backward: @escaping (_ output: Variable<Scalar>, _ dy: UnsafeBufferPointer<Scalar>) -> Void
    ) -> Variable<Scalar> {
        var tape: Tape<Scalar>? = nil
        var needs = false
        for input in inputs {
            if tape == nil { tape = input.tape }
            if let t = input.tape, let other = tape {
                checkArgument(t === other, "autodiff: inputs come from different tapes")
            }
            needs = needs || input.requiresGradient
        }
        guard let tape, tape.isRecording, needs else {
            return Variable(value, tape: tape, requiresGradient: false)
        }
        let output = Variable(value, tape: tape, requiresGradient: true)
        // The step holds the output strongly, and the tape holds the step; the output's weak
        // reference back to the tape keeps this free of cycles.
        tape.record { [output] in
            guard let dy = output.grad else { return }
            dy.scalars.withUnsafeBufferPointer { backward(output, $0) }
            output.grad = nil  // propagated; free it now so later steps can reuse the memory
        }
        return output
    }
}

import Tensors

/// A fully connected layer, `y = x · Wᵀ + b` (`torch.nn.Linear`).
///
/// Keys: `weight` `(outputSize, inputSize)`, `bias` `(outputSize)`.
public struct Linear<Scalar: TensorScalar>: Layer {
    /// `(outputSize, inputSize)`.
    public let weight: Parameter<Scalar>
    /// `(outputSize)`, or `nil` without a bias.
    public let bias: Parameter<Scalar>?

    /// A layer with torch's default initialization, `U(-1/√inputSize, 1/√inputSize)` for weight
    /// and bias.
    public init(
        inputSize: Int, outputSize: Int, bias: Bool = true, using generator: inout some RandomNumberGenerator
    ) {
        checkArgument(inputSize > 0 && outputSize > 0, "Linear: sizes \(inputSize) → \(outputSize) must be positive")
        weight = Parameter(Tensor(zeros: [outputSize, inputSize]))
        self.bias = bias ? Parameter(Tensor(zeros: [outputSize])) : nil
        resetParameters(using: &generator)
    }

    /// Redraws the parameters as `init` does.
    public func resetParameters(using generator: inout some RandomNumberGenerator) {
        let bound = 1 / Scalar.sqrt(Scalar(weight.shape[1]))
        weight.value = Initializer.uniform(shape: weight.shape, bound: bound, using: &generator)
        if let bias { bias.value = Initializer.uniform(shape: bias.shape, bound: bound, using: &generator) }
    }

    public var namedParameters: [(name: String, parameter: Parameter<Scalar>)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    /// `x (…, inputSize)` → `(…, outputSize)`.
    public func callAsFunction(_ x: Variable<Scalar>) -> Variable<Scalar> {
        checkArgument(
            x.shape.last == weight.shape[1], "Linear: input \(x.shape) does not end in \(weight.shape[1]) features")
        let y = x.matmul(x.parameter(weight), transposeOther: true)
        guard let bias else { return y }
        return y + x.parameter(bias)
    }
}

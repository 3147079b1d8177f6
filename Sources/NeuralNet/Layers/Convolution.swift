import Tensors

/// A 1-D convolution layer (`torch.nn.Conv1d`): `(B, C, L)` → `(B, O, L_out)`.
///
/// Keys: `weight` `(O, C, K)`, `bias` `(O)`. Initialized as torch does, `U(-1/√(C·K), 1/√(C·K))`.
public struct Conv1d<Scalar: TensorScalar>: Layer {
    /// `(O, C, K)`.
    public let weight: Parameter<Scalar>
    /// `(O)`, or `nil`.
    public let bias: Parameter<Scalar>?
    /// Step between windows.
    public let stride: Int
    /// Zeros added at both ends.
    public let padding: Int

    public init(
        inputChannels: Int, outputChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
        bias: Bool = true, using generator: inout some RandomNumberGenerator
    ) {
        checkArgument(
            inputChannels > 0 && outputChannels > 0 && kernelSize > 0,
            "Conv1d: channels \(inputChannels) → \(outputChannels) and kernel \(kernelSize) must be positive")
        let bound = 1 / Scalar.sqrt(Scalar(inputChannels * kernelSize))
        weight = Parameter(
            Initializer.uniform(shape: [outputChannels, inputChannels, kernelSize], bound: bound, using: &generator))
        self.bias =
            bias ? Parameter(Initializer.uniform(shape: [outputChannels], bound: bound, using: &generator)) : nil
        (self.stride, self.padding) = (stride, padding)
    }

    public var namedParameters: [(name: String, parameter: Parameter<Scalar>)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    public func callAsFunction(_ x: Variable<Scalar>) -> Variable<Scalar> {
        x.conv1d(weight: x.parameter(weight), bias: bias.map { x.parameter($0) }, stride: stride, padding: padding)
    }
}

/// A 2-D convolution layer (`torch.nn.Conv2d`): `(B, C, H, W)` → `(B, O, H_out, W_out)`.
///
/// Keys: `weight` `(O, C, KH, KW)`, `bias` `(O)`. Initialized as torch does,
/// `U(-1/√(C·KH·KW), 1/√(C·KH·KW))`. Caser's horizontal filters are `(h, D)` kernels over the
/// `(L, D)` embedding image; its vertical filters are `(L, 1)`.
public struct Conv2d<Scalar: TensorScalar>: Layer {
    /// `(O, C, KH, KW)`.
    public let weight: Parameter<Scalar>
    /// `(O)`, or `nil`.
    public let bias: Parameter<Scalar>?
    /// Step between windows, (rows, columns).
    public let stride: (Int, Int)
    /// Zeros added on each side, (rows, columns).
    public let padding: (Int, Int)

    public init(
        inputChannels: Int, outputChannels: Int, kernelSize: (Int, Int), stride: (Int, Int) = (1, 1),
        padding: (Int, Int) = (0, 0), bias: Bool = true, using generator: inout some RandomNumberGenerator
    ) {
        checkArgument(
            inputChannels > 0 && outputChannels > 0 && kernelSize.0 > 0 && kernelSize.1 > 0,
            "Conv2d: channels \(inputChannels) → \(outputChannels) and kernel \(kernelSize) must be positive")
        let bound = 1 / Scalar.sqrt(Scalar(inputChannels * kernelSize.0 * kernelSize.1))
        let shape = [outputChannels, inputChannels, kernelSize.0, kernelSize.1]
        weight = Parameter(Initializer.uniform(shape: shape, bound: bound, using: &generator))
        self.bias =
            bias ? Parameter(Initializer.uniform(shape: [outputChannels], bound: bound, using: &generator)) : nil
        (self.stride, self.padding) = (stride, padding)
    }

    public var namedParameters: [(name: String, parameter: Parameter<Scalar>)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    public func callAsFunction(_ x: Variable<Scalar>) -> Variable<Scalar> {
        x.conv2d(weight: x.parameter(weight), bias: bias.map { x.parameter($0) }, stride: stride, padding: padding)
    }
}

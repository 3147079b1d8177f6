import Tensors

/// Layers applied one after another; keys are the position (`"0.weight"`), as in
/// `torch.nn.Sequential`. Layers without parameters still take a position.
public struct MLP<Scalar: TensorScalar>: Layer {
    /// The linear layers; ReLU sits between consecutive ones.
    public let layers: [Linear<Scalar>]

    /// `sizes[0] → sizes[1] → … → sizes.last`, ReLU between layers, none after the last.
    /// Keys are those of `nn.Sequential(Linear, ReLU, Linear, …)`: `"0.weight"`, `"2.weight"`, ….
    public init(sizes: [Int], using generator: inout some RandomNumberGenerator) {
        checkArgument(sizes.count >= 2, "MLP: sizes \(sizes) need an input and an output size")
        var layers: [Linear<Scalar>] = []
        for (input, output) in zip(sizes, sizes.dropFirst()) {
            layers.append(Linear(inputSize: input, outputSize: output, using: &generator))
        }
        self.layers = layers
    }

    public var namedParameters: [(name: String, parameter: Parameter<Scalar>)] {
        layers.enumerated().flatMap { $0.element.namedParameters(prefix: "\(2 * $0.offset)") }
    }

    /// `x (…, sizes[0])` → `(…, sizes.last)`.
    public func callAsFunction(_ x: Variable<Scalar>) -> Variable<Scalar> {
        var h = x
        for (index, layer) in layers.enumerated() {
            h = layer(h)
            if index < layers.count - 1 { h = h.relu() }
        }
        return h
    }
}

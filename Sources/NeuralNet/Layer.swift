import Tensors

/// A neural-network layer: a struct that owns named ``Parameter``s and is applied with
/// `callAsFunction`.
///
/// Parameters are listed explicitly, never found by reflection. Names follow torch's
/// `state_dict` keys, and a layer that contains layers prefixes their names with its own field
/// name and a dot (`"encoder.0.weight"`), so a checkpoint written by ``StateDict`` loads in
/// PyTorch and the reverse.
///
/// Layers are `Sendable` so a trained model can be served concurrently; see ``Parameter`` for
/// the sharing rules.
public protocol Layer: Sendable {
    /// The element type, `Float` for training, `Double` for gradient checks.
    associatedtype Scalar: TensorScalar

    /// Every parameter with its torch-style key, in a fixed order.
    var namedParameters: [(name: String, parameter: Parameter<Scalar>)] { get }
}

extension Layer {
    /// Every parameter, in ``namedParameters`` order.
    public var parameters: [Parameter<Scalar>] { namedParameters.map(\.parameter) }

    /// ``namedParameters`` with `prefix + "."` in front of each key (no dot for an empty prefix).
    public func namedParameters(prefix: String) -> [(name: String, parameter: Parameter<Scalar>)] {
        namedParameters.map { (prefix.isEmpty ? $0.name : "\(prefix).\($0.name)", $0.parameter) }
    }

    /// Clears every parameter's gradient.
    public func zeroGradients() {
        for parameter in parameters { parameter.zeroGradient() }
    }
}

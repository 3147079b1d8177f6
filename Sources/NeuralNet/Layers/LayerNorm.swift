import Tensors

/// Layer normalization over the last axis (`torch.nn.LayerNorm(dimension)`).
///
/// Keys: `weight` (γ, ones) and `bias` (β, zeros), both `(dimension)`.
public struct LayerNorm<Scalar: TensorScalar>: Layer {
    /// γ, `(dimension)`.
    public let weight: Parameter<Scalar>
    /// β, `(dimension)`.
    public let bias: Parameter<Scalar>
    /// Added to the variance; 1e-5 as in torch.
    public let epsilon: Scalar

    /// γ = 1, β = 0.
    public init(dimension: Int, epsilon: Scalar = 1e-5) {
        weight = Parameter(Tensor(shape: [dimension], repeating: 1))
        bias = Parameter(Tensor(zeros: [dimension]))
        self.epsilon = epsilon
    }

    public var namedParameters: [(name: String, parameter: Parameter<Scalar>)] {
        [("weight", weight), ("bias", bias)]
    }

    /// `x (…, dimension)` → same shape.
    public func callAsFunction(_ x: Variable<Scalar>) -> Variable<Scalar> {
        x.layerNorm(weight: x.parameter(weight), bias: x.parameter(bias), epsilon: epsilon)
    }
}

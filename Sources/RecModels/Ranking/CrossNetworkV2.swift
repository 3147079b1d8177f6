import NeuralNet
import RecData
import Tensors

/// The cross network of DCN-V2 (Wang et al., WWW 2021) with full-rank matrices:
/// `x_{l+1} = x_0 ⊙ (W_l x_l + b_l) + x_l`, each layer a `Linear(K, K)`.
///
/// Keys: `0.weight`, `0.bias`, `1.weight`, …
public struct CrossNetwork<Scalar: TensorScalar>: Layer {
    public let layers: [Linear<Scalar>]

    public init(width: Int, depth: Int, using generator: inout some RandomNumberGenerator) {
        layers = (0..<depth).map { _ in Linear(inputSize: width, outputSize: width, using: &generator) }
    }

    public var namedParameters: [(name: String, parameter: Parameter<Scalar>)] {
        layers.enumerated().flatMap { $0.element.namedParameters(prefix: "\($0.offset)") }
    }

    /// `x0 (N, K)` → `(N, K)`.
    public func callAsFunction(_ x0: Variable<Scalar>) -> Variable<Scalar> {
        var x = x0
        for layer in layers { x = x0 * layer(x) + x }
        return x
    }
}

/// DCN-V2, `dcnv2`, in its stacked form: the flattened field embeddings go through the cross
/// network, then an MLP whose last layer outputs the logit.
///
/// Keys: `fields.embedding.weight`, `cross.…`, `mlp.…` (`(F·D) → hidden… → 1`).
public struct DCNV2<Scalar: TensorScalar>: CTRNetwork {
    public let fields: FieldEmbedding<Scalar>
    public let cross: CrossNetwork<Scalar>
    public let mlp: MLP<Scalar>

    public init(
        rows: Int, dimension: Int, fieldCount: Int, crossLayers: Int, hidden: [Int],
        using generator: inout some RandomNumberGenerator
    ) {
        fields = FieldEmbedding(rows: rows, dimension: dimension, firstOrder: false, using: &generator)
        let width = fieldCount * dimension
        cross = CrossNetwork(width: width, depth: crossLayers, using: &generator)
        mlp = MLP(sizes: [width] + hidden + [1], using: &generator)
    }

    public var namedParameters: [(name: String, parameter: Parameter<Scalar>)] {
        fields.namedParameters(prefix: "fields") + cross.namedParameters(prefix: "cross")
            + mlp.namedParameters(prefix: "mlp")
    }

    public func logits(_ x: FieldIndices, on tape: Tape<Scalar>) -> Variable<Scalar> {
        let e = fields(x, on: tape)
        return mlp(cross(e.reshaped([x.count, e.shape[1] * e.shape[2]]))).reshaped([x.count])
    }
}

import Tensors

/// A Transformer encoder block (`torch.nn.TransformerEncoderLayer(batch_first=True,
/// activation="gelu")`): self-attention and a GELU feed-forward network, each with a residual
/// connection and layer norm.
///
/// Post-norm (torch's default): `x = norm1(x + drop(attn(x)))`, `x = norm2(x + drop(ffn(x)))`.
/// Pre-norm (`normFirst`): `x = x + drop(attn(norm1(x)))`, `x = x + drop(ffn(norm2(x)))`.
/// `ffn(x) = linear2(drop(gelu(linear1(x))))`.
///
/// Keys: `self_attn.*`, `linear1.*`, `linear2.*`, `norm1.*`, `norm2.*`.
public struct TransformerBlock<Scalar: TensorScalar>: Layer {
    public let selfAttention: MultiheadAttention<Scalar>
    public let linear1: Linear<Scalar>
    public let linear2: Linear<Scalar>
    public let norm1: LayerNorm<Scalar>
    public let norm2: LayerNorm<Scalar>
    public let dropout: Dropout<Scalar>
    /// Whether layer norm comes before each sub-layer (pre-norm) instead of after the residual.
    public let normFirst: Bool

    /// A block of width `width` with `heads` heads and a `feedForwardSize` hidden layer.
    public init(
        width: Int, heads: Int, feedForwardSize: Int, dropout: Scalar = 0.1, normFirst: Bool = false,
        using generator: inout some RandomNumberGenerator
    ) {
        selfAttention = MultiheadAttention(width: width, heads: heads, dropout: dropout, using: &generator)
        linear1 = Linear(inputSize: width, outputSize: feedForwardSize, using: &generator)
        linear2 = Linear(inputSize: feedForwardSize, outputSize: width, using: &generator)
        norm1 = LayerNorm(dimension: width)
        norm2 = LayerNorm(dimension: width)
        self.dropout = Dropout(probability: dropout)
        self.normFirst = normFirst
    }

    public var namedParameters: [(name: String, parameter: Parameter<Scalar>)] {
        selfAttention.namedParameters(prefix: "self_attn") + linear1.namedParameters(prefix: "linear1")
            + linear2.namedParameters(prefix: "linear2") + norm1.namedParameters(prefix: "norm1")
            + norm2.namedParameters(prefix: "norm2")
    }

    /// `x (B, L, E)` → `(B, L, E)`, or `(B, 1, E)` with `lastStepOnly`; `causal`, `keep` and
    /// `lastStepOnly` as in ``MultiheadAttention``.
    public func callAsFunction(
        _ x: Variable<Scalar>, causal: Bool = false, keep: [Bool]? = nil, lastStepOnly: Bool = false,
        using generator: inout some RandomNumberGenerator
    ) -> Variable<Scalar> {
        func attention(_ h: Variable<Scalar>) -> Variable<Scalar> {
            dropout(
                selfAttention(h, causal: causal, keep: keep, lastStepOnly: lastStepOnly, using: &generator),
                using: &generator)
        }
        // The residual of the steps the block outputs.
        let steps = x.shape[1]
        let residual = lastStepOnly ? x.slice(axis: 1, (steps - 1)..<steps) : x
        func feedForward(_ h: Variable<Scalar>) -> Variable<Scalar> {
            dropout(linear2(dropout(linear1(h).gelu(), using: &generator)), using: &generator)
        }
        if normFirst {
            let h = residual + attention(norm1(x))
            return h + feedForward(norm2(h))
        }
        let h = norm1(residual + attention(x))
        return norm2(h + feedForward(h))
    }
}

import Tensors

/// Multi-head scaled dot-product self-attention (Vaswani et al. 2017), laid out as
/// `torch.nn.MultiheadAttention(embed_dim, num_heads, batch_first=True)`.
///
/// Legend: `B` batch, `L` steps, `E` width, `A` heads, `D = E / A` per head. Forward:
/// ```
/// q, k, v = split(x · W_inᵀ + b_in)                      each (B, L, E) → (B·A, L, D)
/// p = softmax((q / √D) · kᵀ + mask)                       (B·A, L, L), causal optionally
/// y = merge(dropout(p) · v) · W_outᵀ + b_out              (B, L, E)
/// ```
/// The middle line is one fused operation, ``Tensors/Variable/selfAttention(heads:causal:keep:dropout:seed:)``,
/// which never holds the `(B·A, L, L)` probabilities of the whole batch; `lastStepOnly`
/// inference composes it from batched products and a softmax.
///
/// Keys: `in_proj_weight` `(3E, E)`, `in_proj_bias` `(3E)`, `out_proj.weight` `(E, E)`,
/// `out_proj.bias` `(E)`.
public struct MultiheadAttention<Scalar: TensorScalar>: Layer {
    /// `A`.
    public let heads: Int
    /// `(3E, E)`: query, key and value projections stacked.
    public let inProjectionWeight: Parameter<Scalar>
    /// `(3E)`.
    public let inProjectionBias: Parameter<Scalar>
    /// The output projection, `E → E`.
    public let outProjection: Linear<Scalar>
    /// Dropout on the attention probabilities.
    public let dropout: Dropout<Scalar>

    /// torch's initialization: Xavier-uniform input projection, zero biases, default `Linear`
    /// output weight.
    public init(
        width: Int, heads: Int, dropout: Scalar = 0, using generator: inout some RandomNumberGenerator
    ) {
        checkArgument(
            heads > 0 && width % heads == 0, "MultiheadAttention: width \(width) not divisible by \(heads) heads")
        self.heads = heads
        inProjectionWeight = Parameter(Initializer.xavierUniform(shape: [3 * width, width], using: &generator))
        inProjectionBias = Parameter(Tensor(zeros: [3 * width]))
        outProjection = Linear(inputSize: width, outputSize: width, using: &generator)
        if let bias = outProjection.bias { bias.value = Tensor(zeros: [width]) }
        self.dropout = Dropout(probability: dropout)
    }

    public var namedParameters: [(name: String, parameter: Parameter<Scalar>)] {
        [("in_proj_weight", inProjectionWeight), ("in_proj_bias", inProjectionBias)]
            + outProjection.namedParameters(prefix: "out_proj")
    }

    /// Self-attention over `x (B, L, E)`.
    ///
    /// - Parameters:
    ///   - causal: Step `i` attends only to steps `≤ i`.
    ///   - keep: Optional key-padding flags, `B · L`, false for padding keys. A query whose keys
    ///     are all hidden gets zeros (not NaN).
    ///   - lastStepOnly: Compute the output of the last step only. Its query sees every step
    ///     (the causal mask hides nothing from it), so this is the last row of the full output
    ///     for a fraction of the work: what inference after a whole sequence needs.
    /// - Returns: `(B, L, E)`, or `(B, 1, E)` with `lastStepOnly`.
    public func callAsFunction(
        _ x: Variable<Scalar>, causal: Bool = false, keep: [Bool]? = nil, lastStepOnly: Bool = false,
        using generator: inout some RandomNumberGenerator
    ) -> Variable<Scalar> {
        let width = inProjectionWeight.shape[1]
        checkArgument(
            x.shape.count == 3 && x.shape[2] == width, "MultiheadAttention: input \(x.shape) is not (B, L, \(width))")
        let (batch, steps, d) = (x.shape[0], x.shape[1], width / heads)
        let qkv = x.matmul(x.parameter(inProjectionWeight), transposeOther: true) + x.parameter(inProjectionBias)
        if !lastStepOnly {
            let rate = x.isRecording ? dropout.probability : 0
            let seed = rate > 0 ? generator.next() : 0
            return outProjection(
                qkv.selfAttention(heads: heads, causal: causal, keep: keep, dropout: rate, seed: seed))
        }
        // The last step's query sees every key (the causal mask hides nothing from it): one
        // (1, L) row of scores per unit.
        func split(_ part: Int) -> Variable<Scalar> {
            qkv.slice(axis: 2, (part * width)..<((part + 1) * width)).reshaped([batch, steps, heads, d])
                .permuted([0, 2, 1, 3]).reshaped([batch * heads, steps, d])
        }
        let (q, k, v) = (split(0).slice(axis: 1, (steps - 1)..<steps), split(1), split(2))
        // Scaling q rather than the scores touches L / D times fewer elements (torch does the same).
        var scores = q.affine(scale: 1 / Scalar.sqrt(Scalar(d))).matmul(k, transposeOther: true)
        if let keep {
            checkArgument(
                keep.count == batch * steps, "MultiheadAttention: \(keep.count) padding flags for \(batch)×\(steps)")
            let mask = x.constant(Tensor.additiveMask(keep: keep, shape: [batch, 1, 1, steps]))
            scores = (scores.reshaped([batch, heads, 1, steps]) + mask).reshaped([batch * heads, 1, steps])
        }
        let probabilities = dropout(scores.softmax(), using: &generator)
        let merged = probabilities.matmul(v).reshaped([batch, heads, 1, d]).permuted([0, 2, 1, 3])
            .reshaped([batch, 1, width])
        return outProjection(merged)
    }
}

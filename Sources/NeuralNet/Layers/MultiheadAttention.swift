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
/// Without dropout on the probabilities (its probability 0, or not training) the middle line is
/// one fused operation, ``Tensors/Variable/selfAttention(heads:causal:keep:)``; otherwise it is
/// composed from batched products and a softmax, which keep the `(B·A, L, L)` probabilities.
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
        precondition(
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
        precondition(
            x.shape.count == 3 && x.shape[2] == width, "MultiheadAttention: input \(x.shape) is not (B, L, \(width))")
        let (batch, steps, d) = (x.shape[0], x.shape[1], width / heads)
        let qkv = x.matmul(x.parameter(inProjectionWeight), transposeOther: true) + x.parameter(inProjectionBias)
        if !lastStepOnly && (dropout.probability == 0 || !x.isRecording) {
            // No dropout on the probabilities: the fused kernel, which never holds all the scores.
            return outProjection(qkv.selfAttention(heads: heads, causal: causal, keep: keep))
        }
        func split(_ part: Int) -> Variable<Scalar> {
            qkv.slice(axis: 2, (part * width)..<((part + 1) * width)).reshaped([batch, steps, heads, d])
                .permuted([0, 2, 1, 3]).reshaped([batch * heads, steps, d])
        }
        let (k, v) = (split(1), split(2))
        let q = lastStepOnly ? split(0).slice(axis: 1, (steps - 1)..<steps) : split(0)
        let queries = lastStepOnly ? 1 : steps
        // Scaling q `(B·A, L, D)` rather than the scores `(B·A, L, L)` touches L / D times fewer
        // elements (torch does the same).
        var scores = q.affine(scale: 1 / Scalar.sqrt(Scalar(d))).matmul(k, transposeOther: true)
        if let keep {
            precondition(
                keep.count == batch * steps, "MultiheadAttention: \(keep.count) padding flags for \(batch)×\(steps)")
            let mask = x.constant(Tensor.additiveMask(keep: keep, shape: [batch, 1, 1, steps]))
            scores = (scores.reshaped([batch, heads, queries, steps]) + mask).reshaped([
                batch * heads, queries, steps,
            ])
        }
        let probabilities = dropout(scores.softmax(causal: causal && !lastStepOnly), using: &generator)
        let merged = probabilities.matmul(v).reshaped([batch, heads, queries, d]).permuted([0, 2, 1, 3])
            .reshaped([batch, queries, width])
        return outProjection(merged)
    }
}

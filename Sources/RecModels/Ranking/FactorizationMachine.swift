import NeuralNet
import RecData
import Tensors

/// A click-through network: one logit per example from the field indices of a batch.
public protocol CTRNetwork: Layer {
    /// `(count)` logits; the probability of a click is their sigmoid.
    func logits(_ x: FieldIndices, on tape: Tape<Scalar>) -> Variable<Scalar>
}

/// The second-order term of a factorization machine over field embeddings `e (N, F, D)`:
/// `0.5 · Σ_d ((Σ_f e_fd)² - Σ_f e_fd²)`, which is `Σ_{f<g} ⟨e_f, e_g⟩` in O(F·D) (Rendle 2010,
/// lemma 3.1). Returns `(N, 1)`.
public func pairwiseInteraction<Scalar: TensorScalar>(_ e: Variable<Scalar>) -> Variable<Scalar> {
    let sum = e.sum(alongAxes: [1])
    let squares = (e * e).sum(alongAxes: [1])
    return (sum * sum - squares).sum(alongAxes: [1], keepingDimensions: true) * 0.5
}

/// Rendle's factorization machine (ICDM 2010), `fm`: `y = b + Σ_f w_f + Σ_{f<g} ⟨v_f, v_g⟩` over
/// every field (multi-hot fields enter as the mean of their entries, as in RecBole and FuxiCTR).
///
/// Keys: `bias` `(1)`, `fields.embedding.weight`, `fields.linear.weight`.
public struct FactorizationMachine<Scalar: TensorScalar>: CTRNetwork {
    public let fields: FieldEmbedding<Scalar>
    public let bias: Parameter<Scalar>
    /// Whether the pairwise term is used; without it the model is logistic regression over the
    /// same fields (the first-order baseline of the planted-interaction test).
    public let pairwise: Bool

    public init(rows: Int, dimension: Int, pairwise: Bool = true, using generator: inout some RandomNumberGenerator) {
        fields = FieldEmbedding(rows: rows, dimension: dimension, firstOrder: true, using: &generator)
        bias = Parameter(Tensor(zeros: [1]))
        self.pairwise = pairwise
    }

    public var namedParameters: [(name: String, parameter: Parameter<Scalar>)] {
        [("bias", bias)] + fields.namedParameters(prefix: "fields")
    }

    public func logits(_ x: FieldIndices, on tape: Tape<Scalar>) -> Variable<Scalar> {
        var y = fields.firstOrder(x, on: tape) + tape.parameter(bias)
        if pairwise { y = y + pairwiseInteraction(fields(x, on: tape)) }
        return y.reshaped([x.count])
    }
}

/// DeepFM (Guo et al., IJCAI 2017), `deepfm`: a factorization machine and an MLP over the
/// concatenated field embeddings, sharing the embeddings; their logits add.
///
/// Keys: those of ``FactorizationMachine`` under `fm.`, and `mlp.0.weight`, … of
/// `(F·D) → hidden… → 1` with ReLU between layers.
public struct DeepFM<Scalar: TensorScalar>: CTRNetwork {
    public let fm: FactorizationMachine<Scalar>
    public let mlp: MLP<Scalar>
    let fieldCount: Int

    /// - Parameters:
    ///   - fieldCount: Fields after pooling: single fields plus bags.
    ///   - hidden: Hidden layer sizes of the MLP.
    public init(
        rows: Int, dimension: Int, fieldCount: Int, hidden: [Int], using generator: inout some RandomNumberGenerator
    ) {
        fm = FactorizationMachine(rows: rows, dimension: dimension, using: &generator)
        mlp = MLP(sizes: [fieldCount * dimension] + hidden + [1], using: &generator)
        self.fieldCount = fieldCount
    }

    public var namedParameters: [(name: String, parameter: Parameter<Scalar>)] {
        fm.namedParameters(prefix: "fm") + mlp.namedParameters(prefix: "mlp")
    }

    public func logits(_ x: FieldIndices, on tape: Tape<Scalar>) -> Variable<Scalar> {
        let e = fm.fields(x, on: tape)
        let wide = fm.fields.firstOrder(x, on: tape) + tape.parameter(fm.bias) + pairwiseInteraction(e)
        let deep = mlp(e.reshaped([x.count, e.shape[1] * e.shape[2]]))
        return (wide + deep).reshaped([x.count])
    }
}

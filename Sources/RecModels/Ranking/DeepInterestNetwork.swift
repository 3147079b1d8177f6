import NeuralNet
import RecData
import Tensors

/// DIN's local activation unit (Zhou et al., KDD 2018): the weight of each behaviour `k_t` for a
/// candidate `q` is `MLP([q, k_t, q - k_t, q ⊙ k_t])`, and the user's interest is
/// `Σ_t mask_t · w_t · k_t`: no softmax, as in the paper, so the weights keep the strength of
/// the interest; padded positions get weight 0.
///
/// Keys: `mlp.0.weight`, … of `4D → hidden → 1` (ReLU between layers; the paper's PReLU/Dice
/// is replaced by ReLU).
public struct AttentionPooling<Scalar: TensorScalar>: Layer {
    public let mlp: MLP<Scalar>

    public init(dimension: Int, hidden: Int, using generator: inout some RandomNumberGenerator) {
        mlp = MLP(sizes: [4 * dimension, hidden, 1], using: &generator)
    }

    public var namedParameters: [(name: String, parameter: Parameter<Scalar>)] { mlp.namedParameters(prefix: "mlp") }

    /// - Parameters:
    ///   - query: `(N, 1, D)`, the candidate.
    ///   - keys: `(N, T, D)`, the behaviours.
    ///   - mask: `(N, T, 1)`, 1 for a behaviour, 0 for padding.
    /// - Returns: `(N, D)`.
    public func callAsFunction(
        query: Variable<Scalar>, keys: Variable<Scalar>, mask: Tensor<Scalar>
    ) -> Variable<Scalar> {
        let q = query + keys.constant(Tensor(zeros: keys.shape))  // broadcast to (N, T, D)
        let features = Variable.concatenate([q, keys, q - keys, q * keys], axis: 2)
        let weights = mlp(features) * keys.constant(mask)
        return (weights * keys).sum(alongAxes: [1])
    }
}

/// Deep Interest Network (Zhou et al., KDD 2018), `din`: the behaviour sequence is pooled by
/// attention against the candidate item (``AttentionPooling``), the other fields as the others
/// embed them, and an MLP over all of them outputs the logit.
///
/// Keys: `fields.embedding.weight`, `attention.mlp.…`, `mlp.…`.
public struct DeepInterestNetwork<Scalar: TensorScalar>: CTRNetwork {
    public let fields: FieldEmbedding<Scalar>
    public let attention: AttentionPooling<Scalar>
    public let mlp: MLP<Scalar>
    /// The position of the candidate item among the single fields.
    let itemField: Int

    /// - Parameter fieldCount: Fields after pooling, the behaviour sequence included.
    public init(
        rows: Int, dimension: Int, fieldCount: Int, itemField: Int, attentionHidden: Int, hidden: [Int],
        using generator: inout some RandomNumberGenerator
    ) {
        fields = FieldEmbedding(rows: rows, dimension: dimension, firstOrder: false, using: &generator)
        attention = AttentionPooling(dimension: dimension, hidden: attentionHidden, using: &generator)
        mlp = MLP(sizes: [fieldCount * dimension] + hidden + [1], using: &generator)
        self.itemField = itemField
    }

    public var namedParameters: [(name: String, parameter: Parameter<Scalar>)] {
        fields.namedParameters(prefix: "fields") + attention.namedParameters(prefix: "attention")
            + mlp.namedParameters(prefix: "mlp")
    }

    public func logits(_ x: FieldIndices, on tape: Tape<Scalar>) -> Variable<Scalar> {
        let history = x.bags.count - 1
        let e = fields(x, bags: 0..<history, on: tape)
        let query = e.slice(axis: 1, itemField..<(itemField + 1))
        let keys = fields.sequence(x, bag: history, on: tape)
        let interest = attention(query: query, keys: keys, mask: x.mask(history))
        let d = fields.dimension
        let joined = Variable.concatenate(
            [e.reshaped([x.count, e.shape[1] * d]), interest], axis: 1)
        return mlp(joined).reshaped([x.count])
    }
}

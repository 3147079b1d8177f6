import NeuralNet
import Tensors

/// Additive attention of RepeatNet (Ren et al. 2019, eq. 3, 5 and 8; the authors' `Attention`):
/// `e_τ = vᵀ tanh(U h_τ + W h_T)` over the encoder states `h_τ`, the newest state `h_T` as the
/// query, softmax over the real (unpadded) positions. Keys `memory.weight`, `query.weight`,
/// `score.weight`, none with a bias, as in the authors' code.
public struct AdditiveAttention<Scalar: TensorScalar>: Layer {
    public let memory: Linear<Scalar>
    public let query: Linear<Scalar>
    public let score: Linear<Scalar>

    init(hiddenSize: Int, generator: inout SplitMix64) {
        memory = Linear(inputSize: hiddenSize, outputSize: hiddenSize, bias: false, using: &generator)
        query = Linear(inputSize: hiddenSize, outputSize: hiddenSize, bias: false, using: &generator)
        score = Linear(inputSize: hiddenSize, outputSize: 1, bias: false, using: &generator)
    }

    public var namedParameters: [(name: String, parameter: Parameter<Scalar>)] {
        memory.namedParameters(prefix: "memory") + query.namedParameters(prefix: "query")
            + score.namedParameters(prefix: "score")
    }

    /// The weights `(B, L)` over `states (B, L, H)` for `last (B, H)`; `mask (B, L)` is 0 on
    /// real positions and −∞ on padding; `bias (B, L)`, when given, is added to the scores
    /// `e_τ` before the softmax. A row with no real position gets zeros.
    func weights(
        _ states: Variable<Scalar>, last: Variable<Scalar>, mask: Tensor<Scalar>, bias: Variable<Scalar>? = nil
    ) -> Variable<Scalar> {
        let (rows, length, h) = (states.shape[0], states.shape[1], states.shape[2])
        let e = score((memory(states) + query(last).reshaped([rows, 1, h])).tanh()).reshaped([rows, length])
        return ((bias.map { e + $0 } ?? e) + states.constant(mask)).softmax()
    }

    /// The attended state `Σ α_τ h_τ`, `(B, H)`, with the weights.
    func context(_ states: Variable<Scalar>, last: Variable<Scalar>, mask: Tensor<Scalar>)
        -> (context: Variable<Scalar>, weights: Variable<Scalar>)
    {
        let (rows, length, h) = (states.shape[0], states.shape[1], states.shape[2])
        let alpha = weights(states, last: last, mask: mask)
        return (alpha.reshaped([rows, 1, length]).matmul(states).reshaped([rows, h]), alpha)
    }
}

/// What RepeatNet knows of baskets: each position's basket age, the number of baskets between
/// its basket and the one being predicted (0: the same basket, still open; capped at
/// `maxAge`). Two tables over the ages: `embedding` `(maxAge + 1, E)`, added to the item
/// embedding as the GRU's input, and `repeat_bias` `(maxAge + 1, 1)`, added to the repeat
/// attention's score of the position. With the attention's own scores equal, the repeat
/// decoder then gives an item `Σ exp(b[age]) / Z` over its purchases: a personal frequency with
/// a learned decay by baskets (what `repeat` computes with a fixed half-life), and a learned
/// weight for the open basket's items (what `repeat`'s `open_basket` sets to zero).
public struct BasketAgeEncoding<Scalar: TensorScalar>: Layer {
    public let maxAge: Int
    public let embedding: Embedding<Scalar>
    public let repeatBias: Embedding<Scalar>

    init(maxAge: Int, embeddingSize: Int, generator: inout SplitMix64) {
        self.maxAge = maxAge
        embedding = Embedding(count: maxAge + 1, dimension: embeddingSize, using: &generator)
        repeatBias = Embedding(count: maxAge + 1, dimension: 1, using: &generator)
    }

    public var namedParameters: [(name: String, parameter: Parameter<Scalar>)] {
        embedding.namedParameters(prefix: "embedding") + repeatBias.namedParameters(prefix: "repeat_bias")
    }

    func capped(_ ages: [Int32]) -> [Int32] { ages.map { min(max($0, 0), Int32(maxAge)) } }

    /// `(B, L, E)`: each position's age vector.
    func vectors(_ ages: [Int32], rows: Int, length: Int, on tape: Tape<Scalar>) -> Variable<Scalar> {
        embedding(capped(ages), shape: [rows, length], on: tape)
    }

    /// `(B, L)`: each position's repeat-score bias.
    func bias(_ ages: [Int32], rows: Int, length: Int, on tape: Tape<Scalar>) -> Variable<Scalar> {
        repeatBias(capped(ages), shape: [rows, length], on: tape).reshaped([rows, length])
    }
}

/// RepeatNet's network: a GRU encoder, the repeat/explore mechanism and the two decoders, with
/// the positions' basket ages (``BasketAgeEncoding``) in the GRU's input and the repeat scores.
public struct RepeatNetNetwork<Scalar: TensorScalar>: Layer {
    public let items: Int
    public let itemEmbedding: Embedding<Scalar>
    public let ages: BasketAgeEncoding<Scalar>
    public let gru: GRU<Scalar>
    /// The repeat/explore mechanism's attention and its linear map to the two modes.
    public let modeAttention: AdditiveAttention<Scalar>
    public let mode: Linear<Scalar>
    /// The repeat decoder's attention: its weights are the repeat probabilities.
    public let repeatAttention: AdditiveAttention<Scalar>
    /// The explore decoder's attention and its map from `[context; h_T]` to every item.
    public let exploreAttention: AdditiveAttention<Scalar>
    public let explore: Linear<Scalar>
    public let dropout: Dropout<Scalar>

    init(
        items: Int, embeddingSize: Int, hiddenSize: Int, maxAge: Int, dropout: Float, generator: inout SplitMix64
    ) {
        self.items = items
        itemEmbedding = Embedding(count: items + 1, dimension: embeddingSize, paddingIndex: 0, using: &generator)
        gru = GRU(inputSize: embeddingSize, hiddenSize: hiddenSize, using: &generator)
        modeAttention = AdditiveAttention(hiddenSize: hiddenSize, generator: &generator)
        mode = Linear(inputSize: hiddenSize, outputSize: 2, bias: false, using: &generator)
        repeatAttention = AdditiveAttention(hiddenSize: hiddenSize, generator: &generator)
        exploreAttention = AdditiveAttention(hiddenSize: hiddenSize, generator: &generator)
        explore = Linear(inputSize: 2 * hiddenSize, outputSize: items, bias: false, using: &generator)
        // Drawn last, so that the other layers start as they did before the ages existed.
        ages = BasketAgeEncoding(maxAge: maxAge, embeddingSize: embeddingSize, generator: &generator)
        self.dropout = Dropout(probability: Scalar(dropout))
    }

    public var namedParameters: [(name: String, parameter: Parameter<Scalar>)] {
        itemEmbedding.namedParameters(prefix: "item_embedding") + ages.namedParameters(prefix: "basket_age")
            + gru.namedParameters(prefix: "gru")
            + modeAttention.namedParameters(prefix: "mode_attention") + mode.namedParameters(prefix: "mode")
            + repeatAttention.namedParameters(prefix: "repeat_attention")
            + exploreAttention.namedParameters(prefix: "explore_attention")
            + explore.namedParameters(prefix: "explore")
    }

    /// One forward pass over a right-padded batch.
    public struct Output {
        /// `(B, items)`: `P(i) = P(repeat) P_r(i) + P(explore) P_e(i)`.
        public var probabilities: Variable<Scalar>
        /// `(B, 2)`: `P(repeat)`, `P(explore)`.
        public var modes: Variable<Scalar>
        /// `(B, items)` each: the repeat and explore decoders' distributions.
        public var repeatProbabilities: Variable<Scalar>
        public var exploreProbabilities: Variable<Scalar>
        /// `(B, L)`: the explore decoder's attention over the positions.
        public var exploreWeights: Variable<Scalar>
    }

    /// `ages` holds each token's basket age (``BasketAgeEncoding``), `rows × length` like the
    /// batch's tokens; padding's entries are ignored.
    public func forward(
        _ batch: SequenceBatch, ages basketAges: [Int32], on tape: Tape<Scalar>, generator: inout SplitMix64
    ) -> Output {
        let (rows, length) = (batch.rows, batch.length)
        checkArgument(basketAges.count == rows * length, "RepeatNet: \(basketAges.count) ages for \(rows)×\(length)")
        let embedded =
            itemEmbedding(batch.tokens, shape: [rows, length], on: tape)
            + ages.vectors(basketAges, rows: rows, length: length, on: tape)
        let states = gru(embedded).output
        let h = states.shape[2]
        // The state after each row's newest item (the padding state at column 0 for an empty row).
        let lastRows = (0..<rows).flatMap { r in
            let row = r * length + max(0, batch.lengths[r] - 1)
            return (0..<h).map { row * h + $0 }
        }
        let last = dropout(states.gatherElements(lastRows, shape: [rows, h]), using: &generator)
        let memory = dropout(states, using: &generator)
        var keep = [Bool](repeating: false, count: rows * length)
        var toItems = [Int](repeating: -1, count: rows * length)
        var seen = [Bool](repeating: false, count: rows * items)
        for r in 0..<rows {
            for t in 0..<batch.lengths[r] {
                let item = Int(batch.tokens[r * length + t]) - 1
                keep[r * length + t] = true
                toItems[r * length + t] = r * items + item
                seen[r * items + item] = true
            }
        }
        let positionMask = Tensor<Scalar>.additiveMask(keep: keep, shape: [rows, length])
        let modeContext = modeAttention.context(memory, last: last, mask: positionMask).context
        let modes = mode(modeContext).softmax()
        let repeatProbabilities = repeatAttention.weights(
            memory, last: last, mask: positionMask, bias: ages.bias(basketAges, rows: rows, length: length, on: tape)
        ).scatterAdd(toItems, shape: [rows, items])
        let (exploreContext, exploreWeights) = exploreAttention.context(memory, last: last, mask: positionMask)
        let itemMask = Tensor<Scalar>.additiveMask(keep: seen.map { !$0 }, shape: [rows, items])
        let exploreProbabilities =
            (explore(Variable.concatenate([exploreContext, last], axis: 1))
            + tape.constant(itemMask)).softmax()
        let pRepeat = modes.gatherElements((0..<rows).map { 2 * $0 }, shape: [rows, 1])
        let pExplore = modes.gatherElements((0..<rows).map { 2 * $0 + 1 }, shape: [rows, 1])
        return Output(
            probabilities: pRepeat * repeatProbabilities + pExplore * exploreProbabilities, modes: modes,
            repeatProbabilities: repeatProbabilities, exploreProbabilities: exploreProbabilities,
            exploreWeights: exploreWeights)
    }

    /// The mean of `−log(P(target) + epsilon)` over the `(row, item)` pairs of `targets`.
    public func loss(_ output: Output, targets: [(row: Int, item: Int32)], epsilon: Scalar = 1e-8) -> Variable<Scalar> {
        let picked = output.probabilities.gatherElements(
            targets.map { $0.row * items + Int($0.item) }, shape: [targets.count])
        return -(picked + epsilon).log().mean()
    }
}

import NeuralNet
import Tensors

/// Additive attention of RepeatNet (Ren et al. 2019, eq. 3, 5 and 8; the authors' `Attention`):
/// `e_τ = vᵀ tanh(U h_τ + W h_T)` over the encoder states `h_τ`, the newest state `h_T` as the
/// query, softmax over the real (unpadded) positions. Keys `memory.weight`, `query.weight`,
/// `score.weight`, none with a bias, as in the authors' code.
public struct AdditiveAttention: Layer {
    public typealias Scalar = Float
    public let memory: Linear<Float>
    public let query: Linear<Float>
    public let score: Linear<Float>

    init(hiddenSize: Int, generator: inout SplitMix64) {
        memory = Linear(inputSize: hiddenSize, outputSize: hiddenSize, bias: false, using: &generator)
        query = Linear(inputSize: hiddenSize, outputSize: hiddenSize, bias: false, using: &generator)
        score = Linear(inputSize: hiddenSize, outputSize: 1, bias: false, using: &generator)
    }

    public var namedParameters: [(name: String, parameter: Parameter<Float>)] {
        memory.namedParameters(prefix: "memory") + query.namedParameters(prefix: "query")
            + score.namedParameters(prefix: "score")
    }

    /// The weights `(B, L)` over `states (B, L, H)` for `last (B, H)`; `mask (B, L)` is 0 on
    /// real positions and −∞ on padding. A row with no real position gets zeros.
    func weights(_ states: Variable<Float>, last: Variable<Float>, mask: Tensor<Float>) -> Variable<Float> {
        let (rows, length, h) = (states.shape[0], states.shape[1], states.shape[2])
        let e = score((memory(states) + query(last).reshaped([rows, 1, h])).tanh())
        return (e.reshaped([rows, length]) + states.constant(mask)).softmax()
    }

    /// The attended state `Σ α_τ h_τ`, `(B, H)`, with the weights.
    func context(_ states: Variable<Float>, last: Variable<Float>, mask: Tensor<Float>)
        -> (context: Variable<Float>, weights: Variable<Float>)
    {
        let (rows, length, h) = (states.shape[0], states.shape[1], states.shape[2])
        let alpha = weights(states, last: last, mask: mask)
        return (alpha.reshaped([rows, 1, length]).matmul(states).reshaped([rows, h]), alpha)
    }
}

/// RepeatNet's network: a GRU encoder, the repeat/explore mechanism and the two decoders.
public struct RepeatNetNetwork: Layer {
    public typealias Scalar = Float
    public let items: Int
    public let itemEmbedding: Embedding<Float>
    public let gru: GRU<Float>
    /// The repeat/explore mechanism's attention and its linear map to the two modes.
    public let modeAttention: AdditiveAttention
    public let mode: Linear<Float>
    /// The repeat decoder's attention: its weights are the repeat probabilities.
    public let repeatAttention: AdditiveAttention
    /// The explore decoder's attention and its map from `[context; h_T]` to every item.
    public let exploreAttention: AdditiveAttention
    public let explore: Linear<Float>
    public let dropout: Dropout<Float>

    init(items: Int, embeddingSize: Int, hiddenSize: Int, dropout: Float, generator: inout SplitMix64) {
        self.items = items
        itemEmbedding = Embedding(count: items + 1, dimension: embeddingSize, paddingIndex: 0, using: &generator)
        gru = GRU(inputSize: embeddingSize, hiddenSize: hiddenSize, using: &generator)
        modeAttention = AdditiveAttention(hiddenSize: hiddenSize, generator: &generator)
        mode = Linear(inputSize: hiddenSize, outputSize: 2, bias: false, using: &generator)
        repeatAttention = AdditiveAttention(hiddenSize: hiddenSize, generator: &generator)
        exploreAttention = AdditiveAttention(hiddenSize: hiddenSize, generator: &generator)
        explore = Linear(inputSize: 2 * hiddenSize, outputSize: items, bias: false, using: &generator)
        self.dropout = Dropout(probability: dropout)
    }

    public var namedParameters: [(name: String, parameter: Parameter<Float>)] {
        itemEmbedding.namedParameters(prefix: "item_embedding") + gru.namedParameters(prefix: "gru")
            + modeAttention.namedParameters(prefix: "mode_attention") + mode.namedParameters(prefix: "mode")
            + repeatAttention.namedParameters(prefix: "repeat_attention")
            + exploreAttention.namedParameters(prefix: "explore_attention")
            + explore.namedParameters(prefix: "explore")
    }

    /// One forward pass over a right-padded batch.
    public struct Output {
        /// `(B, items)`: `P(i) = P(repeat) P_r(i) + P(explore) P_e(i)`.
        public var probabilities: Variable<Float>
        /// `(B, 2)`: `P(repeat)`, `P(explore)`.
        public var modes: Variable<Float>
        /// `(B, items)` each: the repeat and explore decoders' distributions.
        public var repeatProbabilities: Variable<Float>
        public var exploreProbabilities: Variable<Float>
        /// `(B, L)`: the explore decoder's attention over the positions.
        public var exploreWeights: Variable<Float>
    }

    public func forward(_ batch: SequenceBatch, on tape: Tape<Float>, generator: inout SplitMix64) -> Output {
        let (rows, length) = (batch.rows, batch.length)
        let embedded = itemEmbedding(batch.tokens, shape: [rows, length], on: tape)
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
        let positionMask = Tensor<Float>.additiveMask(keep: keep, shape: [rows, length])
        let modeContext = modeAttention.context(memory, last: last, mask: positionMask).context
        let modes = mode(modeContext).softmax()
        let repeatProbabilities = repeatAttention.weights(memory, last: last, mask: positionMask)
            .scatterAdd(toItems, shape: [rows, items])
        let (exploreContext, exploreWeights) = exploreAttention.context(memory, last: last, mask: positionMask)
        let itemMask = Tensor<Float>.additiveMask(keep: seen.map { !$0 }, shape: [rows, items])
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

    /// The mean of `−log(P(target) + epsilon)` over the rows; `targets` are item indices.
    public func loss(_ output: Output, targets: [Int32], epsilon: Float = 1e-8) -> Variable<Float> {
        let rows = targets.count
        let picked = output.probabilities.gatherElements(
            targets.enumerated().map { $0.offset * items + Int($0.element) }, shape: [rows])
        return -(picked + epsilon).log().mean()
    }
}

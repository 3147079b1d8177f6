import Tensors

/// A multi-layer long short-term memory over batch-first sequences
/// (`torch.nn.LSTM(batch_first=True)`; Hochreiter & Schmidhuber 1997).
///
/// Legend: `B` batch, `L` steps, `H` hidden size. Gate rows ordered `i, f, g, o` as in torch:
/// ```
/// i = σ(W_ii x + b_ii + W_hi h + b_hi)     f = σ(W_if x + b_if + W_hf h + b_hf)
/// g = tanh(W_ig x + b_ig + W_hg h + b_hg)  o = σ(W_io x + b_io + W_ho h + b_ho)
/// c' = f ⊙ c + i ⊙ g                        h' = o ⊙ tanh(c')
/// ```
/// The input projection of all steps is one GEMM; the recurrence is one tape operation
/// (``Variable/lstmSequence(inputGates:hiddenWeight:hiddenBias:initialHidden:initialCell:)``,
/// each core running its rows of the batch through time, forward and backward).
///
/// Keys as ``GRU``'s, with `4H` gate rows.
public struct LSTM<Scalar: TensorScalar>: Layer {
    /// `H`.
    public let hiddenSize: Int
    /// Per layer weights.
    public let cells: [RecurrentWeights<Scalar>]

    /// Weights drawn from `U(-1/√H, 1/√H)`, torch's default.
    public init(inputSize: Int, hiddenSize: Int, layers: Int = 1, using generator: inout some RandomNumberGenerator) {
        self.hiddenSize = hiddenSize
        cells = (0..<layers).map { layer in
            RecurrentWeights(
                inputSize: layer == 0 ? inputSize : hiddenSize, hiddenSize: hiddenSize, gates: 4, using: &generator)
        }
    }

    public var namedParameters: [(name: String, parameter: Parameter<Scalar>)] {
        cells.enumerated().flatMap { $0.element.namedParameters(layer: $0.offset) }
    }

    /// Runs `x (B, L, I)` from `initial` hidden and cell states, each `(layers, B, H)` (zeros
    /// when `nil`).
    ///
    /// - Returns: The last layer's outputs `(B, L, H)` and the final `h` and `c`, each `(layers, B, H)`.
    public func callAsFunction(
        _ x: Variable<Scalar>, initial: (hidden: Variable<Scalar>, cell: Variable<Scalar>)? = nil
    ) -> (output: Variable<Scalar>, hidden: Variable<Scalar>, cell: Variable<Scalar>) {
        checkArgument(
            x.shape.count == 3 && x.shape[2] == cells[0].inputSize,
            "LSTM: input \(x.shape) is not (batch, steps, \(cells[0].inputSize))")
        let (batch, steps, h) = (x.shape[0], x.shape[1], hiddenSize)
        if let initial {
            checkArgument(
                initial.hidden.shape == [cells.count, batch, h] && initial.cell.shape == [cells.count, batch, h],
                "LSTM: initial states \(initial.hidden.shape) and \(initial.cell.shape) are not [\(cells.count), \(batch), \(h)]"
            )
        }
        func start(_ state: Variable<Scalar>?, _ layer: Int) -> Variable<Scalar> {
            state.map { $0.slice(axis: 0, layer..<(layer + 1)).reshaped([batch, h]) }
                ?? x.constant(Tensor(zeros: [batch, h]))
        }
        var input = x
        var hiddens: [Variable<Scalar>] = []
        var memories: [Variable<Scalar>] = []
        for (layer, cell) in cells.enumerated() {
            let w = cell.bind(on: x)
            let projected = input.matmul(w.ih, transposeOther: true) + w.bih  // (B, L, 4H)
            let packed = Variable.lstmSequence(
                inputGates: projected, hiddenWeight: w.hh, hiddenBias: w.bhh,
                initialHidden: start(initial?.hidden, layer),
                initialCell: start(initial?.cell, layer))  // (B, L, 2H): [h | c] per step
            input = packed.slice(axis: 2, 0..<h)
            let last =
                steps > 0
                ? packed.slice(axis: 1, (steps - 1)..<steps).reshaped([batch, 2 * h])
                : Variable.concatenate([start(initial?.hidden, layer), start(initial?.cell, layer)], axis: 1)
            hiddens.append(last.slice(axis: 1, 0..<h).reshaped([1, batch, h]))
            memories.append(last.slice(axis: 1, h..<(2 * h)).reshaped([1, batch, h]))
        }
        return (input, Variable.concatenate(hiddens, axis: 0), Variable.concatenate(memories, axis: 0))
    }
}

import Tensors

/// A multi-layer gated recurrent unit over batch-first sequences (`torch.nn.GRU(batch_first=True)`;
/// Cho et al. 2014).
///
/// Legend: `B` batch, `L` steps, `I` input size, `H` hidden size. Per layer and step, with the
/// gate rows of the weights ordered `r, z, n` as in torch:
/// ```
/// r = σ(W_ir x + b_ir + W_hr h + b_hr)
/// z = σ(W_iz x + b_iz + W_hz h + b_hz)
/// n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
/// h' = (1 - z) ⊙ n + z ⊙ h
/// ```
/// The input projection of all steps is one GEMM; the recurrence is one tape operation
/// (``Variable/gruSequence(inputGates:hiddenWeight:hiddenBias:initial:)``: per step a
/// `(B, H)·(H, 3H)` GEMM and the fused cell, each core running its rows of the batch through
/// time, forward and backward).
///
/// Keys per layer `k`: `weight_ih_l{k}` `(3H, I or H)`, `weight_hh_l{k}` `(3H, H)`,
/// `bias_ih_l{k}`, `bias_hh_l{k}` `(3H)`.
public struct GRU<Scalar: TensorScalar>: Layer {
    /// `H`.
    public let hiddenSize: Int
    /// Per layer: `(weightIH, weightHH, biasIH, biasHH)`.
    public let cells: [RecurrentWeights<Scalar>]

    /// Weights drawn from `U(-1/√H, 1/√H)`, torch's default.
    public init(inputSize: Int, hiddenSize: Int, layers: Int = 1, using generator: inout some RandomNumberGenerator) {
        self.hiddenSize = hiddenSize
        cells = (0..<layers).map { layer in
            RecurrentWeights(
                inputSize: layer == 0 ? inputSize : hiddenSize, hiddenSize: hiddenSize, gates: 3, using: &generator)
        }
    }

    public var namedParameters: [(name: String, parameter: Parameter<Scalar>)] {
        cells.enumerated().flatMap { $0.element.namedParameters(layer: $0.offset) }
    }

    /// Runs the sequence `x (B, L, I)` from `initial` hidden states `(layers, B, H)` (zeros when `nil`).
    ///
    /// - Returns: The last layer's outputs `(B, L, H)` and each layer's final state `(layers, B, H)`.
    public func callAsFunction(
        _ x: Variable<Scalar>, initial: Variable<Scalar>? = nil
    ) -> (output: Variable<Scalar>, state: Variable<Scalar>) {
        checkArgument(
            x.shape.count == 3 && x.shape[2] == cells[0].inputSize,
            "GRU: input \(x.shape) is not (batch, steps, \(cells[0].inputSize))")
        let (batch, steps, h) = (x.shape[0], x.shape[1], hiddenSize)
        if let initial {
            checkArgument(
                initial.shape == [cells.count, batch, h],
                "GRU: initial state \(initial.shape) is not [\(cells.count), \(batch), \(h)]")
        }
        var input = x
        var finals: [Variable<Scalar>] = []
        for (layer, cell) in cells.enumerated() {
            let w = cell.bind(on: x)
            let projected = input.matmul(w.ih, transposeOther: true) + w.bih  // (B, L, 3H)
            let start =
                initial.map { $0.slice(axis: 0, layer..<(layer + 1)).reshaped([batch, h]) }
                ?? x.constant(Tensor(zeros: [batch, h]))
            input = Variable.gruSequence(inputGates: projected, hiddenWeight: w.hh, hiddenBias: w.bhh, initial: start)
            finals.append(
                (steps > 0 ? input.slice(axis: 1, (steps - 1)..<steps) : start).reshaped([1, batch, h]))
        }
        return (input, Variable.concatenate(finals, axis: 0))
    }
}

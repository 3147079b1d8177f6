import Foundation
import Tensors

/// Next-item losses whose cost does not grow with the catalogue: each step scores the batch's
/// hidden states against a few thousand candidate items instead of every item. The item table
/// is read through ``Variable/gather(rowsOf:indices:shape:paddingIndex:on:)``, so its gradient
/// holds only the rows the batch touched and Adam updates only those (state included).
///
/// Output classes follow the sequence models' convention: class 0 is padding, item `i` is
/// class `i + 1`, and `weight` is the `(items + 1, D)` output table.
enum CatalogueLoss {
    /// Sampled softmax with the logQ correction (Yi et al. 2019): the candidates are the batch's
    /// targets (in-batch negatives) and `negatives` items drawn uniformly, each once; a logit
    /// `j` is corrected by `−log E[count of j among the candidates] = −log(R p_j + N / I)` for
    /// `R` target rows, training frequency `p_j`, `N` uniform draws and `I` items, so the model
    /// learns the full softmax rather than one discounted by how candidates were drawn.
    ///
    /// With `negatives ≥ items` every class is a candidate and no correction applies: the loss is
    /// the full cross-entropy.
    static func sampledSoftmax(
        hidden: Variable<Float>, weight: Parameter<Float>, bias: Parameter<Float>?, targets: [Int32],
        negatives: Int, frequencies: [Double], generator: inout SplitMix64, tape: Tape<Float>
    ) -> Variable<Float> {
        let items = weight.value.shape[0] - 1
        var candidates: [Int32] = []
        var labels: [Int32] = []
        var correction: [Float]? = nil
        if negatives >= items {
            candidates = Array(0...Int32(items))
            labels = targets
        } else {
            var slot: [Int32: Int32] = [:]
            func add(_ item: Int32) -> Int32 {
                if let existing = slot[item] { return existing }
                let index = Int32(candidates.count)
                slot[item] = index
                candidates.append(item)
                return index
            }
            labels = targets.map(add)
            for _ in 0..<negatives { _ = add(Int32.random(in: 1...Int32(items), using: &generator)) }
            let (rows, uniform) = (Double(targets.count), Double(negatives) / Double(items))
            correction = candidates.map { item in
                -Float(Foundation.log(rows * frequencies[Int(item)] + uniform))
            }
        }
        var logits = scores(hidden, weight: weight, bias: bias, items: candidates, tape: tape)
        if let correction {
            logits = logits + tape.constant(Tensor(shape: [1, candidates.count], scalars: correction))
        }
        return logits.crossEntropy(targets: labels)
    }

    /// gSASRec's generalized binary cross-entropy (Petrov & Macdonald 2023) with `negatives`
    /// uniform items shared by the batch: `β softplus(−s⁺) + Σ softplus(s⁻)` per target row (a
    /// row's own target left out of its negatives),
    /// averaged, with `β = α (t (1 − 1/α) + 1/α)` for the sampling rate `α = negatives / (I − 1)`
    /// and calibration `t` (0 is plain BCE with negative sampling; 1 approaches the softmax's
    /// calibration).
    static func generalizedBCE(
        hidden: Variable<Float>, weight: Parameter<Float>, bias: Parameter<Float>?, targets: [Int32],
        negatives: Int, calibration t: Double, generator: inout SplitMix64, tape: Tape<Float>
    ) -> Variable<Float> {
        let items = weight.value.shape[0] - 1
        let drawn = (0..<negatives).map { _ in Int32.random(in: 1...Int32(max(1, items)), using: &generator) }
        let alpha = Double(negatives) / Double(max(1, items - 1))
        let beta = Float(alpha * (t * (1 - 1 / alpha) + 1 / alpha))
        var positive = (hidden * Variable.gather(rowsOf: weight, indices: targets, shape: [targets.count], on: tape))
            .sum(alongAxes: [1])
        if let bias {
            positive = positive + hidden.parameter(bias).gatherElements(targets.map(Int.init), shape: [targets.count])
        }
        let negative = scores(hidden, weight: weight, bias: bias, items: drawn, tape: tape)
        // A drawn item that is the row's own target is no negative for that row (an accidental
        // hit, frequent in a small catalogue): it is left out of the sum.
        var keep = [Float](repeating: 1, count: targets.count * negatives)
        for (r, target) in targets.enumerated() {
            for (k, item) in drawn.enumerated() where item == target { keep[r * negatives + k] = 0 }
        }
        // Means over R and over R × negatives: scaled back to sums per row, over R.
        let positiveLoss = (positive * -1).softplus().mean() * beta
        let negativeLoss =
            (negative.softplus() * tape.constant(Tensor(shape: [targets.count, negatives], scalars: keep))).mean()
            * Float(negatives)
        return positiveLoss + negativeLoss
    }

    /// `(rows, candidates)` logits: `hidden · weight[items]ᵀ (+ bias[items])`.
    private static func scores(
        _ hidden: Variable<Float>, weight: Parameter<Float>, bias: Parameter<Float>?, items: [Int32], tape: Tape<Float>
    ) -> Variable<Float> {
        let rows = Variable.gather(rowsOf: weight, indices: items, shape: [items.count], on: tape)
        let logits = hidden.matmul(rows, transposeOther: true)
        guard let bias else { return logits }
        return logits + hidden.parameter(bias).gatherElements(items.map(Int.init), shape: [1, items.count])
    }
}

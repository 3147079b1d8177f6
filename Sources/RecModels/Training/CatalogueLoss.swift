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
    /// `j` is corrected by `−log q_j`, the probability that `j` is a candidate (``inclusion(_:rows:negatives:items:)``
    /// for `R` target rows, training frequency `p_j`, `N` uniform draws and `I` items), so the
    /// model learns the full softmax rather than one discounted by how candidates were drawn.
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
            correction = candidates.map { item in
                -Float(
                    Foundation.log(
                        inclusion(frequencies[Int(item)], rows: targets.count, negatives: negatives, items: items)))
            }
        }
        var logits = scores(hidden, weight: weight, bias: bias, items: candidates, tape: tape)
        if let correction {
            logits = logits + tape.constant(Tensor(shape: [1, candidates.count], scalars: correction))
        }
        return logits.crossEntropy(targets: labels)
    }

    /// gSASRec's generalized binary cross-entropy (Petrov & Macdonald 2023): per target,
    /// `β softplus(−s⁺) + Σ softplus(s⁻)` over `negatives` items drawn uniformly for that target
    /// (leaving out a draw that is the target itself), averaged over the targets, with
    /// `β = α (t (1 − 1/α) + 1/α)` for the sampling rate `α = negatives / (I − 1)` and calibration
    /// `t` (0 is plain BCE with sampled negatives; 1 approaches the softmax's calibration).
    ///
    /// `hidden` is `(T, D)`, one row per target. Every target draws its own negatives, as gSASRec
    /// does: negatives shared by the positions of a sequence (or a batch) push the same few
    /// items down at every step, and on ml-100k that held SASRec at popularity's level.
    static func generalizedBCE(
        hidden: Variable<Float>, weight: Parameter<Float>, bias: Parameter<Float>?, targets: [Int32],
        negatives: Int, calibration t: Double, generator: inout SplitMix64, tape: Tape<Float>
    ) -> Variable<Float> {
        let (rows, width) = (hidden.shape[0], hidden.shape[1])
        let items = weight.value.shape[0] - 1
        let drawn = (0..<(rows * negatives)).map { _ in Int32.random(in: 1...Int32(max(1, items)), using: &generator) }
        let alpha = Double(negatives) / Double(max(1, items - 1))
        let beta = Float(alpha * (t * (1 - 1 / alpha) + 1 / alpha))
        var positive =
            (hidden * Variable.gather(rowsOf: weight, indices: targets, shape: [rows], on: tape)).sum(alongAxes: [1])
        var negative = hidden.reshaped([rows, 1, width]).matmul(
            Variable.gather(rowsOf: weight, indices: drawn, shape: [rows, negatives], on: tape), transposeOther: true)
        if let bias {
            let b = hidden.parameter(bias)
            positive = positive + b.gatherElements(targets.map(Int.init), shape: [rows])
            negative = negative + b.gatherElements(drawn.map(Int.init), shape: [rows, 1, negatives])
        }
        // A draw that is its row's target does not count as a negative.
        var keep = [Float](repeating: 1, count: rows * negatives)
        for r in 0..<rows {
            for k in 0..<negatives where drawn[r * negatives + k] == targets[r] { keep[r * negatives + k] = 0 }
        }
        let positiveLoss = (positive * -1).softplus().mean() * beta
        let negativeLoss =
            (negative.softplus() * tape.constant(Tensor(shape: [rows, 1, negatives], scalars: keep))).mean()
            * Float(negatives)
        return positiveLoss + negativeLoss
    }

    /// The probability that an item of training frequency `p` is a candidate: among `rows`
    /// targets drawn by frequency or `negatives` draws from `items` uniformly,
    /// `1 − (1 − p)^rows (1 − 1/items)^negatives`. (The expected count, `rows p + negatives / items`,
    /// is the same for rare items but exceeds 1 for popular ones, which then lose up to `log(rows p)`.)
    static func inclusion(_ p: Double, rows: Int, negatives: Int, items: Int) -> Double {
        let absent =
            Double(rows) * Foundation.log1p(-min(p, 1 - 1e-12))
            + Double(negatives) * Foundation.log1p(-1 / Double(max(items, 2)))
        return max(-Foundation.expm1(absent), 1e-12)
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

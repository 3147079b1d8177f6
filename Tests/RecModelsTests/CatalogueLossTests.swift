import Foundation
import Tensors
import Testing
import _RecTestSupport

@testable import RecModels

/// The losses whose cost does not grow with the catalogue (`loss=sampled`, `loss=gbce`).
struct CatalogueLossTests {
    let rows = 6
    let width = 5
    let items = 8

    func inputs(seed: UInt64) -> (
        hidden: Parameter<Float>, weight: Parameter<Float>, bias: Parameter<Float>, targets: [Int32]
    ) {
        var generator = SplitMix64(seed: seed)
        let hidden = Parameter(Tensor<Float>.randomUniform(shape: [rows, width], in: -1..<1, using: &generator))
        let weight = Parameter(Tensor<Float>.randomUniform(shape: [items + 1, width], in: -1..<1, using: &generator))
        let bias = Parameter(Tensor<Float>.randomUniform(shape: [items + 1], in: -0.5..<0.5, using: &generator))
        let targets = (0..<rows).map { _ in Int32.random(in: 1...Int32(items), using: &generator) }
        return (hidden, weight, bias, targets)
    }

    /// With every item as a negative the sampled softmax is the full cross-entropy: the same
    /// value and the same gradients for the hidden states, the item table and the bias, from an
    /// independent path (gather, matmul, cross-entropy against the fused kernel).
    @Test func sampledSoftmaxOverEveryItemIsTheFullCrossEntropy() {
        let (hidden, weight, bias, targets) = inputs(seed: 1)
        func run(_ loss: (Tape<Float>) -> Variable<Float>) -> (Float, [Tensor<Float>]) {
            for parameter in [hidden, weight, bias] { parameter.zeroGradient() }
            let tape = Tape<Float>()
            let value = loss(tape)
            tape.backward(value)
            return (value.value.scalar, [hidden.grad, weight.grad, bias.grad])
        }
        let full = run { tape in
            tape.parameter(hidden).linearCrossEntropy(
                weight: tape.parameter(weight), bias: tape.parameter(bias), targets: targets)
        }
        let sampled = run { tape in
            var generator = SplitMix64(seed: 9)
            return CatalogueLoss.sampledSoftmax(
                hidden: tape.parameter(hidden), weight: weight, bias: bias, targets: targets, negatives: items,
                frequencies: [Double](repeating: 1 / Double(items), count: items + 1), generator: &generator, tape: tape
            )
        }
        #expect(abs(full.0 - sampled.0) < 1e-5, "\(full.0) against \(sampled.0)")
        for (name, (a, b)) in zip(["hidden", "weight", "bias"], zip(full.1, sampled.1)) {
            #expect(allClose(a.scalars, b.scalars, rtol: 1e-4, atol: 1e-6), "gradient of \(name)")
        }
    }

    /// With fewer negatives, the loss is a softmax over the batch's targets and the drawn items,
    /// logQ-corrected, computed here by hand in Float64; only the rows it read get a gradient.
    @Test func sampledSoftmaxIsTheCorrectedSoftmaxOverItsCandidates() {
        let (hidden, weight, bias, targets) = inputs(seed: 2)
        let frequencies = (0...items).map { Double($0) / 36 }  // classes 1…8 sum to 1
        let negatives = 3
        let tape = Tape<Float>()
        var generator = SplitMix64(seed: 5)
        let loss = CatalogueLoss.sampledSoftmax(
            hidden: tape.parameter(hidden), weight: weight, bias: bias, targets: targets, negatives: negatives,
            frequencies: frequencies, generator: &generator, tape: tape)
        // The same draws, replayed.
        var replay = SplitMix64(seed: 5)
        var candidates: [Int32] = []
        for item in targets where !candidates.contains(item) { candidates.append(item) }
        for _ in 0..<negatives {
            let item = Int32.random(in: 1...Int32(items), using: &replay)
            if !candidates.contains(item) { candidates.append(item) }
        }
        func logit(_ r: Int, _ item: Int32) -> Double {
            var dot = Double(bias.value.scalars[Int(item)])
            for k in 0..<width {
                dot += Double(hidden.value.scalars[r * width + k] * weight.value.scalars[Int(item) * width + k])
            }
            // −log P(item is a candidate) = −log(1 − (1 − p)^rows (1 − 1/items)^negatives)
            let absent = pow(1 - frequencies[Int(item)], Double(rows)) * pow(1 - 1 / Double(items), Double(negatives))
            return dot - log(1 - absent)
        }
        var expected = 0.0
        for (r, target) in targets.enumerated() {
            let logits = candidates.map { logit(r, $0) }
            let top = logits.max() ?? 0
            expected += top + log(logits.reduce(0) { $0 + exp($1 - top) }) - logit(r, target)
        }
        expected /= Double(rows)
        #expect(abs(Double(loss.value.scalar) - expected) < 1e-5, "\(loss.value.scalar) against \(expected)")
        tape.backward(loss)
        #expect(weight.gradientRows == candidates.map(Int.init).sorted())
    }

    /// gBCE by hand in Float64: per target, `β softplus(−s⁺) + Σ softplus(s⁻)` over its own
    /// draws other than itself, averaged over the targets, with `β = α (t (1 − 1/α) + 1/α)`; the
    /// gradient of the hidden states against central differences of that formula, and only the
    /// rows of targets and draws receive one.
    @Test(arguments: [0.0, 0.75])
    func generalizedBCEMatchesItsFormula(calibration: Double) {
        let (hidden, weight, bias, targets) = inputs(seed: 3)
        let negatives = 4
        let tape = Tape<Float>()
        var generator = SplitMix64(seed: 6)
        let loss = CatalogueLoss.generalizedBCE(
            hidden: tape.parameter(hidden), weight: weight, bias: bias, targets: targets, negatives: negatives,
            calibration: calibration, generator: &generator, tape: tape)
        tape.backward(loss)
        var replay = SplitMix64(seed: 6)
        let drawn = (0..<(rows * negatives)).map { _ in Int32.random(in: 1...Int32(items), using: &replay) }
        let alpha = Double(negatives) / Double(items - 1)
        let beta = alpha * (calibration * (1 - 1 / alpha) + 1 / alpha)
        func softplus(_ x: Double) -> Double { log1p(exp(x)) }
        func formula(_ h: [Double]) -> Double {
            func score(_ r: Int, _ item: Int32) -> Double {
                var dot = Double(bias.value.scalars[Int(item)])
                for k in 0..<width { dot += h[r * width + k] * Double(weight.value.scalars[Int(item) * width + k]) }
                return dot
            }
            var total = 0.0
            for (r, target) in targets.enumerated() {
                total += beta * softplus(-score(r, target))
                for item in drawn[(r * negatives)..<((r + 1) * negatives)] where item != target {
                    total += softplus(score(r, item))
                }
            }
            return total / Double(rows)
        }
        let h = hidden.value.scalars.map(Double.init)
        let expected = formula(h)
        #expect(abs(Double(loss.value.scalar) - expected) < 1e-4, "\(loss.value.scalar) against \(expected)")
        #expect(calibration > 0 || abs(beta - 1) < 1e-12)
        let gradient = hidden.grad.scalars
        #expect(gradient.count == h.count)
        for index in stride(from: 0, to: min(h.count, gradient.count), by: 3) {
            var (up, down) = (h, h)
            up[index] += 1e-5
            down[index] -= 1e-5
            let numeric = (formula(up) - formula(down)) / 2e-5
            #expect(abs(Double(gradient[index]) - numeric) < 1e-3, "hidden[\(index)]")
        }
        #expect(weight.gradientRows == Set((targets + drawn).map(Int.init)).sorted())
    }
}

import Testing
import _RecTestSupport

@testable import Tensors

/// Random `Double` parameters for gradient checks.
func parameter(_ shape: [Int], _ generator: inout SplitMix64, in range: Range<Double> = -1..<1) -> Parameter<Double> {
    Parameter(Tensor.randomUniform(shape: shape, in: range, using: &generator))
}

/// Runs ``GradientCheck/check`` with torch's tolerances and records the worst element on failure.
func expectGradient(
    _ parameters: [Parameter<Double>], seed: UInt64, sourceLocation: SourceLocation = #_sourceLocation,
    _ function: (Tape<Double>) -> Variable<Double>
) {
    let result = GradientCheck.check(parameters, seed: seed, function)
    #expect(result.passed, "\(result)", sourceLocation: sourceLocation)
}

/// The output of `build` and the gradients of `parameters` for the loss `Σ output ⊙ mix`, a
/// weighting that gives every output element its own gradient.
func valuesAndGradients(
    _ parameters: [Parameter<Double>], mix: Tensor<Double>, _ build: (Tape<Double>) -> Variable<Double>
) -> (value: [Double], grads: [[Double]]) {
    for p in parameters { p.zeroGradient() }
    let tape = Tape<Double>()
    let y = build(tape)
    tape.backward((y * tape.constant(mix)).sum())
    return (y.value.scalars, parameters.map { $0.grad.scalars })
}

struct AutodiffTests {
    static let seeds: [UInt64] = [1, 2, 3]

    @Test func gradientsAccumulateAcrossBackwardPasses() {
        var generator = SplitMix64(seed: 7)
        let w = parameter([3, 2], &generator)
        for _ in 0..<2 {
            let tape = Tape<Double>()
            let x = tape.constant(Tensor(shape: [1, 3], scalars: [1, 2, 3]))
            tape.backward(x.matmul(tape.parameter(w)).sum())
        }
        // d(sum(x·W))/dW_ij = x_i, twice.
        #expect(w.grad.scalars == [2, 2, 4, 4, 6, 6])
        w.zeroGradient()
        #expect(w.grad.scalars.allSatisfy { $0 == 0 })
    }

    @Test func inferenceModeRecordsNothing() {
        var generator = SplitMix64(seed: 7)
        let w = parameter([3, 2], &generator)
        let tape = Tape<Double>(recording: false)
        let y = tape.constant(Tensor(shape: [1, 3], scalars: [1, 2, 3])).matmul(tape.parameter(w)).relu().sum()
        #expect(tape.recordedCount == 0)
        #expect(!y.requiresGradient)
        let recording = Tape<Double>()
        let z = recording.withoutRecording { recording.parameter(w).tanh() }
        #expect(recording.recordedCount == 0 && !z.requiresGradient)
    }

    @Test func aVariableOutlivingItsTapeStillComputes() {
        var generator = SplitMix64(seed: 1)
        let w = parameter([2, 2], &generator)
        let y = { Tape<Double>().parameter(w) }().relu()
        #expect(y.value.shape == [2, 2] && !y.requiresGradient)
    }

    @Test(arguments: seeds)
    func matmulGradients(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = parameter(ta ? [4, 3] : [3, 4], &generator)
            let b = parameter(tb ? [5, 4] : [4, 5], &generator)
            expectGradient([a, b], seed: seed) { tape in
                tape.parameter(a).matmul(tape.parameter(b), transposeSelf: ta, transposeOther: tb)
            }
            let c = parameter(ta ? [2, 4, 3] : [2, 3, 4], &generator)
            let d = parameter(tb ? [2, 5, 4] : [2, 4, 5], &generator)
            expectGradient([c, d], seed: seed) { tape in
                tape.parameter(c).matmul(tape.parameter(d), transposeSelf: ta, transposeOther: tb)
            }
        }
        let x = parameter([2, 3, 4], &generator)
        let w = parameter([5, 4], &generator)
        expectGradient([x, w], seed: seed) { tape in
            tape.parameter(x).matmul(tape.parameter(w), transposeOther: true)
        }
    }

    @Test func matmulMatchesTheReferenceAndHandlesEmptyExtents() {
        var generator = SplitMix64(seed: 5)
        let a = Tensor<Double>.randomUniform(shape: [3, 4], in: -1..<1, using: &generator)
        let b = Tensor<Double>.randomUniform(shape: [4, 2], in: -1..<1, using: &generator)
        var expected = [Double](repeating: 0, count: 6)
        BLAS.gemmReference(
            .none, .none, m: 3, n: 2, k: 4, a: a.scalars, lda: 4, b: b.scalars, ldb: 2, c: &expected, ldc: 2)
        let tape = Tape<Double>()
        #expect(allClose(tape.constant(a).matmul(tape.constant(b)).value.scalars, expected, rtol: 1e-12, atol: 1e-15))
        let empty = tape.variable(Tensor(zeros: [3, 0])).matmul(tape.variable(Tensor(zeros: [0, 2])))
        #expect(empty.value == Tensor(zeros: [3, 2]))
        let none = tape.variable(Tensor(zeros: [0, 4])).matmul(tape.constant(b))
        #expect(none.value.shape == [0, 2])
        tape.backward(empty.sum())
    }

    @Test(arguments: seeds)
    func broadcastArithmeticGradients(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        let a = parameter([2, 3, 4], &generator)
        for shape in [[2, 3, 4], [3, 1], [4], [1, 3, 1], []] {
            let b = parameter(shape, &generator, in: 0.5..<2)
            expectGradient([a, b], seed: seed) { tape in
                let (x, y) = (tape.parameter(a), tape.parameter(b))
                return Variable.concatenate([x + y, x - y, x * y, x / y, y / x.affine(scale: 0.1, shift: 3)], axis: 0)
            }
        }
    }

    @Test(arguments: seeds)
    func sharedOperandsAccumulateCorrectly(seed: UInt64) {
        // Pass-through gradients are shared, not copied; copy-on-write must keep them apart.
        var generator = SplitMix64(seed: seed)
        let a = parameter([3, 4], &generator)
        expectGradient([a], seed: seed) { tape in
            let x = tape.parameter(a)
            let y = x + x
            return Variable.concatenate(
                [(y - x) * y, y.reshaped([12]).reshaped([3, 4]), x.affine(scale: 1) + y], axis: 0)
        }
    }

    @Test(arguments: seeds)
    func reductionGradients(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        let a = parameter([2, 3, 4], &generator)
        for axes in [nil, [0], [1], [2], [0, 2], [-1]] as [[Int]?] {
            expectGradient([a], seed: seed) { tape in tape.parameter(a).sum(alongAxes: axes) }
            expectGradient([a], seed: seed) { tape in
                tape.parameter(a).mean(alongAxes: axes, keepingDimensions: true)
            }
        }
    }

    @Test func reductionValues() {
        let tape = Tape<Double>()
        let x = tape.constant(Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6]))
        #expect(x.sum(alongAxes: [0]).value.scalars == [5, 7, 9])
        #expect(x.sum(alongAxes: [1], keepingDimensions: true).value == Tensor(shape: [2, 1], scalars: [6, 15]))
        #expect(x.mean().value.scalars == [3.5])
        #expect(tape.constant(Tensor(zeros: [0, 3])).sum().value.scalars == [0])
        #expect(tape.constant(Tensor(zeros: [0, 3])).mean().value.scalars[0].isNaN)
    }

    @Test(arguments: seeds)
    func unaryGradients(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        // Away from relu's kink at 0 so finite differences are valid.
        let a = Parameter(
            Tensor<Double>(
                shape: [3, 4],
                scalars: (0..<12).map { i in (i % 2 == 0 ? 1 : -1) * (0.1 + Double.unitRandom(using: &generator) * 2) })
        )
        let positive = parameter([3, 4], &generator, in: 0.2..<3)
        expectGradient([a], seed: seed) { tape in
            let x = tape.parameter(a)
            return Variable.concatenate([x.exp(), x.relu(), x.gelu(), x.tanh(), x.sigmoid(), x.softplus()], axis: 0)
        }
        expectGradient([positive], seed: seed) { tape in
            let x = tape.parameter(positive)
            return Variable.concatenate([x.log(), x.sqrt()], axis: 1)
        }
    }

    @Test func unaryValuesMatchTorchAndSurviveEdgeInputs() {
        let tape = Tape<Double>()
        let x = tape.constant(Tensor(shape: [2, 4], scalars: [1, 2, 3, -1, 0.5, -0.5, 2, 0]))
        // torch.nn.functional.gelu(torch.tensor([[1.,2,3,-1],[.5,-.5,2,0]],dtype=torch.float64)).flatten().tolist()
        let gelu = [
            0.841344746068543, 1.9544997361036416, 2.99595030590511, -0.15865525393145702, 0.34573123063700656,
            -0.15426876936299344, 1.9544997361036416, 0.0,
        ]
        #expect(allClose(x.gelu().value.scalars, gelu, rtol: 1e-12, atol: 1e-12))
        let edge = tape.constant(Tensor(shape: [5], scalars: [0, 1000, -1000, .nan, -0.0]))
        #expect(edge.softplus().value.scalars[1] == 1000)
        #expect(edge.softplus().value.scalars[2] == 0)
        #expect(edge.sigmoid().value.scalars[1] == 1 && edge.sigmoid().value.scalars[2] == 0)
        #expect(edge.tanh().value.scalars[1] == 1)
        for f in [edge.relu(), edge.gelu(), edge.exp(), edge.tanh(), edge.sigmoid(), edge.softplus()] {
            #expect(f.value.scalars[3].isNaN)
        }
        #expect(tape.constant(Tensor(zeros: [0])).relu().value.count == 0)
    }

    @Test func nanPropagatesThroughEveryKernel() {
        let tape = Tape<Double>()
        let x = tape.constant(Tensor(shape: [2, 2], scalars: [1, .nan, 3, 4]))
        let ones = tape.constant(Tensor(shape: [2, 2], repeating: 1))
        let results = [
            x.matmul(ones), x + ones, x - ones, x * ones, ones / x, x.sum(), x.mean(alongAxes: [1]),
            x.layerNorm(
                weight: tape.constant(Tensor(shape: [2], repeating: 1)), bias: tape.constant(Tensor(zeros: [2]))),
            x.logSoftmax(), Variable.concatenate([x, ones], axis: 1), x.permuted([1, 0]), x.affine(scale: 2),
        ]
        for (index, y) in results.enumerated() {
            #expect(y.value.scalars.contains { $0.isNaN }, "result \(index): \(y.value.scalars)")
        }
        // Row 1 has no NaN and stays finite where the kernel works row by row.
        #expect(x.softmax().value.scalars[2...].allSatisfy { $0.isFinite })
        #expect(x.binaryCrossEntropyWithLogits(targets: Tensor(zeros: [2, 2])).value.scalars[0].isNaN)
    }

    @Test(arguments: seeds)
    func shapeGradients(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        let a = parameter([2, 3, 4], &generator)
        let b = parameter([2, 2, 4], &generator)
        expectGradient([a, b], seed: seed) { tape in
            let (x, y) = (tape.parameter(a), tape.parameter(b))
            let joined = Variable.concatenate([x, y], axis: 1)  // (2, 5, 4)
            return joined.slice(axis: 1, 1..<4).permuted([2, 0, 1]).reshaped([4, 6]).transposed()
        }
    }

    @Test func shapeValues() {
        let tape = Tape<Double>()
        let x = tape.constant(Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6]))
        #expect(x.transposed().value == Tensor(shape: [3, 2], scalars: [1, 4, 2, 5, 3, 6]))
        #expect(x.slice(axis: 1, 1..<3).value.scalars == [2, 3, 5, 6])
        #expect(x.slice(axis: 1, 1..<1).value.shape == [2, 0])
        #expect(Variable.concatenate([x, x], axis: 0).value.shape == [4, 3])
        #expect(Variable.concatenate([x, x], axis: 1).value.scalars == [1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6])
    }

    @Test(arguments: seeds)
    func layerNormGradients(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        let x = parameter([2, 3, 5], &generator)
        let g = parameter([5], &generator)
        let b = parameter([5], &generator)
        expectGradient([x, g, b], seed: seed) { tape in
            tape.parameter(x).layerNorm(weight: tape.parameter(g), bias: tape.parameter(b))
        }
    }

    @Test func layerNormMatchesTorch() {
        let tape = Tape<Double>()
        let x = tape.constant(Tensor(shape: [2, 4], scalars: [1, 2, 3, -1, 0.5, -0.5, 2, 0]))
        let y = x.layerNorm(
            weight: tape.constant(Tensor(shape: [4], scalars: [1, 2, 3, 4])),
            bias: tape.constant(Tensor(shape: [4], scalars: [0, 0.1, 0.2, 0.3])))
        // F.layer_norm(x, (4,), torch.tensor([1.,2,3,4]), torch.tensor([0.,.1,.2,.3])) in float64
        let expected = [
            -0.1690304645907972, 1.1141827875447834, 3.7496397564067414, -5.7850967252687, 0.0,
            -2.0380777177473437, 5.010674864931524, -1.8380777177473437,
        ]
        #expect(allClose(y.value.scalars, expected, rtol: 1e-12, atol: 1e-12))
        // A constant row has zero variance: output is the bias, not NaN.
        let flat = tape.constant(Tensor(shape: [1, 4], repeating: 3)).layerNorm(
            weight: tape.constant(Tensor(shape: [4], repeating: 1)), bias: tape.constant(Tensor(zeros: [4])))
        #expect(flat.value.scalars == [0, 0, 0, 0])
    }

    @Test(arguments: seeds)
    func dropoutIsSeededAndDifferentiable(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        let x = parameter([4, 8], &generator)
        expectGradient([x], seed: seed) { tape in
            var rng = SplitMix64(seed: seed)
            return tape.parameter(x).dropout(probability: 0.3, using: &rng)
        }
        let tape = Tape<Double>()
        var first = SplitMix64(seed: seed)
        var second = SplitMix64(seed: seed)
        let ones = tape.constant(Tensor(shape: [1000], repeating: 1))
        let a = ones.dropout(probability: 0.25, using: &first).value
        #expect(a == ones.dropout(probability: 0.25, using: &second).value)
        let kept = a.scalars.filter { $0 != 0 }
        #expect(kept.allSatisfy { abs($0 - 1 / 0.75) < 1e-12 })
        #expect(abs(Double(kept.count) / 1000 - 0.75) < 0.05)
    }

    @Test(arguments: seeds)
    func embeddingGradientIsRowSparseAndSkipsPadding(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        let table = parameter([6, 3], &generator)
        let indices: [Int32] = [1, 4, 0, 4, 2, 0]
        expectGradient([table], seed: seed) { tape in
            Variable.gather(rowsOf: table, indices: indices, shape: [2, 3], paddingIndex: 0, on: tape).tanh()
        }
        #expect(table.gradientRows == [1, 2, 4])
        // Padding row and untouched rows keep a zero gradient.
        #expect(table.grad.scalars[0..<3].allSatisfy { $0 == 0 } && table.grad.scalars[9..<12].allSatisfy { $0 == 0 })
        table.zeroGradient()
        #expect(table.gradientRows == [] && table.grad.scalars.allSatisfy { $0 == 0 })
        let y = Variable.gather(rowsOf: table, indices: [5, 0], shape: [2], paddingIndex: 0, on: nil)
        #expect(Array(y.value.scalars[0..<3]) == Array(table.value.scalars[15..<18]))
        #expect(y.value.scalars[3..<6].allSatisfy { $0 == 0 })
    }

    @Test func denseUseMakesAnEmbeddingGradientDense() {
        var generator = SplitMix64(seed: 3)
        let table = parameter([4, 2], &generator)
        let tape = Tape<Double>()
        let rows = Variable.gather(rowsOf: table, indices: [1], shape: [1], on: tape)
        let scores = rows.matmul(tape.parameter(table), transposeOther: true)  // tied output layer
        tape.backward(scores.sum())
        #expect(table.gradientRows == nil)
    }

    /// The fused GRU step against the same step composed from slices, adds and activations, and
    /// its gradients against finite differences, for every input.
    @Test(arguments: seeds)
    func fusedGRUCellMatchesTheComposedStepAndFiniteDifferences(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        let (batch, h) = (3, 5)
        let gi = parameter([batch, 3 * h], &generator, in: -2..<2)
        let gh = parameter([batch, 3 * h], &generator, in: -2..<2)
        let bias = parameter([3 * h], &generator)
        let state = parameter([batch, h], &generator)
        let tape = Tape<Double>(recording: false)
        let (x, y, b, s) = (tape.parameter(gi), tape.parameter(gh), tape.parameter(bias), tape.parameter(state))
        let fused = Variable.gruCell(inputGates: x, hiddenGates: y, hiddenBias: b, state: s)
        let z = y + b
        let r = (x.slice(axis: 1, 0..<h) + z.slice(axis: 1, 0..<h)).sigmoid()
        let u = (x.slice(axis: 1, h..<(2 * h)) + z.slice(axis: 1, h..<(2 * h))).sigmoid()
        let n = (x.slice(axis: 1, (2 * h)..<(3 * h)) + r * z.slice(axis: 1, (2 * h)..<(3 * h))).tanh()
        let composed = n + u * (s - n)
        #expect(allClose(fused.value.scalars, composed.value.scalars, rtol: 1e-12, atol: 1e-12))
        expectGradient([gi, gh, bias, state], seed: seed) { tape in
            Variable.gruCell(
                inputGates: tape.parameter(gi), hiddenGates: tape.parameter(gh), hiddenBias: tape.parameter(bias),
                state: tape.parameter(state))
        }
    }

    /// The whole-sequence GRU against a loop of fused cells on the tape, values and all four
    /// gradients (Float64), and against finite differences. Five rows, so the two cores' blocks
    /// differ in size.
    @Test(arguments: seeds)
    func gruSequenceMatchesTheStepLoopAndFiniteDifferences(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        let (batch, steps, h) = (5, 4, 3)
        let gi = parameter([batch, steps, 3 * h], &generator, in: -2..<2)
        let weight = parameter([3 * h, h], &generator)
        let bias = parameter([3 * h], &generator)
        let initial = parameter([batch, h], &generator)
        let all = [gi, weight, bias, initial]
        let mix = Tensor<Double>.randomUniform(shape: [batch, steps, h], in: -1..<1, using: &generator)
        let fused = valuesAndGradients(all, mix: mix) { tape in
            Variable.gruSequence(
                inputGates: tape.parameter(gi), hiddenWeight: tape.parameter(weight), hiddenBias: tape.parameter(bias),
                initial: tape.parameter(initial))
        }
        let loop = valuesAndGradients(all, mix: mix) { tape in
            let (x, w, b) = (tape.parameter(gi), tape.parameter(weight), tape.parameter(bias))
            var state = tape.parameter(initial)
            var outputs: [Variable<Double>] = []
            for t in 0..<steps {
                state = Variable.gruCell(
                    inputGates: x.slice(axis: 1, t..<(t + 1)).reshaped([batch, 3 * h]),
                    hiddenGates: state.matmul(w, transposeOther: true), hiddenBias: b, state: state)
                outputs.append(state.reshaped([batch, 1, h]))
            }
            return Variable.concatenate(outputs, axis: 1)
        }
        #expect(allClose(fused.value, loop.value, rtol: 1e-12, atol: 1e-12))
        for (name, (a, b)) in zip(["gi", "weight", "bias", "initial"], zip(fused.grads, loop.grads)) {
            #expect(allClose(a, b, rtol: 1e-12, atol: 1e-12), "gradient of \(name)")
        }
        expectGradient(all, seed: seed) { tape in
            Variable.gruSequence(
                inputGates: tape.parameter(gi), hiddenWeight: tape.parameter(weight), hiddenBias: tape.parameter(bias),
                initial: tape.parameter(initial))
        }
    }

    /// The whole-sequence LSTM against the step composed from slices, products and activations
    /// on the tape: values and all five gradients (Float64), and finite differences.
    @Test(arguments: seeds)
    func lstmSequenceMatchesTheComposedStepsAndFiniteDifferences(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        let (batch, steps, h) = (5, 4, 3)
        let gi = parameter([batch, steps, 4 * h], &generator, in: -2..<2)
        let weight = parameter([4 * h, h], &generator)
        let bias = parameter([4 * h], &generator)
        let hidden = parameter([batch, h], &generator)
        let cell = parameter([batch, h], &generator)
        let all = [gi, weight, bias, hidden, cell]
        let mix = Tensor<Double>.randomUniform(shape: [batch, steps, 2 * h], in: -1..<1, using: &generator)
        func fused(_ tape: Tape<Double>) -> Variable<Double> {
            Variable.lstmSequence(
                inputGates: tape.parameter(gi), hiddenWeight: tape.parameter(weight), hiddenBias: tape.parameter(bias),
                initialHidden: tape.parameter(hidden), initialCell: tape.parameter(cell))
        }
        let loop = valuesAndGradients(all, mix: mix) { tape in
            let (x, w, b) = (tape.parameter(gi), tape.parameter(weight), tape.parameter(bias))
            var (state, memory) = (tape.parameter(hidden), tape.parameter(cell))
            var outputs: [Variable<Double>] = []
            for t in 0..<steps {
                let gates =
                    x.slice(axis: 1, t..<(t + 1)).reshaped([batch, 4 * h]) + state.matmul(w, transposeOther: true) + b
                let i = gates.slice(axis: 1, 0..<h).sigmoid()
                let f = gates.slice(axis: 1, h..<(2 * h)).sigmoid()
                let g = gates.slice(axis: 1, (2 * h)..<(3 * h)).tanh()
                let o = gates.slice(axis: 1, (3 * h)..<(4 * h)).sigmoid()
                memory = f * memory + i * g
                state = o * memory.tanh()
                outputs.append(Variable.concatenate([state, memory], axis: 1).reshaped([batch, 1, 2 * h]))
            }
            return Variable.concatenate(outputs, axis: 1)
        }
        let result = valuesAndGradients(all, mix: mix, fused)
        #expect(allClose(result.value, loop.value, rtol: 1e-12, atol: 1e-12))
        for (name, (a, b)) in zip(["gi", "weight", "bias", "hidden", "cell"], zip(result.grads, loop.grads)) {
            #expect(allClose(a, b, rtol: 1e-12, atol: 1e-12), "gradient of \(name)")
        }
        expectGradient(all, seed: seed, fused)
    }
}

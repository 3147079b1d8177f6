import Foundation
import Tensors
import Testing

@testable import NeuralNet

/// Sets parameter `k` (in `namedParameters` order, which is torch's `state_dict` order) to
/// `0.3 · sin(0.7 i + 1.3 k + 0.1)`, element `i` in row-major order: the `fill` of the script below.
func fillDeterministically<L: Layer>(_ layer: L) {
    for (k, (_, parameter)) in layer.namedParameters.enumerated() {
        for i in 0..<parameter.value.count {
            parameter.value.scalars[i] = L.Scalar(0.3 * Double.sin(0.7 * Double(i) + 1.3 * Double(k) + 0.1))
        }
    }
}

/// `0.8 · cos(0.5 i)` in row-major order: the script's `inp`.
func deterministicInput<Scalar: TensorScalar>(_ shape: [Int]) -> Tensor<Scalar> {
    Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { Scalar(0.8 * Double.cos(0.5 * Double($0))) })
}

func expectClose(
    _ actual: Tensor<Double>, _ expected: [Double], tolerance: Double = 1e-9,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let close =
        actual.scalars.count == expected.count && zip(actual.scalars, expected).allSatisfy { abs($0 - $1) <= tolerance }
    #expect(close, "got \(actual.scalars)", sourceLocation: sourceLocation)
}

/// Forward values and a training trace against PyTorch 2 in float64, from this script
/// (`fill` and `inp` as above; values printed rounded to 12 decimals):
///
/// ```python
/// import torch, math
/// torch.set_default_dtype(torch.float64)
/// def fill(m):
///     for k, (name, p) in enumerate(m.state_dict().items()):
///         p.copy_(torch.tensor([0.3 * math.sin(0.7 * i + 1.3 * k + 0.1) for i in range(p.numel())]).reshape(p.shape))
/// def inp(*shape):
///     return torch.tensor([0.8 * math.cos(0.5 * i) for i in range(math.prod(shape))]).reshape(shape)
/// with torch.no_grad():
///     gru = torch.nn.GRU(3, 4, num_layers=2, batch_first=True); fill(gru); out, h = gru(inp(2, 3, 3))
///     lstm = torch.nn.LSTM(3, 4, num_layers=2, batch_first=True); fill(lstm); out, (h, c) = lstm(inp(2, 3, 3))
///     mha = torch.nn.MultiheadAttention(4, 2, batch_first=True); fill(mha); x = inp(2, 3, 4)
///     causal = torch.triu(torch.ones(3, 3, dtype=torch.bool), 1)
///     pad = torch.tensor([[False, False, False], [False, False, True]])
///     out, _ = mha(x, x, x, attn_mask=causal, key_padding_mask=pad, need_weights=False)
///     block = torch.nn.TransformerEncoderLayer(4, 2, dim_feedforward=6, dropout=0.0, activation="gelu",
///                                              batch_first=True)   # and norm_first=True for blockPre
///     fill(block); block.eval(); block(x, src_mask=causal)
/// mlp = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
/// with torch.no_grad(): fill(mlp)
/// X = inp(6, 2); Y = torch.tensor([i % 3 for i in range(6)])
/// # 5 steps SGD(lr=0.1, momentum=0.9); 5 steps AdamW(lr=0.05, weight_decay=0.01) with
/// # clip_grad_norm_(…, 0.5); 3 steps Adagrad(lr=0.05); 3 steps Adam(lr=0.05, weight_decay=0.01);
/// # each step: zero_grad, loss = F.cross_entropy(mlp(X), Y), backward, [clip], step; record loss.
/// ```
struct ReferenceTests {
    @Test func gruMatchesTorch() {
        var generator = SplitMix64(seed: 0)
        let gru = GRU<Double>(inputSize: 3, hiddenSize: 4, layers: 2, using: &generator)
        fillDeterministically(gru)
        let tape = Tape<Double>(recording: false)
        let (output, state) = gru(tape.constant(deterministicInput([2, 3, 3])))
        expectClose(
            output.value,
            [
                0.24593502689, 0.153019510453, 0.096378161389, -0.050722619871, 0.336016973242, 0.216308516636,
                0.160205134997, -0.091223059738, 0.373669546965, 0.236755032989, 0.205747495882, -0.126210245863,
                0.262996300814, 0.135148996157, 0.109861192827, -0.062272828681, 0.340727331444, 0.208424549685,
                0.16770218607, -0.099299344049, 0.369948684951, 0.238947454862, 0.2027263872, -0.125767673744,
            ])
        expectClose(
            state.value,
            [
                0.415110792739, -0.063433064635, -0.223762343736, -0.047573870015, 0.055354834862, 0.12396534324,
                -0.082650303236, -0.336425007154, 0.373669546965, 0.236755032989, 0.205747495882, -0.126210245863,
                0.369948684951, 0.238947454862, 0.2027263872, -0.125767673744,
            ])
    }

    @Test func lstmMatchesTorch() {
        var generator = SplitMix64(seed: 0)
        let lstm = LSTM<Double>(inputSize: 3, hiddenSize: 4, layers: 2, using: &generator)
        fillDeterministically(lstm)
        let tape = Tape<Double>(recording: false)
        let (output, hidden, cell) = lstm(tape.constant(deterministicInput([2, 3, 3])))
        expectClose(
            output.value,
            [
                0.108218661828, 0.061479700382, 0.02209519782, -0.054882281717, 0.145145576996, 0.089031825146,
                0.03334354652, -0.087032620512, 0.158163271195, 0.101656895466, 0.038433626228, -0.105143390839,
                0.109183181253, 0.060249948245, 0.02337077354, -0.056381053736, 0.149210305407, 0.084137771203,
                0.038344067674, -0.092262888703, 0.161927455148, 0.096097992105, 0.045420285538, -0.112913314307,
            ])
        expectClose(
            hidden.value,
            [
                0.089238589053, -0.092239341882, -0.212668611472, -0.101675029978, -0.000208404824, -0.005021767529,
                -0.110803496428, -0.273507700152, 0.158163271195, 0.101656895466, 0.038433626228, -0.105143390839,
                0.161927455148, 0.096097992105, 0.045420285538, -0.112913314307,
            ])
        expectClose(
            cell.value,
            [
                0.266462071381, -0.217283666561, -0.312547227882, -0.205735261043, -0.000529840248, -0.01014255609,
                -0.187652666366, -0.546777120961, 0.427464559319, 0.266590922402, 0.087585533557, -0.201086172922,
                0.431538482416, 0.254847525212, 0.10271190202, -0.217216116781,
            ])
    }

    @Test func causalPaddedAttentionMatchesTorch() {
        var generator = SplitMix64(seed: 0)
        let attention = MultiheadAttention<Double>(width: 4, heads: 2, using: &generator)
        fillDeterministically(attention)
        let tape = Tape<Double>(recording: false)
        let keep = [true, true, true, true, true, false]
        let y = attention(tape.constant(deterministicInput([2, 3, 4])), causal: true, keep: keep, using: &generator)
        expectClose(
            y.value,
            [
                -0.360983490297, -0.215387711878, -0.257290395826, -0.091258077249, -0.300962180588, -0.293173952188,
                -0.170727838703, -0.176594187314, -0.312717804068, -0.285676370881, -0.173100992439, -0.179619691684,
                -0.386764400723, -0.185404136211, -0.288011875094, -0.063348724707, -0.311904096209, -0.277823755278,
                -0.188712520007, -0.158053247195, -0.303688846177, -0.294546770161, -0.165414173585, -0.18523467731,
            ])
    }

    @Test(arguments: [false, true])
    func transformerBlockMatchesTorch(normFirst: Bool) {
        var generator = SplitMix64(seed: 0)
        let block = TransformerBlock<Double>(
            width: 4, heads: 2, feedForwardSize: 6, dropout: 0, normFirst: normFirst, using: &generator)
        fillDeterministically(block)
        let tape = Tape<Double>(recording: false)
        let y = block(tape.constant(deterministicInput([2, 3, 4])), causal: true, using: &generator)
        let postNorm = [
            0.215200364288, -0.159752445587, 0.004767695356, 0.011536563757, 0.038790296818, 0.385426950935,
            -0.016905467408, -0.089494283492, 0.462224177994, 0.240843292266, -0.480177176793, -0.178847622438,
            0.361508658555, -0.284045840275, -0.014083818043, -0.054497128599, 0.044864911411, 0.247988712482,
            0.024642888019, -0.046081147334, 0.455748959329, 0.259129660173, -0.485356848807, -0.179386116139,
        ]
        let preNorm = [
            0.574523050504, 0.422957254742, -0.210251753561, -0.331841507703, -0.562778910914, -0.918887000628,
            -1.44029410044, -1.123606830126, -0.748085164794, -0.467160936898, -0.404440177006, 0.196239374963,
            0.544186456758, 0.497102884797, -0.031486832517, -0.118260444013, -0.341852956228, -0.760756633841,
            -1.375641306594, -1.177528121262, -0.893694835162, -0.681933552986, -0.62493864153, 0.013282129629,
        ]
        expectClose(y.value, normFirst ? preNorm : postNorm)
    }

    @Test func trainingTraceMatchesTorch() {
        var generator = SplitMix64(seed: 0)
        let mlp = MLP<Double>(sizes: [2, 8, 3], using: &generator)
        fillDeterministically(mlp)
        let x: Tensor<Double> = deterministicInput([6, 2])
        let targets = (0..<6).map { Int32($0 % 3) }
        var losses: [Double] = []
        func train(_ optimizer: inout some Optimizer<Double>, steps: Int, clip: Double? = nil) {
            for _ in 0..<steps {
                optimizer.zeroGradients()
                let tape = Tape<Double>()
                let loss = mlp(tape.constant(x)).crossEntropy(targets: targets)
                tape.backward(loss)
                if let clip { clipGradientNorm(mlp.parameters, maxNorm: clip) }
                optimizer.step()
                losses.append(loss.value.scalars[0])
            }
        }
        var sgd = SGD(parameters: mlp.parameters, learningRate: 0.1, momentum: 0.9)
        train(&sgd, steps: 5)
        var adamW = Adam.adamW(parameters: mlp.parameters, learningRate: 0.05, weightDecay: 0.01)
        train(&adamW, steps: 5, clip: 0.5)
        var adagrad = Adagrad(parameters: mlp.parameters, learningRate: 0.05)
        train(&adagrad, steps: 3)
        var adam = Adam(parameters: mlp.parameters, learningRate: 0.05, weightDecay: 0.01)
        train(&adam, steps: 3)
        let expected = [
            1.104380874089, 1.10322699317, 1.101102363163, 1.098213625387, 1.094757312192, 1.090891138226,
            1.076768879183, 1.060207489091, 1.042454796528, 1.022945558995, 1.001876799879, 0.981083897989,
            0.95845738188, 0.941033672218, 0.916001309698, 0.883380708418,
        ]
        expectClose(Tensor(shape: [losses.count], scalars: losses), expected)
    }
}

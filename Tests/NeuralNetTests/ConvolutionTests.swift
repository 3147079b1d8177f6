import Tensors
import Testing

@testable import NeuralNet

/// Convolution and pooling against PyTorch 2 in float64, with `fill` and `inp` as in
/// ``ReferenceTests``:
/// ```python
/// c1 = torch.nn.Conv1d(2, 3, 3, stride=2, padding=1); fill(c1); y = c1(inp(2, 2, 6)); F.max_pool1d(y, 2)
/// c2 = torch.nn.Conv2d(2, 3, (2, 3), stride=(1, 2), padding=(1, 0)); fill(c2); y = c2(inp(1, 2, 3, 5))
/// F.max_pool2d(y, (2, 2), (1, 1))
/// ```
struct ConvolutionTests {
    @Test func conv1dAndPoolingMatchTorch() {
        var generator = SplitMix64(seed: 0)
        let conv = Conv1d<Double>(
            inputChannels: 2, outputChannels: 3, kernelSize: 3, stride: 2, padding: 1, using: &generator)
        fillDeterministically(conv)
        let y = conv(Tape<Double>(recording: false).constant(deterministicInput([2, 2, 6])))
        #expect(y.shape == [2, 3, 3])
        expectClose(
            y.value,
            [
                0.720503675244, 0.229763801008, -0.065988151153, -0.484788256542, -0.258763315328, 0.658628774192,
                0.404891706306, 0.674009233896, 0.070238387458, 0.748324604922, 0.340648564091, -0.008578686401,
                -0.489460067312, -0.463739487147, 0.399091799981, 0.381651588198, 0.764108043515, 0.267310542996,
            ])
        expectClose(
            y.maxPool1d(kernel: 2).value,
            [0.720503675244, -0.258763315328, 0.674009233896, 0.748324604922, -0.463739487147, 0.764108043515])
    }

    @Test func conv2dAndPoolingMatchTorch() {
        var generator = SplitMix64(seed: 0)
        let conv = Conv2d<Double>(
            inputChannels: 2, outputChannels: 3, kernelSize: (2, 3), stride: (1, 2), padding: (1, 0), using: &generator)
        fillDeterministically(conv)
        let y = conv(Tape<Double>(recording: false).constant(deterministicInput([1, 2, 3, 5])))
        #expect(y.shape == [1, 3, 4, 2])
        expectClose(
            y.value,
            [
                0.32264996666, 0.033516615029, 0.418415952205, 0.785039602216, 0.498163120328, 0.004292749092,
                0.147438960905, 0.551886965119, -0.106393755931, 0.130721434462, 0.6209540998, 0.304989709481,
                -0.137412924374, -0.017680320811, 0.581629321691, 0.370619947285, 0.452932436168, 0.495803331619,
                -0.398240527531, -0.436710731547, 0.309635086965, 0.679153893084, -0.086421714037, -0.271720170168,
            ])
        expectClose(
            y.maxPool2d(kernel: (2, 2), stride: (1, 1)).value,
            [
                0.785039602216, 0.785039602216, 0.551886965119, 0.6209540998, 0.6209540998, 0.581629321691,
                0.495803331619, 0.679153893084, 0.679153893084,
            ])
    }
}

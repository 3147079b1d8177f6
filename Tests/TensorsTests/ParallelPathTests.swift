import Testing

@testable import Tensors

/// Large inputs split their rows across threads; each row is computed the same way either way,
/// so the results must equal, bit for bit, the same rows computed in small serial slices.
struct ParallelPathTests {
    typealias Kernel = (Variable<Double>) -> Variable<Double>

    /// Forward value and input gradient of `kernel` on `x`, seeded with `dy`.
    func run(_ kernel: Kernel, _ x: Tensor<Double>, _ dy: Tensor<Double>) -> (y: [Double], dx: [Double]) {
        let tape = Tape<Double>()
        let input = tape.variable(x)
        let y = kernel(input)
        tape.backward(y, gradient: dy)
        return (y.value.scalars, input.grad?.scalars ?? [])
    }

    @Test func largeInputsMatchSerialSlices() {
        var generator = SplitMix64(seed: 8)
        let (rows, columns, slice) = (600, 128, 50)
        let x = Tensor<Double>.randomUniform(shape: [rows, columns], in: -3..<3, using: &generator)
        let dy = Tensor<Double>.randomUniform(shape: [rows, columns], in: -1..<1, using: &generator)
        let gamma = Tensor<Double>.randomUniform(shape: [columns], in: 0.5..<1.5, using: &generator)
        let kernels: [(String, Kernel)] = [
            ("softmax", { $0.softmax() }), ("logSoftmax", { $0.logSoftmax() }), ("tanh", { $0.tanh() }),
            ("gelu", { $0.gelu() }),
            ("layerNorm", { $0.layerNorm(weight: $0.constant(gamma), bias: $0.constant(Tensor(zeros: [columns]))) }),
        ]
        for (name, kernel) in kernels {
            let whole = run(kernel, x, dy)
            var pieces: (y: [Double], dx: [Double]) = ([], [])
            for start in stride(from: 0, to: rows, by: slice) {
                let range = (start * columns)..<((start + slice) * columns)
                let part = run(
                    kernel, Tensor(shape: [slice, columns], scalars: Array(x.scalars[range])),
                    Tensor(shape: [slice, columns], scalars: Array(dy.scalars[range])))
                pieces.y += part.y
                pieces.dx += part.dx
            }
            #expect(whole.y == pieces.y, "\(name) forward")
            #expect(whole.dx == pieces.dx, "\(name) backward")
        }
    }
}

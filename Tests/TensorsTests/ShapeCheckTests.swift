import Testing

@testable import Tensors

/// Shape errors are programmer errors: they trap, and the message names both shapes.
struct ShapeCheckTests {
    @Test func mismatchedMatmulTrapsNamingBothShapes() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let tape = Tape<Float>()
            _ = tape.constant(Tensor(zeros: [2, 3])).matmul(tape.constant(Tensor(zeros: [4, 5])))
        }
        let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(message.contains("[2, 3]") && message.contains("[4, 5]"), "\(message)")
    }

    @Test func incompatibleBroadcastTraps() async {
        await #expect(processExitsWith: .failure) {
            let tape = Tape<Float>()
            _ = tape.constant(Tensor(zeros: [2, 3])) + tape.constant(Tensor(zeros: [2]))
        }
    }
}

import Foundation
import NeuralNet
import Tensors
import Testing
import _RecTestSupport

/// Files written by Python's `safetensors` package from a torch module (Fixtures/make_torch_gru.py,
/// safetensors 0.8.0, torch 2.15.0): RecKit reads them with the strict state-dict loader and
/// computes what torch computed.
struct SafetensorsInteropTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/torch_gru.safetensors")

    @Test func aGRUStateWrittenByTorchLoadsAndGivesTorchsOutput() throws {
        let (tensors, metadata) = try SafeTensors.read(from: Self.fixture)
        let input = try JSONDecoder().decode([Float].self, from: Data((metadata["input"] ?? "").utf8))
        let expected = try JSONDecoder().decode([Float].self, from: Data((metadata["output"] ?? "").utf8))
        #expect(input.count == 2 * 5 * 4 && expected.count == 2 * 5 * 3)
        var generator = SplitMix64(seed: 1)
        let gru = GRU<Float>(inputSize: 4, hiddenSize: 3, using: &generator)
        try StateDict.load(tensors, into: gru)
        let tape = Tape<Float>(recording: false)
        let output = gru(tape.constant(Tensor(shape: [2, 5, 4], scalars: input))).output
        #expect(allClose(output.value.scalars, expected, rtol: 1e-5, atol: 1e-6))
    }

    @Test func rewritingTorchsFileKeepsEveryTensorTheMetadataAndTheSize() throws {
        // Rewriting torch's file gives the same tensors and metadata, and a file of the same
        // size: the same 8-byte header alignment as the reference writer (Python reads RecKit's
        // files back in benchmarks/safetensors_interop.sh).
        let (tensors, metadata) = try SafeTensors.read(from: Self.fixture)
        let copy = temporaryDirectory("interop").appendingPathComponent("copy.safetensors")
        try SafeTensors.write(tensors, metadata: metadata, to: copy)
        let (again, metadataAgain) = try SafeTensors.read(from: copy)
        #expect(again == tensors && metadataAgain == metadata)
        #expect(try Data(contentsOf: copy).count == Data(contentsOf: Self.fixture).count)
    }
}

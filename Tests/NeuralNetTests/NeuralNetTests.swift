import Testing

@testable import NeuralNet

struct NeuralNetTests {
    @Test func moduleLoads() { #expect(String(describing: NeuralNet.self) == "NeuralNet") }
}

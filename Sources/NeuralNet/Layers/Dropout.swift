import Tensors

/// Inverted dropout (`torch.nn.Dropout`); active only while the input's tape records, so an
/// inference tape (`Tape(recording: false)`) gives the identity, like `model.eval()`.
public struct Dropout<Scalar: TensorScalar>: Layer {
    /// Probability of zeroing an element, in `[0, 1)`.
    public let probability: Scalar

    /// A dropout layer; it has no parameters.
    public init(probability: Scalar) {
        checkArgument(probability >= 0 && probability < 1, "Dropout: probability \(probability) outside [0, 1)")
        self.probability = probability
    }

    public var namedParameters: [(name: String, parameter: Parameter<Scalar>)] { [] }

    /// `x` with elements dropped (training) or `x` itself (inference).
    public func callAsFunction(
        _ x: Variable<Scalar>, using generator: inout some RandomNumberGenerator
    ) -> Variable<Scalar> {
        guard x.isRecording, probability > 0 else { return x }
        return x.dropout(probability: probability, using: &generator)
    }
}

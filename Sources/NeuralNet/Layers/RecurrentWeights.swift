import Tensors

/// The weights of one recurrent layer, torch layout: gate blocks stacked along the first axis.
public struct RecurrentWeights<Scalar: TensorScalar>: Sendable {
    /// `(gates · H, inputSize)`.
    public let weightIH: Parameter<Scalar>
    /// `(gates · H, H)`.
    public let weightHH: Parameter<Scalar>
    /// `(gates · H)`.
    public let biasIH: Parameter<Scalar>
    /// `(gates · H)`.
    public let biasHH: Parameter<Scalar>

    /// The input size this layer expects.
    public var inputSize: Int { weightIH.shape[1] }

    init(inputSize: Int, hiddenSize: Int, gates: Int, using generator: inout some RandomNumberGenerator) {
        checkArgument(
            inputSize > 0 && hiddenSize > 0, "recurrent layer: sizes \(inputSize), \(hiddenSize) must be positive")
        let bound = 1 / Scalar.sqrt(Scalar(hiddenSize))
        let rows = gates * hiddenSize
        weightIH = Parameter(Initializer.uniform(shape: [rows, inputSize], bound: bound, using: &generator))
        weightHH = Parameter(Initializer.uniform(shape: [rows, hiddenSize], bound: bound, using: &generator))
        biasIH = Parameter(Initializer.uniform(shape: [rows], bound: bound, using: &generator))
        biasHH = Parameter(Initializer.uniform(shape: [rows], bound: bound, using: &generator))
    }

    func namedParameters(layer: Int) -> [(name: String, parameter: Parameter<Scalar>)] {
        [
            ("weight_ih_l\(layer)", weightIH), ("weight_hh_l\(layer)", weightHH),
            ("bias_ih_l\(layer)", biasIH), ("bias_hh_l\(layer)", biasHH),
        ]
    }

    func bind(on x: Variable<Scalar>) -> (
        ih: Variable<Scalar>, hh: Variable<Scalar>, bih: Variable<Scalar>, bhh: Variable<Scalar>
    ) {
        (x.parameter(weightIH), x.parameter(weightHH), x.parameter(biasIH), x.parameter(biasHH))
    }
}

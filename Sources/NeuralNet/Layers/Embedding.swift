import Tensors

/// A lookup table, `y[p] = W[index[p]]` (`torch.nn.Embedding`), with a row-sparse gradient.
///
/// Key: `weight` `(count, dimension)`.
public struct Embedding<Scalar: TensorScalar>: Layer {
    /// `(count, dimension)`.
    public let weight: Parameter<Scalar>
    /// A row that outputs zeros and never gets a gradient (`padding_idx`), or `nil`.
    public let paddingIndex: Int?

    /// A table drawn from `N(0, standardDeviation²)` with the padding row zeroed. torch draws
    /// `N(0, 1)`; 0.02 is the default here because sequence recommenders (SASRec) use it.
    public init(
        count: Int, dimension: Int, paddingIndex: Int? = nil, standardDeviation: Scalar = 0.02,
        using generator: inout some RandomNumberGenerator
    ) {
        checkArgument(count > 0 && dimension > 0, "Embedding: shape (\(count), \(dimension)) must be positive")
        checkArgument(
            paddingIndex.map { $0 >= 0 && $0 < count } ?? true,
            "Embedding: padding index \(paddingIndex ?? -1) out of 0..<\(count)")
        var value = Initializer.normal(
            shape: [count, dimension], standardDeviation: standardDeviation, using: &generator)
        if let paddingIndex {
            for j in 0..<dimension { value.scalars[paddingIndex * dimension + j] = 0 }
        }
        weight = Parameter(value)
        self.paddingIndex = paddingIndex
    }

    public var namedParameters: [(name: String, parameter: Parameter<Scalar>)] { [("weight", weight)] }

    /// Rows for `indices` of shape `shape` → `shape + [dimension]`, recorded on `tape`.
    public func callAsFunction(_ indices: [Int32], shape: [Int], on tape: Tape<Scalar>) -> Variable<Scalar> {
        Variable.gather(rowsOf: weight, indices: indices, shape: shape, paddingIndex: paddingIndex, on: tape)
    }
}

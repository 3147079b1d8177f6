import Tensors

/// Random initial values, as `torch.nn.init` draws them.
public enum Initializer {
    /// `U(-bound, bound)` with `bound = gain · √(6 / (fanIn + fanOut))` (Glorot & Bengio 2010).
    /// For a `(out, in)` weight, `fanIn = in` and `fanOut = out`.
    public static func xavierUniform<Scalar: TensorScalar>(
        shape: [Int], gain: Scalar = 1, using generator: inout some RandomNumberGenerator
    ) -> Tensor<Scalar> {
        checkArgument(shape.count >= 2, "xavierUniform: shape \(shape) needs (out, in, …)")
        let receptive = shape.dropFirst(2).reduce(1, *)
        let (fanIn, fanOut) = (shape[1] * receptive, shape[0] * receptive)
        let bound = gain * Scalar.sqrt(6 / Scalar(fanIn + fanOut))
        return Tensor.randomUniform(shape: shape, in: -bound..<bound, using: &generator)
    }

    /// `N(0, standardDeviation²)`; 0.02 is the BERT / GPT-2 / SASRec convention.
    public static func normal<Scalar: TensorScalar>(
        shape: [Int], standardDeviation: Scalar = 0.02, using generator: inout some RandomNumberGenerator
    ) -> Tensor<Scalar> {
        Tensor.randomNormal(shape: shape, standardDeviation: standardDeviation, using: &generator)
    }

    /// `U(-bound, bound)`, the shape of torch's default `Linear`, `GRU` and `LSTM` draws
    /// (`bound = 1/√fanIn` for Linear, `1/√hidden` for recurrent layers).
    public static func uniform<Scalar: TensorScalar>(
        shape: [Int], bound: Scalar, using generator: inout some RandomNumberGenerator
    ) -> Tensor<Scalar> {
        Tensor.randomUniform(shape: shape, in: -bound..<bound, using: &generator)
    }
}

import Tensors

/// Updates parameters from their accumulated gradients.
///
/// Every optimizer here is lazy for row-sparse gradients (``Parameter/gradientRows``): only the
/// rows a batch touched are updated, and their state (momentum, moments) advances only then, as
/// in `torch.optim.SparseAdam`. Dense gradients update every element, as in torch.
public protocol Optimizer<Scalar> {
    associatedtype Scalar: TensorScalar
    /// The parameters updated by ``step()``.
    var parameters: [Parameter<Scalar>] { get }
    /// The step size; schedules set it before each step.
    var learningRate: Scalar { get set }
    /// Applies one update from the current gradients (it does not clear them).
    mutating func step()
}

extension Optimizer {
    /// Clears every parameter's gradient.
    public func zeroGradients() {
        for parameter in parameters { parameter.zeroGradient() }
    }
}

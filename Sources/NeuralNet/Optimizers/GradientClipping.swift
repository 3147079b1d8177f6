import Tensors

/// Rescales gradients so their global L2 norm is at most `maxNorm`
/// (`torch.nn.utils.clip_grad_norm_`: factor `maxNorm / (norm + 1e-6)` when below 1).
///
/// - Returns: The norm before clipping.
@discardableResult
@_specialize(where Scalar == Float)
public func clipGradientNorm<Scalar: TensorScalar>(_ parameters: [Parameter<Scalar>], maxNorm: Scalar) -> Scalar {
    var total: Scalar = 0
    for parameter in parameters {
        for g in parameter.grad.scalars { total += g * g }
    }
    let norm = Scalar.sqrt(total)
    let factor = maxNorm / (norm + 1e-6)
    if factor < 1 {
        for parameter in parameters { parameter.scaleGradient(by: factor) }
    }
    return norm
}

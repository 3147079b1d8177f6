import RealModule

/// The element types a ``Tensor`` can hold: `Float` for training and serving, `Double` for
/// gradient checks.
///
/// Every kernel is generic over this protocol, so a gradient check runs exactly the code that
/// trains, only in Float64. The one type-specific piece is the matrix product, which goes to
/// `BLAS.gemm` (`sgemm` or `dgemm`).
public protocol TensorScalar: Real, BinaryFloatingPoint, Sendable {
    /// `C = alpha * op(A) * op(B) + beta * C`, row-major, through ``BLAS/gemm``.
    static func _gemm(
        _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int, alpha: Self,
        a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int, beta: Self,
        c: UnsafeMutablePointer<Self>, ldc: Int)
    /// The safetensors dtype with this element type.
    static var safeTensorDType: SafeTensor.DType { get }
    /// GELU over `count` elements, `y = x · Φ(x)`: SIMD for `Float` (``VectorMath``), the
    /// library's `erf` for `Double`.
    static func _gelu(_ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, _ count: Int)
    /// GELU's backward, `dx += dy · (Φ(x) + x · φ(x))`.
    static func _geluBackward(
        _ x: UnsafePointer<Self>, _ dy: UnsafePointer<Self>, _ dx: UnsafeMutablePointer<Self>, _ count: Int)
    /// The logistic function over `count` elements, `y = 1 / (1 + e^-x)` (`x` and `y` may be the
    /// same buffer): SIMD for `Float`, the scalar formula for `Double`.
    static func _sigmoid(_ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, _ count: Int)
    /// `y = tanh(x)` over `count` elements (`x` and `y` may be the same buffer).
    static func _tanh(_ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, _ count: Int)
    /// `log Σ exp(z[j])` over `count` elements, stable (shifted by the largest); NaN if any element
    /// is NaN, `-inf` if all are `-inf`.
    static func _logSumExp(_ z: UnsafePointer<Self>, _ count: Int) -> Self
    /// `z[j] = scale · exp(z[j] - shift)` in place.
    static func _scaledExp(_ z: UnsafeMutablePointer<Self>, _ count: Int, shift: Self, scale: Self)
}

extension TensorScalar {
    /// The scalar reference of ``_logSumExp(_:_:)``, which `Double` uses.
    static func scalarLogSumExp(_ z: UnsafePointer<Self>, _ count: Int) -> Self {
        var peak = -Self.infinity
        var hasNaN = false
        for j in 0..<count {
            let v = z[j]
            if v.isNaN { hasNaN = true } else if v > peak { peak = v }
        }
        if hasNaN { return .nan }
        if peak == -.infinity { return peak }
        var sum: Self = 0
        for j in 0..<count { sum += .exp(z[j] - peak) }
        return peak + .log(sum)
    }
}

extension Float: TensorScalar {
    public static func _gemm(
        _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        BLAS.gemm(
            transA, transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c,
            ldc: ldc)
    }
    public static var safeTensorDType: SafeTensor.DType { .f32 }
    public static func _gelu(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ count: Int) {
        VectorMath.gelu(x, y, count)
    }
    public static func _geluBackward(
        _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, _ count: Int
    ) {
        VectorMath.geluBackward(x, dy, dx, count)
    }
    public static func _sigmoid(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ count: Int) {
        VectorMath.sigmoid(x, y, count)
    }
    public static func _tanh(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ count: Int) {
        VectorMath.tanh(x, y, count)
    }
    public static func _logSumExp(_ z: UnsafePointer<Float>, _ count: Int) -> Float {
        VectorMath.logSumExp(z, count)
    }
    public static func _scaledExp(_ z: UnsafeMutablePointer<Float>, _ count: Int, shift: Float, scale: Float) {
        VectorMath.scaledExp(z, count, shift: shift, scale: scale)
    }
}

extension Double: TensorScalar {
    public static func _gemm(
        _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int, alpha: Double,
        a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int, beta: Double,
        c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        BLAS.gemm(
            transA, transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c,
            ldc: ldc)
    }
    public static var safeTensorDType: SafeTensor.DType { .f64 }
    // The exact scalar formulas every other unary op uses (`Variable.apply` / `derivative`).
    public static func _gelu(_ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>, _ count: Int) {
        for i in 0..<count { y[i] = Variable<Double>.apply(.gelu, x[i]) }
    }
    public static func _geluBackward(
        _ x: UnsafePointer<Double>, _ dy: UnsafePointer<Double>, _ dx: UnsafeMutablePointer<Double>, _ count: Int
    ) {
        // GELU's derivative reads only x; the output argument is unused.
        for i in 0..<count { dx[i] += dy[i] * Variable<Double>.derivative(.gelu, x[i], 0) }
    }
    public static func _sigmoid(_ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>, _ count: Int) {
        for i in 0..<count { y[i] = Variable<Double>.apply(.sigmoid, x[i]) }
    }
    public static func _tanh(_ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>, _ count: Int) {
        for i in 0..<count { y[i] = Variable<Double>.apply(.tanh, x[i]) }
    }
    public static func _logSumExp(_ z: UnsafePointer<Double>, _ count: Int) -> Double {
        scalarLogSumExp(z, count)
    }
    public static func _scaledExp(_ z: UnsafeMutablePointer<Double>, _ count: Int, shift: Double, scale: Double) {
        for j in 0..<count { z[j] = scale * .exp(z[j] - shift) }
    }
}

extension TensorScalar {
    /// A uniform draw from `[0, 1)` with 53 (or 24) random bits.
    static func unitRandom(using generator: inout some RandomNumberGenerator) -> Self {
        Self(Double(generator.next() >> 11) * 0x1.0p-53)
    }

    /// A standard normal draw (Box–Muller; one of the pair is discarded to keep the stream simple).
    static func normalRandom(using generator: inout some RandomNumberGenerator) -> Self {
        let u1 = 1 - Double(generator.next() >> 11) * 0x1.0p-53  // (0, 1], so log is finite
        let u2 = Double(generator.next() >> 11) * 0x1.0p-53
        return Self(Double.sqrt(-2 * Double.log(u1)) * Double.cos(2 * Double.pi * u2))
    }
}

/// Small dense vector kernels on contiguous `Float` buffers, vectorized with `SIMD16`, for the
/// factor models (ALS, BPR, hybrid). `n` is the factor count (tens to hundreds).
///
/// They use separate multiply and add, not `addingProduct`: without FMA in the target, the
/// latter becomes one `fmaf` library call per lane.
public enum FactorKernels {
    @usableFromInline @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
    }

    @inline(__always)
    static func store(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
    }

    /// `Σ a[k] b[k]`.
    @inlinable @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD16<Float>()
        var k = 0
        while k + 16 <= n {
            acc += load(a + k) * load(b + k)
            k += 16
        }
        var sum = acc.sum()
        while k < n {
            sum += a[k] * b[k]
            k += 1
        }
        return sum
    }

    /// `y += alpha · x`.
    @inline(__always)
    static func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        let a = SIMD16<Float>(repeating: alpha)
        var k = 0
        while k + 16 <= n {
            store(load(y + k) + a * load(x + k), y + k)
            k += 16
        }
        while k < n {
            y[k] += alpha * x[k]
            k += 1
        }
    }

    /// `y = alpha · y + x` (the conjugate-gradient direction update).
    @inline(__always)
    static func scaleAdd(_ alpha: Float, _ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int) {
        let a = SIMD16<Float>(repeating: alpha)
        var k = 0
        while k + 16 <= n {
            store(a * load(y + k) + load(x + k), y + k)
            k += 16
        }
        while k < n {
            y[k] = alpha * y[k] + x[k]
            k += 1
        }
    }

    /// `y = M x` for a row-major `(n, n)` matrix `M`.
    @inline(__always)
    static func symv(_ m: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        for r in 0..<n { y[r] = dot(m + r * n, x, n) }
    }
}

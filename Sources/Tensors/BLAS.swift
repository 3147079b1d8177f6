#if canImport(Accelerate)
    import Accelerate
#elseif canImport(CBLAS)
    import CBLAS
#endif

/// Whether an operand of a matrix product is used as stored or transposed.
public enum Transpose: Sendable {
    case none
    case transposed

    #if canImport(Accelerate) || canImport(CBLAS)
        var cblas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
    #endif
}

/// The one entry point for dense matrix products, backed by the platform BLAS
/// (OpenBLAS on Linux, Accelerate on macOS).
///
/// All matrices are row-major. `gemmReference` is the plain Swift oracle that tests
/// compare against.
public enum BLAS {
    /// `C = alpha * op(A) * op(B) + beta * C`, with `op(A)` of shape `(m, k)` and `op(B)` of `(k, n)`.
    ///
    /// - Parameters:
    ///   - a: Row-major `A`, `(m, k)` or, transposed, `(k, m)`; leading dimension `lda`.
    ///   - b: Row-major `B`, `(k, n)` or, transposed, `(n, k)`; leading dimension `ldb`.
    ///   - c: Row-major `C`, `(m, n)`, leading dimension `ldc`; overwritten.
    /// - Complexity: O(m n k)
    public static func gemm(
        _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        cblas_sgemm(
            CblasRowMajor, transA.cblas, transB.cblas, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda),
            b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// The Float64 variant of ``gemm(_:_:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)-(_,_,_,_,_,Float,_,_,_,_,Float,_,_)``.
    public static func gemm(
        _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
        alpha: Double = 1, a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
        beta: Double = 0, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        cblas_dgemm(
            CblasRowMajor, transA.cblas, transB.cblas, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda),
            b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// `C = A · B` for whole matrices (a convenience over ``gemm``).
    public static func matmul(
        _ a: Matrix<Float>, _ b: Matrix<Float>, transposeA: Bool = false, transposeB: Bool = false
    ) -> Matrix<Float> {
        let m = transposeA ? a.columns : a.rows
        let k = transposeA ? a.rows : a.columns
        let kb = transposeB ? b.columns : b.rows
        let n = transposeB ? b.rows : b.columns
        precondition(k == kb, "matmul: inner dimensions differ, A gives \(k), B gives \(kb)")
        var c = Matrix<Float>(rows: m, columns: n)
        a.storage.withUnsafeBufferPointer { pa in
            b.storage.withUnsafeBufferPointer { pb in
                c.storage.withUnsafeMutableBufferPointer { pc in
                    guard let pa = pa.baseAddress, let pb = pb.baseAddress, let pc = pc.baseAddress else { return }
                    gemm(
                        transposeA ? .transposed : .none, transposeB ? .transposed : .none, m: m, n: n, k: k,
                        a: pa, lda: a.columns, b: pb, ldb: b.columns, c: pc, ldc: n)
                }
            }
        }
        return c
    }

    /// Plain triple-loop `C = alpha * op(A) * op(B) + beta * C` in any floating-point type: the test oracle.
    public static func gemmReference<T: BinaryFloatingPoint>(
        _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
        alpha: T = 1, a: [T], lda: Int, b: [T], ldb: Int, beta: T = 0, c: inout [T], ldc: Int
    ) {
        for i in 0..<m {
            for j in 0..<n {
                var sum: T = 0
                for p in 0..<k {
                    let av = transA == .none ? a[i * lda + p] : a[p * lda + i]
                    let bv = transB == .none ? b[p * ldb + j] : b[j * ldb + p]
                    sum += av * bv
                }
                c[i * ldc + j] = alpha * sum + (beta == 0 ? 0 : beta * c[i * ldc + j])
            }
        }
    }

    /// Sets the number of threads the BLAS library uses (OpenBLAS only; Accelerate ignores it).
    public static func setThreadCount(_ count: Int) {
        #if canImport(CBLAS) && !canImport(Accelerate)
            openblas_set_num_threads(Int32(count))
        #endif
    }
}

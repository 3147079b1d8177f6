/// Whether an operand of a matrix product is used as stored or transposed.
import Dispatch
import Foundation

#if canImport(Accelerate)
    import Accelerate
#elseif canImport(CBLAS)
    import CBLAS
#endif

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
        splitRows(transA, m: m, n: n, k: k, lda: lda, ldc: ldc) { rows, aOffset in
            cblas_sgemm(
                CblasRowMajor, transA.cblas, transB.cblas, Int32(rows.count), Int32(n), Int32(k), alpha,
                a + aOffset, Int32(lda), b, Int32(ldb), beta, c + rows.lowerBound * ldc, Int32(ldc))
        }
    }

    /// The Float64 variant of ``gemm(_:_:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)-(_,_,_,_,_,Float,_,_,_,_,Float,_,_)``.
    public static func gemm(
        _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
        alpha: Double = 1, a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
        beta: Double = 0, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        splitRows(transA, m: m, n: n, k: k, lda: lda, ldc: ldc) { rows, aOffset in
            cblas_dgemm(
                CblasRowMajor, transA.cblas, transB.cblas, Int32(rows.count), Int32(n), Int32(k), alpha,
                a + aOffset, Int32(lda), b, Int32(ldb), beta, c + rows.lowerBound * ldc, Int32(ldc))
        }
    }

    // MARK: Threads

    /// The number of threads OpenBLAS's own kernels use.
    public static var kernelThreads: Int { Int(openblas_get_num_threads()) }

    /// Runs `body` with OpenBLAS's kernels on one thread and large products split across
    /// ``Parallel`` instead, then restores the previous setting.
    ///
    /// Training interleaves many mid-sized products with element-wise kernels that
    /// ``Parallel`` spreads over the cores; OpenBLAS's own threads spin (`sched_yield`) between
    /// its calls and take the cores from those kernels. On this 2-core machine, `reckit train
    /// --data ml-100k --model sasrec --param epochs=2 --param max_length=200` (loading included)
    /// took 38-45 s with OpenBLAS's 2 threads and 30 s with `OPENBLAS_NUM_THREADS=1`, under the
    /// same background load.
    ///
    /// The thread count is one setting for the whole process, and a product's rounding follows
    /// it (OpenBLAS's blocking, and whether ``gemm`` splits the rows). So the whole body holds
    /// ``kernelThreadsLock``: concurrent sections run one after another, each restoring what it
    /// found, and a caller inside ``withSteadyKernelThreads(_:)`` never sees the count change
    /// mid-computation. The lock is recursive: a section may nest on its own thread, but code
    /// that `body` hands to other threads must not enter a section.
    public static func withSingleThreadedKernels<R>(_ body: () throws -> R) rethrows -> R {
        kernelThreadsLock.lock()
        defer { kernelThreadsLock.unlock() }
        let previous = openblas_get_num_threads()
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(previous) }
        return try body()
    }

    /// Runs `body` while no other thread changes the kernels' thread count (no single-threaded
    /// section starts or ends), for products that must repeat bit for bit: a model's vectors
    /// recomputed on load must equal those computed when it was trained.
    ///
    /// Products outside both this and ``withSingleThreadedKernels(_:)`` run with whatever count
    /// holds when they start, which is 1 while another thread trains.
    public static func withSteadyKernelThreads<R>(_ body: () throws -> R) rethrows -> R {
        kernelThreadsLock.lock()
        defer { kernelThreadsLock.unlock() }
        return try body()
    }

    /// Held by every caller that changes OpenBLAS's thread count or needs it steady.
    private static let kernelThreadsLock = NSRecursiveLock()

    /// Splits the rows of `C` (and of `op(A)`) into one block per ``Parallel`` chunk when the
    /// kernels are single-threaded and the product is large enough to pay for it; otherwise one
    /// call covers everything. `body` gets each block's rows and the offset of its `op(A)` rows.
    static func splitRows(
        _ transA: Transpose, m: Int, n: Int, k: Int, lda: Int, ldc: Int,
        _ body: (_ rows: Range<Int>, _ aOffset: Int) -> Void
    ) {
        let flops = Double(m) * Double(n) * Double(k)
        guard Parallel.threadCount > 1, m >= 2 * Parallel.threadCount, flops >= 4e6, openblas_get_num_threads() == 1
        else {
            body(0..<m, 0)
            return
        }
        let blocks = Parallel.threadCount
        withoutActuallyEscaping(body) { body in
            nonisolated(unsafe) let work = body
            DispatchQueue.concurrentPerform(iterations: blocks) { block in
                let rows = (m * block / blocks)..<(m * (block + 1) / blocks)
                guard !rows.isEmpty else { return }
                // Row r of op(A) starts at r·lda in A, or at column r when A is transposed.
                work(rows, transA == .none ? rows.lowerBound * lda : rows.lowerBound)
            }
        }
    }

    /// `C = A · B` for whole matrices (a convenience over ``gemm``).
    public static func matmul(
        _ a: Matrix<Float>, _ b: Matrix<Float>, transposeA: Bool = false, transposeB: Bool = false
    ) -> Matrix<Float> {
        let m = transposeA ? a.columns : a.rows
        let k = transposeA ? a.rows : a.columns
        let kb = transposeB ? b.columns : b.rows
        let n = transposeB ? b.rows : b.columns
        checkArgument(k == kb, "matmul: inner dimensions differ, A gives \(k), B gives \(kb)")
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
            withSteadyKernelThreads { openblas_set_num_threads(Int32(count)) }
        #endif
    }
}

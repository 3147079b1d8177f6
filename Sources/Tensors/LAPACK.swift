#if canImport(Accelerate)
    import Accelerate
#elseif canImport(CBLAS)
    import CBLAS
#endif

/// Failures of dense linear algebra.
public enum LinearAlgebraError: Error, Equatable, CustomStringConvertible {
    /// The matrix is not symmetric positive definite: LAPACK's leading minor `order` is not positive.
    case notPositiveDefinite(order: Int)
    /// LAPACK reported an illegal argument (a bug in RecKit).
    case illegalArgument(routine: String, position: Int)
    /// An iterative LAPACK routine did not converge.
    case noConvergence(routine: String)

    public var description: String {
        switch self {
        case .notPositiveDefinite(let order):
            return "matrix is not positive definite (leading minor of order \(order) is not positive)"
        case .illegalArgument(let routine, let position):
            return "\(routine): argument \(position) is illegal"
        case .noConvergence(let routine):
            return "\(routine) did not converge"
        }
    }
}

/// Dense solves from LAPACK (in OpenBLAS on Linux, Accelerate on macOS).
public enum LAPACK {
    /// Inverts a symmetric positive definite matrix in place by Cholesky factorization
    /// (`dpotrf` then `dpotri`) and fills both triangles.
    ///
    /// - Parameter matrix: A symmetric positive definite `(n, n)` matrix; replaced by its inverse.
    /// - Throws: ``LinearAlgebraError/notPositiveDefinite(order:)``.
    /// - Complexity: O(n³)
    public static func invertSymmetricPositiveDefinite(_ matrix: inout Matrix<Double>) throws {
        checkArgument(matrix.rows == matrix.columns, "spd inverse: matrix is \(matrix.rows)×\(matrix.columns)")
        let n = matrix.rows
        guard n > 0 else { return }
        var info: Int32 = 0
        var order = Int32(n)
        var uplo: CChar = 85  // "U": row-major lower == column-major upper
        matrix.storage.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            dpotrf_(&uplo, &order, base, &order, &info)
            if info == 0 { dpotri_(&uplo, &order, base, &order, &info) }
        }
        if info > 0 { throw LinearAlgebraError.notPositiveDefinite(order: Int(info)) }
        if info < 0 { throw LinearAlgebraError.illegalArgument(routine: "dpotrf/dpotri", position: Int(-info)) }
        // Column-major upper triangle = row-major lower triangle; mirror it to the upper.
        for r in 0..<n {
            for c in (r + 1)..<n { matrix.storage[r * n + c] = matrix.storage[c * n + r] }
        }
    }
}

extension LAPACK {
    /// Solves `A x = b` for a symmetric positive definite `A` by Cholesky (`dpotrf`, then
    /// `dpotrs`); `matrix` is replaced by its Cholesky factor, which
    /// ``solveWithCholesky(factor:_:)`` reuses for further right-hand sides.
    ///
    /// - Throws: ``LinearAlgebraError/notPositiveDefinite(order:)``.
    /// - Complexity: O(n³)
    public static func solveSymmetricPositiveDefinite(_ matrix: inout Matrix<Double>, _ b: [Double]) throws -> [Double]
    {
        checkArgument(matrix.rows == matrix.columns, "spd solve: matrix is \(matrix.rows)×\(matrix.columns)")
        checkArgument(b.count == matrix.rows, "spd solve: matrix has \(matrix.rows) rows, b has \(b.count)")
        var info: Int32 = 0
        var order = Int32(matrix.rows)
        var uplo: CChar = 85  // "U" in column-major is the lower triangle in row-major; A is symmetric
        matrix.storage.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            dpotrf_(&uplo, &order, base, &order, &info)
        }
        if info > 0 { throw LinearAlgebraError.notPositiveDefinite(order: Int(info)) }
        if info < 0 { throw LinearAlgebraError.illegalArgument(routine: "dpotrf", position: Int(-info)) }
        return try solveWithCholesky(factor: &matrix, b)
    }

    /// Solves `A x = b` given the Cholesky factor that
    /// ``solveSymmetricPositiveDefinite(_:_:)`` left in `factor`.
    public static func solveWithCholesky(factor: inout Matrix<Double>, _ b: [Double]) throws -> [Double] {
        checkArgument(b.count == factor.rows, "cholesky solve: factor has \(factor.rows) rows, b has \(b.count)")
        guard !b.isEmpty else { return [] }
        var x = b
        var info: Int32 = 0
        var order = Int32(factor.rows)
        var one: Int32 = 1
        var uplo: CChar = 85
        factor.storage.withUnsafeMutableBufferPointer { a in
            x.withUnsafeMutableBufferPointer { x in
                guard let a = a.baseAddress, let x = x.baseAddress else { return }
                dpotrs_(&uplo, &order, &one, a, &order, x, &order, &info)
            }
        }
        if info != 0 { throw LinearAlgebraError.illegalArgument(routine: "dpotrs", position: Int(-info)) }
        return x
    }
}

extension LAPACK {
    /// The `count` largest eigenvalues of a symmetric matrix and their eigenvectors (`dsyevr`, the
    /// relatively robust representations algorithm), largest first.
    ///
    /// - Parameters:
    ///   - matrix: A symmetric `(n, n)` matrix (only one triangle is read); destroyed.
    ///   - count: How many eigenpairs, `1...n`.
    /// - Returns: The eigenvalues, descending, and the eigenvectors as the rows of a
    ///   `(count, n)` matrix, each of unit length.
    /// - Complexity: O(n³) for the reduction to tridiagonal form.
    public static func largestEigenpairs(_ matrix: inout Matrix<Double>, count: Int) throws -> (
        values: [Double], vectors: Matrix<Double>
    ) {
        checkArgument(matrix.rows == matrix.columns, "eigen: matrix is \(matrix.rows)×\(matrix.columns)")
        let n = matrix.rows
        checkArgument(count >= 1 && count <= n, "eigen: \(count) eigenpairs of a \(n)×\(n) matrix")
        var jobz: CChar = 86  // "V": vectors too
        var range: CChar = 73  // "I": by index
        var uplo: CChar = 85
        var order = Int32(n)
        var lower: Double = 0
        var upper: Double = 0
        var first = Int32(n - count + 1)  // LAPACK numbers eigenvalues ascending, from 1
        var last = Int32(n)
        var tolerance: Double = 0
        var found: Int32 = 0
        var values = [Double](repeating: 0, count: n)
        var vectors = [Double](repeating: 0, count: n * count)  // column-major (n, count)
        var support = [Int32](repeating: 0, count: 2 * count)
        var info: Int32 = 0
        func call(_ work: inout [Double], _ lwork: Int32, _ iwork: inout [Int32], _ liwork: Int32) {
            var lwork = lwork
            var liwork = liwork
            matrix.storage.withUnsafeMutableBufferPointer { a in
                guard let a = a.baseAddress else { return }
                dsyevr_(
                    &jobz, &range, &uplo, &order, a, &order, &lower, &upper, &first, &last, &tolerance, &found,
                    &values, &vectors, &order, &support, &work, &lwork, &iwork, &liwork, &info)
            }
        }
        var work = [Double](repeating: 0, count: 1)
        var iwork = [Int32](repeating: 0, count: 1)
        call(&work, -1, &iwork, -1)  // workspace query
        if info != 0 { throw LinearAlgebraError.illegalArgument(routine: "dsyevr", position: Int(-info)) }
        let lwork = Int32(work[0])
        let liwork = iwork[0]
        work = [Double](repeating: 0, count: Int(lwork))
        iwork = [Int32](repeating: 0, count: Int(liwork))
        call(&work, lwork, &iwork, liwork)
        if info > 0 { throw LinearAlgebraError.noConvergence(routine: "dsyevr") }
        if info < 0 { throw LinearAlgebraError.illegalArgument(routine: "dsyevr", position: Int(-info)) }
        // Ascending from LAPACK; reverse so the largest comes first.
        var result = Matrix<Double>(rows: count, columns: n)
        for k in 0..<count {
            let source = count - 1 - k
            for i in 0..<n { result[k, i] = vectors[source * n + i] }
        }
        return (Array(values.prefix(count).reversed()), result)
    }
}

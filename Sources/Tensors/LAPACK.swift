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

    public var description: String {
        switch self {
        case .notPositiveDefinite(let order):
            return "matrix is not positive definite (leading minor of order \(order) is not positive)"
        case .illegalArgument(let routine, let position):
            return "\(routine): argument \(position) is illegal"
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
        precondition(matrix.rows == matrix.columns, "spd inverse: matrix is \(matrix.rows)×\(matrix.columns)")
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
        precondition(matrix.rows == matrix.columns, "spd solve: matrix is \(matrix.rows)×\(matrix.columns)")
        precondition(b.count == matrix.rows, "spd solve: matrix has \(matrix.rows) rows, b has \(b.count)")
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
        precondition(b.count == factor.rows, "cholesky solve: factor has \(factor.rows) rows, b has \(b.count)")
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

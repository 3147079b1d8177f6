/// A dense, row-major matrix of `Float` or `Double`.
///
/// The storage is one contiguous array, `storage[row * columns + column]`, so a row is a
/// contiguous slice that BLAS and SIMD kernels can read directly.
public struct Matrix<Scalar: BinaryFloatingPoint & Sendable>: Sendable, Equatable {
    /// Number of rows.
    public let rows: Int
    /// Number of columns.
    public let columns: Int
    /// Row-major elements, `rows * columns` of them.
    public var storage: [Scalar]

    /// A matrix of `rows × columns` elements, all `value`.
    public init(rows: Int, columns: Int, repeating value: Scalar = 0) {
        checkArgument(rows >= 0 && columns >= 0, "matrix: negative shape (\(rows), \(columns))")
        self.rows = rows
        self.columns = columns
        self.storage = Array(repeating: value, count: rows * columns)
    }

    /// A matrix over existing row-major storage.
    public init(rows: Int, columns: Int, storage: [Scalar]) {
        checkArgument(
            storage.count == rows * columns,
            "matrix: shape (\(rows), \(columns)) needs \(rows * columns) elements, got \(storage.count)")
        self.rows = rows
        self.columns = columns
        self.storage = storage
    }

    /// The element at `(row, column)`.
    @inlinable
    public subscript(row: Int, column: Int) -> Scalar {
        get { storage[row * columns + column] }
        set { storage[row * columns + column] = newValue }
    }

    /// A copy of one row.
    public func row(_ index: Int) -> ArraySlice<Scalar> {
        checkArgument(index >= 0 && index < rows, "matrix: row \(index) out of 0..<\(rows)")
        return storage[index * columns..<(index + 1) * columns]
    }

    /// The transpose, as a new matrix.
    public func transposed() -> Matrix {
        var result = Matrix(rows: columns, columns: rows)
        for r in 0..<rows {
            for c in 0..<columns { result.storage[c * rows + r] = storage[r * columns + c] }
        }
        return result
    }
}

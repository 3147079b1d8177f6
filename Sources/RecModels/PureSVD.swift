import RecData
import Tensors

/// PureSVD (Cremonesi, Koren and Turrin 2010): item factors from the top eigenvectors of the
/// item–item cosine matrix. TextCNN's default mode regresses its content encoder onto them.
enum PureSVD {
    /// PureSVD's item factors on the binary user × item matrix with item-normalized columns:
    /// the top `factors` eigenvectors of `G[i, j] = c_ij / √(n_i n_j)` (`c_ij` users with both
    /// items, `n_i` users with `i`), as the rows of an `(items, factors)` matrix scaled so that the
    /// mean squared row length is 1. Items without events get zero rows.
    static func itemFactors(
        _ matrix: CSRMatrix, factors: Int, model: String = "puresvd", control: TrainingControl = TrainingControl()
    ) throws -> Matrix<Float> {
        let items = matrix.columns
        // The Gram matrix, and LAPACK's copy of the eigenvectors it keeps.
        let needed = MemoryGuard.matrixBytes(items, items, scalarBytes: 8)
            .addingReportingOverflow(MemoryGuard.matrixBytes(items, factors, scalarBytes: 16)).partialValue
        try MemoryGuard.check(
            needed, model: model, what: "the \(items) × \(items) item Gram matrix of PureSVD (Float64)",
            control: control,
            alternatives: "textcnn with mode=regress (onto ALS's factors) needs memory that grows with the items")
        let binary = CSRMatrix(
            rows: matrix.rows, columns: items, rowPointers: matrix.rowPointers,
            columnIndices: matrix.columnIndices, values: [Float](repeating: 1, count: matrix.columnIndices.count))
        var counts = [Double](repeating: 0, count: items)
        for item in matrix.columnIndices { counts[Int(item)] += 1 }
        var gram = Matrix<Double>(rows: items, columns: items)
        gram.storage.withUnsafeMutableBufferPointer { gram in
            Cooccurrence.forEachRow(of: binary) { i, row, _ in
                guard counts[i] > 0 else { return }
                for j in 0..<items where counts[j] > 0 {
                    gram[i * items + j] = Double(row[j]) / (counts[i] * counts[j]).squareRoot()
                }
            }
        }
        let rank = min(factors, items)
        let (_, vectors) = try LAPACK.largestEigenpairs(&gram, count: rank)
        let scale = (Double(items) / Double(rank)).squareRoot()
        var result = Matrix<Float>(rows: items, columns: factors)
        for k in 0..<rank {
            for i in 0..<items { result[i, k] = Float(vectors[k, i] * scale) }
        }
        return result
    }
}

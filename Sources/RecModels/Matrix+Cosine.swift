import Tensors

/// Cosine similarities between the rows of a factor or embedding matrix: similar items and
/// explanations by similarity.
extension Matrix where Scalar == Float {
    /// Cosine similarity of every row's first `vector.count` columns with `vector`; 0 where
    /// either is zero.
    func cosineSimilarities(toVector vector: [Float]) -> [Float] {
        let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
        var scores = [Float](repeating: 0, count: rows)
        for row in 0..<rows {
            var dot: Float = 0
            var other: Float = 0
            for k in vector.indices {
                dot += vector[k] * self[row, k]
                other += self[row, k] * self[row, k]
            }
            scores[row] = norm > 0 && other > 0 ? dot / (norm * other.squareRoot()) : 0
        }
        return scores
    }

    /// The `count` items most similar to `item` by cosine, in an embedding table whose row
    /// `i + 1` is item `i` and row 0 the padding (left out), without `item` itself.
    static func similarItems(inPaddedTable table: Tensor<Float>, to item: Int32, count: Int) -> [ScoredItem] {
        let rows = Matrix(rows: table.shape[0], columns: table.shape[1], storage: table.scalars)
        let scores = Array(rows.cosineSimilarities(to: Int(item) + 1).dropFirst())
        return TopK.select(count, from: scores) { $0 != item }
    }

    /// Cosine similarity of every row with row `index`.
    func cosineSimilarities(to index: Int) -> [Float] {
        var norms = [Float](repeating: 0, count: rows)
        var result = [Float](repeating: 0, count: rows)
        storage.withUnsafeBufferPointer { s in
            guard let base = s.baseAddress else { return }
            for r in 0..<rows {
                norms[r] = FactorKernels.dot(base + r * columns, base + r * columns, columns).squareRoot()
            }
            let target = base + index * columns
            for r in 0..<rows {
                result[r] = FactorKernels.dot(base + r * columns, target, columns) / max(norms[r] * norms[index], 1e-12)
            }
        }
        return result
    }
}

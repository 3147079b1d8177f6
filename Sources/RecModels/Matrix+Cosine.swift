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

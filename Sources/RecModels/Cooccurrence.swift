import RecData
import Tensors

/// Rows of the item–item co-occurrence matrix `G = Xᵀ X`, computed sparsely and in parallel.
///
/// `G[i, j] = Σ_u X[u, i] · X[u, j]`: for item `i`, walk the users who have it and add their rows.
/// The work is `Σ_u n_u²` multiply-adds, far below the dense `U · I²` for sparse logs.
enum Cooccurrence {
    /// Calls `body(i, row)` for every item `i`, with `row` holding `G[i, ·]` (`items` values).
    /// Calls come from several threads; `row` is only valid during the call.
    static func forEachRow(of matrix: CSRMatrix, _ body: (Int, UnsafeMutableBufferPointer<Float>) -> Void) {
        let byItem = matrix.transposed()
        let items = matrix.columns
        Parallel.forEachChunk(of: 0..<items, minimumChunk: 16) { range in
            var row = [Float](repeating: 0, count: items)
            row.withUnsafeMutableBufferPointer { row in
                matrix.columnIndices.withUnsafeBufferPointer { columns in
                    matrix.values.withUnsafeBufferPointer { values in
                        for i in range {
                            for k in byItem.rowPointers[i]..<byItem.rowPointers[i + 1] {
                                let user = Int(byItem.columnIndices[k])
                                let weight = byItem.values[k]
                                for p in matrix.rowPointers[user]..<matrix.rowPointers[user + 1] {
                                    row[Int(columns[p])] += weight * values[p]
                                }
                            }
                            body(i, row)
                            for c in 0..<items { row[c] = 0 }
                        }
                    }
                }
            }
        }
    }
}

extension ScoringContext {
    /// Distinct history items with their counts, in first-occurrence order.
    func historyCounts(items: Int) throws -> [(item: Int32, count: Float)] {
        var position: [Int32: Int] = [:]
        var result: [(item: Int32, count: Float)] = []
        for item in history {
            guard item >= 0 && Int(item) < items else { throw ModelError.unknownItem(item) }
            if let index = position[item] {
                result[index].count += 1
            } else {
                position[item] = result.count
                result.append((item, 1))
            }
        }
        return result
    }
}

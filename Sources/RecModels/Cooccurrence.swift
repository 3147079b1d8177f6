import Foundation
import RecData
import Tensors

/// Rows of the item–item co-occurrence matrix `G = Xᵀ X`, computed sparsely and in parallel.
///
/// `G[i, j] = Σ_u X[u, i] · X[u, j]`: for item `i`, walk the users who have it and add their rows.
/// The work is `Σ_u n_u²` multiply-adds, far below the dense `U · I²` for sparse logs.
enum Cooccurrence {
    /// Calls `body(i, row, touched)` for every item `i`: `row` holds `G[i, ·]` (`items` values)
    /// and `touched` the columns that users of `i` reached, each once, in the order first reached
    /// (every other column of `row` is zero). Calls come from several threads; both buffers are
    /// only valid during the call, and resetting `row` costs `touched`, not `items`.
    static func forEachRow(
        of matrix: CSRMatrix, progress: ProgressHandler? = nil, step: String = "co-occurrence",
        _ body: (_ item: Int, _ row: UnsafeMutableBufferPointer<Float>, _ touched: UnsafeBufferPointer<Int32>) -> Void
    ) {
        let byItem = matrix.transposed()
        let items = matrix.columns
        let tally = RowTally(total: items, step: step, progress: progress)
        Parallel.forEachChunk(of: 0..<items, minimumChunk: 16) { range in
            var row = [Float](repeating: 0, count: items)
            var reached = [Bool](repeating: false, count: items)
            var touched: [Int32] = []
            row.withUnsafeMutableBufferPointer { row in
                matrix.columnIndices.withUnsafeBufferPointer { columns in
                    matrix.values.withUnsafeBufferPointer { values in
                        for i in range {
                            touched.removeAll(keepingCapacity: true)
                            for k in byItem.rowPointers[i]..<byItem.rowPointers[i + 1] {
                                let user = Int(byItem.columnIndices[k])
                                let weight = byItem.values[k]
                                for p in matrix.rowPointers[user]..<matrix.rowPointers[user + 1] {
                                    let column = Int(columns[p])
                                    if !reached[column] {
                                        reached[column] = true
                                        touched.append(Int32(column))
                                    }
                                    row[column] += weight * values[p]
                                }
                            }
                            touched.withUnsafeBufferPointer { body(i, row, $0) }
                            for column in touched {
                                row[Int(column)] = 0
                                reached[Int(column)] = false
                            }
                            if (i - range.lowerBound) % RowTally.stride == RowTally.stride - 1 {
                                tally.add(RowTally.stride)
                            }
                        }
                        tally.add(range.count % RowTally.stride)
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

/// Rows finished across threads, reported to a progress handler as they add up.
private final class RowTally: @unchecked Sendable {
    static let stride = 4096
    private let lock = NSLock()
    private var done = 0
    private let total: Int
    private let step: String
    private let progress: ProgressHandler?

    init(total: Int, step: String, progress: ProgressHandler?) {
        self.total = total
        self.step = step
        self.progress = progress
    }

    func add(_ rows: Int) {
        guard let progress, rows > 0 else { return }
        lock.lock()
        done += rows
        let now = done
        lock.unlock()
        progress(step, now, total)
    }
}

import RecData

/// Rows with their column indices in order, for the samplers that test membership (BPR, NeuMF,
/// the hybrid).
extension CSRMatrix {
    /// The matrix with each row's column indices in ascending order.
    func sortedRows() -> CSRMatrix {
        var columns = columnIndices
        var sortedValues = values
        for r in 0..<rows {
            let range = rowPointers[r]..<rowPointers[r + 1]
            let order = range.sorted { columnIndices[$0] < columnIndices[$1] }
            for (offset, k) in order.enumerated() {
                columns[range.lowerBound + offset] = columnIndices[k]
                sortedValues[range.lowerBound + offset] = values[k]
            }
        }
        return CSRMatrix(
            rows: rows, columns: self.columns, rowPointers: rowPointers, columnIndices: columns, values: sortedValues)
    }

    /// Whether row `r` (sorted) holds column `c`: a binary search.
    @inline(__always)
    func rowContains(_ r: Int, _ c: Int32) -> Bool {
        var low = rowPointers[r]
        var high = rowPointers[r + 1]
        while low < high {
            let mid = (low + high) >> 1
            let value = columnIndices[mid]
            if value == c { return true }
            if value < c { low = mid + 1 } else { high = mid }
        }
        return false
    }
}

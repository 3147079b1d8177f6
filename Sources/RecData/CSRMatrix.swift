/// A sparse matrix in compressed sparse row form: row `r` holds the entries
/// `columnIndices[rowPointers[r]..<rowPointers[r + 1]]` with `values` beside them.
public struct CSRMatrix: Sendable, Equatable {
    public let rows: Int
    public let columns: Int
    public let rowPointers: [Int]
    public let columnIndices: [Int32]
    public let values: [Float]

    public init(rows: Int, columns: Int, rowPointers: [Int], columnIndices: [Int32], values: [Float]) {
        checkArgument(rowPointers.count == rows + 1, "csr: \(rowPointers.count) row pointers for \(rows) rows")
        checkArgument(
            columnIndices.count == values.count, "csr: \(columnIndices.count) indices, \(values.count) values")
        checkArgument(
            rowPointers.last == values.count, "csr: last row pointer \(rowPointers.last ?? -1) ≠ \(values.count)")
        self.rows = rows
        self.columns = columns
        self.rowPointers = rowPointers
        self.columnIndices = columnIndices
        self.values = values
    }

    /// The user × item matrix of `events` of `log` (all events if `nil`). Each row keeps the
    /// order of first occurrence; repeated (user, item) events add up, as in SciPy's COO → CSR.
    public init(log: InteractionLog, events: [Int]? = nil) {
        let indices = events ?? Array(0..<log.count)
        var counts = [Int](repeating: 0, count: log.userCount + 1)
        for index in indices { counts[Int(log.users[index]) + 1] += 1 }
        for r in 0..<log.userCount { counts[r + 1] += counts[r] }
        var cursor = counts
        var columns = [Int32](repeating: 0, count: indices.count)
        for index in indices {
            let row = Int(log.users[index])
            columns[cursor[row]] = log.items[index]
            cursor[row] += 1
        }
        // Merge duplicates within each row, keeping first-occurrence order.
        var slot = [Int32](repeating: -1, count: log.itemCount)
        var pointers = [0]
        pointers.reserveCapacity(log.userCount + 1)
        var outColumns: [Int32] = []
        var outValues: [Float] = []
        outColumns.reserveCapacity(indices.count)
        outValues.reserveCapacity(indices.count)
        for r in 0..<log.userCount {
            let rowStart = outColumns.count
            for k in counts[r]..<counts[r + 1] {
                let c = Int(columns[k])
                if slot[c] >= 0 {
                    outValues[Int(slot[c])] += 1
                } else {
                    slot[c] = Int32(outColumns.count)
                    outColumns.append(Int32(c))
                    outValues.append(1)
                }
            }
            for k in rowStart..<outColumns.count { slot[Int(outColumns[k])] = -1 }
            pointers.append(outColumns.count)
        }
        self.init(
            rows: log.userCount, columns: log.itemCount, rowPointers: pointers, columnIndices: outColumns,
            values: outValues)
    }

    /// Number of stored entries.
    public var nonzeroCount: Int { values.count }

    /// The column indices of row `r`.
    public func indices(ofRow r: Int) -> ArraySlice<Int32> { columnIndices[rowPointers[r]..<rowPointers[r + 1]] }

    /// The values of row `r`.
    public func values(ofRow r: Int) -> ArraySlice<Float> { values[rowPointers[r]..<rowPointers[r + 1]] }

    /// The transpose (item × user), rows in ascending column order.
    public func transposed() -> CSRMatrix {
        var counts = [Int](repeating: 0, count: columns + 1)
        for c in columnIndices { counts[Int(c) + 1] += 1 }
        for c in 0..<columns { counts[c + 1] += counts[c] }
        var cursor = counts
        var outColumns = [Int32](repeating: 0, count: values.count)
        var outValues = [Float](repeating: 0, count: values.count)
        for r in 0..<rows {
            for k in rowPointers[r]..<rowPointers[r + 1] {
                let c = Int(columnIndices[k])
                outColumns[cursor[c]] = Int32(r)
                outValues[cursor[c]] = values[k]
                cursor[c] += 1
            }
        }
        return CSRMatrix(
            rows: columns, columns: rows, rowPointers: counts, columnIndices: outColumns, values: outValues)
    }
}

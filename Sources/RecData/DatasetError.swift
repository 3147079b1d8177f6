/// Recoverable failures of loading, cleaning, splitting and fetching data.
public enum DatasetError: Error, Equatable, CustomStringConvertible {
    /// The file does not exist or cannot be read.
    case unreadable(path: String, reason: String)
    /// A file could not be written (a full disk, a folder without permission).
    case unwritable(path: String, reason: String)
    /// The file has no header (or nothing at all).
    case emptyFile(path: String)
    /// The file has a header but no rows to load.
    case noRows(path: String)
    /// A column the loader needs is not in the header.
    case missingColumn(path: String, column: String, available: [String])
    /// A line could not be parsed. `line` is 1-based; `column` names the field when one is at fault.
    case malformedLine(path: String, line: Int, column: String?, reason: String)
    /// A data-set name that is neither a known data set nor an existing path.
    case unknownDataset(String)
    /// Fetching a data set failed on every route.
    case fetchFailed(name: String, reason: String)
    /// A downloaded or unpacked data set does not have the expected number of rows.
    case wrongRowCount(name: String, expected: Int, found: Int)
    /// An option has a value it cannot take.
    case invalidOption(String)
    /// Nothing is left after cleaning or splitting.
    case noInteractions(String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "\(path): cannot read: \(reason)"
        case .unwritable(let path, let reason): return "\(path): cannot write: \(reason)"
        case .emptyFile(let path): return "\(path): the file is empty"
        case .noRows(let path): return "\(path): the header is there but no row follows it"
        case .missingColumn(let path, let column, let available):
            return "\(path): no column '\(column)' (the header has: \(available.joined(separator: ", ")))"
        case .malformedLine(let path, let line, let column, let reason):
            if let column { return "\(path):\(line): column '\(column)': \(reason)" }
            return "\(path):\(line): \(reason)"
        case .unknownDataset(let name):
            return "unknown data set '\(name)': give ml-100k, ml-1m or the path of a data folder or file"
        case .fetchFailed(let name, let reason): return "cannot fetch \(name): \(reason)"
        case .wrongRowCount(let name, let expected, let found):
            return "\(name): expected \(expected) interactions, found \(found)"
        case .invalidOption(let reason): return reason
        case .noInteractions(let reason): return "no interactions left: \(reason)"
        }
    }
}

/// The fields of one row, decoded on demand, with errors that name the line and column.
struct Fields {
    let path: String
    let line: Int
    let bytes: UnsafeBufferPointer<UInt8>
    let ranges: [Range<Int>]
    let quoted: [Bool]
    let names: [String]
    let encoding: TextEncoding

    var count: Int { ranges.count }

    func error(_ index: Int?, _ reason: String) -> DatasetError {
        .malformedLine(
            path: path, line: line, column: index.map { $0 < names.count ? names[$0] : "#\($0 + 1)" }, reason: reason)
    }

    func raw(_ index: Int) -> UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(rebasing: bytes[ranges[index]]) }

    func isEmpty(_ index: Int) -> Bool { ranges[index].isEmpty }

    /// The field as text; throws on bytes invalid in the file's encoding.
    func string(_ index: Int) throws -> String {
        guard let text = FieldDecoder.string(raw(index), encoding: encoding, unescapeQuotes: quoted[index]) else {
            throw error(index, "bytes are not valid \(encoding == .utf8 ? "UTF-8" : "Latin-1")")
        }
        return text
    }

    /// An identifier, as ``IdentifierRule`` allows.
    func identifier(_ index: Int) throws -> String {
        let text = try string(index)
        guard !text.isEmpty else { throw error(index, "empty identifier") }
        if let problem = IdentifierRule.problem(with: text) { throw error(index, "the identifier \(problem)") }
        return text
    }

    /// A Unix time in seconds within years 1 to 9999, the range a timestamp's text can hold.
    func time(_ index: Int) throws -> Double {
        let value = try number(index)
        guard value >= Self.earliestTime, value <= Self.latestTime else {
            throw error(index, "\(value) is not a Unix time in years 1 to 9999")
        }
        return value
    }

    /// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z as Unix seconds.
    static let earliestTime: Double = -62_135_596_800
    static let latestTime: Double = 253_402_300_799

    /// A finite number.
    func number(_ index: Int) throws -> Double {
        guard !isEmpty(index) else { throw error(index, "missing value") }
        guard let value = FieldDecoder.double(raw(index)) else {
            let shown = (try? string(index)).map { String($0.prefix(40)) } ?? "?"
            throw error(index, "'\(shown)' is not a finite number")
        }
        return value
    }

    /// A number, or `nil` for an empty field.
    func optionalNumber(_ index: Int) throws -> Double? { isEmpty(index) ? nil : try number(index) }
}

/// Reads a delimited text file: an optional header, then rows of a fixed number of fields.
struct TableReader {
    let path: String
    let separator: String
    var quotes = false
    let encoding: TextEncoding
    /// Column names when the file has no header row.
    var fixedNames: [String]?

    /// Reads every row. `header` receives the column names (from the first line unless
    /// `fixedNames` is set) and may throw to reject them; `row` receives each data row.
    /// Blank lines are ignored; extra empty fields after the last column (trailing separators)
    /// are tolerated. With `skipBadRows`, malformed rows are counted in `report` and skipped.
    func read(
        skipBadRows: Bool, report: inout LoadReport?,
        header: ([String]) throws -> Void, row: (Fields) throws -> Void
    ) throws {
        var splitter = FieldSplitter(separator: separator, quotes: quotes)
        var names = fixedNames ?? []
        var sawHeader = fixedNames != nil
        if let fixedNames { try header(fixedNames) }
        var sawAnyLine = false
        try LineReader.forEachLine(path: path) { number, line in
            sawAnyLine = true
            if !sawHeader {
                guard splitter.split(line) else {
                    throw DatasetError.malformedLine(
                        path: path, line: number, column: nil, reason: "unclosed quote in header")
                }
                let fields = Fields(
                    path: path, line: number, bytes: line, ranges: splitter.ranges, quoted: splitter.quoted,
                    names: [], encoding: encoding)
                names = try (0..<fields.count).map { try fields.string($0).trimmingWhitespace() }
                while names.last == "" { names.removeLast() }
                guard !names.isEmpty else { throw DatasetError.emptyFile(path: path) }
                try header(names)
                // Errors name columns without an atomic file's ":type" suffix.
                names = names.map { $0.split(separator: ":", maxSplits: 1).first.map(String.init) ?? $0 }
                sawHeader = true
                return
            }
            if line.isEmpty { return }
            report?.rows += 1
            do {
                guard splitter.split(line) else {
                    throw DatasetError.malformedLine(path: path, line: number, column: nil, reason: "unclosed quote")
                }
                var ranges = splitter.ranges
                while ranges.count > names.count, ranges.last?.isEmpty == true { ranges.removeLast() }
                guard ranges.count == names.count else {
                    throw DatasetError.malformedLine(
                        path: path, line: number, column: nil,
                        reason: "expected \(names.count) fields, found \(ranges.count)")
                }
                try row(
                    Fields(
                        path: path, line: number, bytes: line, ranges: ranges, quoted: splitter.quoted, names: names,
                        encoding: encoding))
            } catch let error as DatasetError {
                guard skipBadRows, case .malformedLine = error else { throw error }
                report?.skip(error)
            }
        }
        if !sawAnyLine { throw DatasetError.emptyFile(path: path) }
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}

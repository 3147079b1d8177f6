import Foundation

/// How the bytes of a text file map to characters.
public enum TextEncoding: String, Sendable, Codable {
    /// UTF-8; invalid bytes are an error that names the line.
    case utf8
    /// ISO-8859-1, as the MovieLens 1M originals (`movies.dat`) are written.
    case latin1
}

/// Streams a text file line by line in fixed-size blocks, so memory stays bounded by the
/// longest line, not the file. Strips a UTF-8 byte-order mark and `\r\n` line ends.
struct LineReader {
    static let blockSize = 1 << 20

    /// The number of line ends in a file (a pass over its bytes in blocks, without decoding),
    /// so that loaders can size their columns once instead of growing them by doubling.
    static func countLines(path: String) throws -> Int {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw DatasetError.unreadable(path: path, reason: exists ? "permission denied" : "no such file")
        }
        defer { try? handle.close() }
        var count = 0
        while true {
            let block: Data
            do { block = try handle.read(upToCount: blockSize) ?? Data() } catch {
                throw DatasetError.unreadable(path: path, reason: error.localizedDescription)
            }
            if block.isEmpty { return count }
            block.withUnsafeBytes { bytes in
                for byte in bytes where byte == 0x0A { count += 1 }
            }
        }
    }

    /// Calls `body` with each line (1-based number, bytes without the line end).
    /// A final line without `\n` is passed too.
    static func forEachLine(
        path: String, _ body: (_ number: Int, _ line: UnsafeBufferPointer<UInt8>) throws -> Void
    ) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw DatasetError.unreadable(path: path, reason: exists ? "permission denied" : "no such file")
        }
        defer { try? handle.close() }
        var buffer: [UInt8] = []
        var lineNumber = 0
        var atStart = true
        var finished = false
        while !finished {
            let block: Data
            do { block = try handle.read(upToCount: blockSize) ?? Data() } catch {
                throw DatasetError.unreadable(path: path, reason: error.localizedDescription)
            }
            if block.isEmpty { finished = true } else { buffer.append(contentsOf: block) }
            if atStart && (buffer.count >= 3 || finished) {
                if buffer.count >= 3 && buffer[0] == 0xEF && buffer[1] == 0xBB && buffer[2] == 0xBF {
                    buffer.removeFirst(3)
                }
                atStart = false
            }
            if atStart { continue }
            var consumed = 0
            try buffer.withUnsafeBufferPointer { all in
                var start = 0
                while let newline = all[start...].firstIndex(of: 0x0A) {
                    var end = newline
                    if end > start && all[end - 1] == 0x0D { end -= 1 }
                    lineNumber += 1
                    try body(lineNumber, UnsafeBufferPointer(rebasing: all[start..<end]))
                    start = newline + 1
                }
                if finished && start < all.count {
                    var end = all.count
                    if all[end - 1] == 0x0D { end -= 1 }
                    lineNumber += 1
                    try body(lineNumber, UnsafeBufferPointer(rebasing: all[start..<end]))
                    start = all.count
                }
                consumed = start
            }
            buffer.removeFirst(consumed)
        }
    }
}

/// Splits a line into fields on a one- or two-byte separator. With `quotes`, a field that
/// starts with `"` runs to the matching `"` (`""` inside is one quote), as in RFC 4180.
struct FieldSplitter {
    let separator: [UInt8]
    let quotes: Bool
    /// Field ranges of the last split line (reused between lines).
    private(set) var ranges: [Range<Int>] = []
    /// Whether a field of the last line was quoted and needs unescaping.
    private(set) var quoted: [Bool] = []

    init(separator: String, quotes: Bool = false) {
        self.separator = Array(separator.utf8)
        self.quotes = quotes
    }

    /// Splits `line`; returns `nil` when a quote is not closed.
    mutating func split(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        ranges.removeAll(keepingCapacity: true)
        quoted.removeAll(keepingCapacity: true)
        let n = line.count
        let first = separator[0]
        let width = separator.count
        var start = 0
        var i = 0
        while true {
            if quotes && start < n && line[start] == 0x22 {
                var j = start + 1
                var closed = false
                while j < n {
                    if line[j] == 0x22 {
                        if j + 1 < n && line[j + 1] == 0x22 { j += 2; continue }
                        closed = true
                        break
                    }
                    j += 1
                }
                if !closed { return false }
                ranges.append((start + 1)..<j)
                quoted.append(true)
                i = j + 1
                if i >= n { return true }
                guard matchesSeparator(line, at: i, first: first, width: width) else { return false }
                i += width
                start = i
                continue
            }
            while i < n && !matchesSeparator(line, at: i, first: first, width: width) { i += 1 }
            ranges.append(start..<i)
            quoted.append(false)
            if i >= n { return true }
            i += width
            start = i
            if i == n {
                ranges.append(n..<n)
                quoted.append(false)
                return true
            }
        }
    }

    @inline(__always)
    private func matchesSeparator(_ line: UnsafeBufferPointer<UInt8>, at i: Int, first: UInt8, width: Int) -> Bool {
        guard line[i] == first else { return false }
        return width == 1 || (i + 1 < line.count && line[i + 1] == separator[1])
    }
}

/// Turns field bytes into values.
enum FieldDecoder {
    /// The field as a string, or `nil` if its bytes are not valid in `encoding`.
    static func string(_ bytes: UnsafeBufferPointer<UInt8>, encoding: TextEncoding, unescapeQuotes: Bool = false)
        -> String?
    {
        var text: String?
        switch encoding {
        case .utf8:
            text = String(validating: bytes, as: UTF8.self)
        case .latin1:
            var scalars = String.UnicodeScalarView()
            for byte in bytes { scalars.append(Unicode.Scalar(byte)) }
            text = String(scalars)
        }
        if unescapeQuotes, let value = text, value.contains("\"\"") {
            text = value.replacingOccurrences(of: "\"\"", with: "\"")
        }
        return text
    }

    /// The field as a finite number, or `nil` if it is not one. Integers take a fast path;
    /// anything else goes through `strtod` and must be consumed whole.
    static func double(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
        var start = 0
        var end = bytes.count
        while start < end && (bytes[start] == 0x20 || bytes[start] == 0x09) { start += 1 }
        while end > start && (bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09) { end -= 1 }
        guard start < end, end - start < 64 else { return nil }
        var negative = false
        var i = start
        if bytes[i] == 0x2D || bytes[i] == 0x2B { negative = bytes[i] == 0x2D; i += 1 }
        var value: Int64 = 0
        var allDigits = i < end && end - i <= 18
        var k = i
        while allDigits && k < end {
            let d = bytes[k] &- 0x30
            if d > 9 { allDigits = false } else { value = value * 10 + Int64(d) }
            k += 1
        }
        if allDigits { return Double(negative ? -value : value) }
        var text = [CChar](repeating: 0, count: end - start + 1)
        for j in start..<end { text[j - start] = CChar(bitPattern: bytes[j]) }
        return text.withUnsafeBufferPointer { buffer -> Double? in
            guard let base = buffer.baseAddress else { return nil }
            var stop: UnsafeMutablePointer<CChar>?
            let result = strtod(base, &stop)
            guard let stop, stop == UnsafeMutablePointer(mutating: base) + (end - start), result.isFinite else {
                return nil
            }
            return result
        }
    }
}

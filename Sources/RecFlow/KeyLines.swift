import Foundation

/// Where each key of a TOML file is, for messages that name a line: table headers (`[a.b]`,
/// `[[a.b]]`, the n-th of an array numbered from 0 as `a.b[n]`) and `key = value` lines, by the
/// key's dotted path. toml++ reports positions of syntax errors only; this covers the keys that
/// a valid file holds.
struct KeyLines {
    private var lines: [String: Int] = [:]

    init(text: String) {
        var table = ""
        var arrayCounts: [String: Int] = [:]
        for (offset, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = Self.withoutComment(raw).trimmingCharacters(in: .whitespaces)
            let number = offset + 1
            if line.hasPrefix("[[") && line.hasSuffix("]]") {
                let name = Self.resolved(Self.key(line.dropFirst(2).dropLast(2)), arrayCounts)
                let index = (arrayCounts[name] ?? -1) + 1
                arrayCounts[name] = index
                table = "\(name)[\(index)]"
                lines[table] = lines[table] ?? number
                lines[name] = lines[name] ?? number
            } else if line.hasPrefix("[") && line.hasSuffix("]") {
                table = Self.resolved(Self.key(line.dropFirst().dropLast()), arrayCounts)
                lines[table] = lines[table] ?? number
            } else if let equals = line.firstIndex(of: "=") {
                let key = Self.key(line[..<equals])
                let path = table.isEmpty ? key : "\(table).\(key)"
                lines[path] = lines[path] ?? number
            }
        }
    }

    /// The line of `path`, or of the nearest enclosing key or table that has one.
    func line(of path: String) -> Int? {
        var path = path
        while !path.isEmpty {
            if let line = lines[path] { return line }
            if let bracket = path.lastIndex(of: "["), path.hasSuffix("]"), !path[bracket...].contains(".") {
                path = String(path[..<bracket])
            } else if let dot = path.lastIndex(of: ".") {
                path = String(path[..<dot])
            } else {
                return nil
            }
        }
        return nil
    }

    /// A header's path with each enclosing array of tables indexed by its current element:
    /// `[[experiments.arms]]` under the second `[[experiments]]` is `experiments[1].arms`.
    private static func resolved(_ name: String, _ arrayCounts: [String: Int]) -> String {
        let parts = name.split(separator: ".")
        var path = ""
        for (offset, part) in parts.enumerated() {
            path = path.isEmpty ? String(part) : "\(path).\(part)"
            if offset < parts.count - 1, let index = arrayCounts[path] { path += "[\(index)]" }
        }
        return path
    }

    private static func key(_ text: Substring) -> String {
        text.split(separator: ".").map {
            $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
        }.joined(separator: ".")
    }

    /// The line without a `#` comment (a `#` inside a quoted string is kept).
    private static func withoutComment(_ line: Substring) -> String {
        var quote: Character?
        var result = ""
        for character in line {
            if let open = quote {
                if character == open { quote = nil }
            } else if character == "\"" || character == "'" {
                quote = character
            } else if character == "#" {
                break
            }
            result.append(character)
        }
        return result
    }
}

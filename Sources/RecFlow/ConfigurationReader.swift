import Foundation
import TOMLKit

/// Reads values out of a parsed TOML table, collecting every problem (with the key's line)
/// instead of stopping at the first.
final class ConfigurationReader {
    private(set) var errors: [ConfigurationError] = []
    let lines: KeyLines

    init(lines: KeyLines) { self.lines = lines }

    func fail(_ path: String, _ reason: String) {
        errors.append(ConfigurationError(line: lines.line(of: path), key: path, reason: reason))
    }

    /// Reports every key of `table` that is not in `known`.
    func onlyKeys(_ table: TOMLTable, at path: String, _ known: [String]) {
        for key in table.keys.sorted() where !known.contains(key) {
            fail(join(path, key), "unknown key; known here: \(known.joined(separator: ", "))")
        }
    }

    func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    private func typed<T>(
        _ table: TOMLTable, _ key: String, at path: String, _ kind: String, _ read: (any TOMLValueConvertible) -> T?
    ) -> T? {
        guard let value = table[key] else { return nil }
        guard let typed = read(value) else {
            fail(join(path, key), "must be \(kind), not \(value.type)")
            return nil
        }
        return typed
    }

    func string(_ table: TOMLTable, _ key: String, at path: String, nonEmpty: Bool = true) -> String? {
        guard let value = typed(table, key, at: path, "a string", { $0.string }) else { return nil }
        if nonEmpty && value.isEmpty {
            fail(join(path, key), "must not be empty")
            return nil
        }
        return value
    }

    func bool(_ table: TOMLTable, _ key: String, at path: String) -> Bool? {
        typed(table, key, at: path, "true or false") { $0.bool }
    }

    func int(_ table: TOMLTable, _ key: String, at path: String, in range: ClosedRange<Int>) -> Int? {
        guard let value = typed(table, key, at: path, "an integer", { $0.int }) else { return nil }
        guard range.contains(value) else {
            fail(join(path, key), "\(value) is outside \(range.lowerBound)...\(range.upperBound)")
            return nil
        }
        return value
    }

    /// A number; an integer is read as one.
    func double(_ table: TOMLTable, _ key: String, at path: String, in range: ClosedRange<Double>) -> Double? {
        guard let value = typed(table, key, at: path, "a number", { $0.double ?? $0.int.map(Double.init) }) else {
            return nil
        }
        guard value.isFinite, range.contains(value) else {
            fail(join(path, key), "\(value) is outside \(range.lowerBound)...\(range.upperBound)")
            return nil
        }
        return value
    }

    func strings(_ table: TOMLTable, _ key: String, at path: String) -> [String]? {
        guard let array = typed(table, key, at: path, "an array of strings", { $0.array }) else { return nil }
        var result: [String] = []
        for (index, element) in array.enumerated() {
            guard let text = element.string else {
                fail("\(join(path, key))[\(index)]", "must be a string, not \(element.type)")
                return nil
            }
            result.append(text)
        }
        return result
    }

    /// Seconds, as a number or as text with a unit: `"150ms"`, `"90s"`, `"30m"`, `"24h"`, `"7d"`.
    func duration(_ table: TOMLTable, _ key: String, at path: String) -> Double? {
        guard let value = table[key] else { return nil }
        if let seconds = value.double ?? value.int.map(Double.init) {
            guard seconds > 0, seconds.isFinite else {
                fail(join(path, key), "must be a positive duration")
                return nil
            }
            return seconds
        }
        let units: [(suffix: String, seconds: Double)] = [
            ("ms", 0.001), ("s", 1), ("m", 60), ("h", 3_600), ("d", 86_400),
        ]
        guard let text = value.string, let unit = units.first(where: { text.hasSuffix($0.suffix) }),
            let amount = Double(text.dropLast(unit.suffix.count)), amount > 0, amount.isFinite
        else {
            fail(join(path, key), "must be a duration such as \"150ms\", \"90s\", \"30m\", \"24h\" or \"7d\"")
            return nil
        }
        return amount * unit.seconds
    }

    func table(_ table: TOMLTable, _ key: String, at path: String) -> TOMLTable? {
        typed(table, key, at: path, "a table") { $0.table }
    }

    /// An array of tables (`[[key]]`).
    func tables(_ table: TOMLTable, _ key: String, at path: String) -> [TOMLTable]? {
        guard let array = typed(table, key, at: path, "an array of tables ([[\(join(path, key))]])", { $0.array })
        else { return nil }
        var result: [TOMLTable] = []
        for (index, element) in array.enumerated() {
            guard let entry = element.table else {
                fail("\(join(path, key))[\(index)]", "must be a table, not \(element.type)")
                continue
            }
            result.append(entry)
        }
        return result
    }

    /// A table of numbers by name (`weights = { als = 1.0 }`).
    func numbers(_ table: TOMLTable, _ key: String, at path: String) -> [String: Double]? {
        guard let entries = self.table(table, key, at: path) else { return nil }
        var result: [String: Double] = [:]
        for name in entries.keys {
            if let value = double(entries, name, at: join(path, key), in: 0...1e9) { result[name] = value }
        }
        return result
    }
}

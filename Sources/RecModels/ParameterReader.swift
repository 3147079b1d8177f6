/// Reads typed hyper-parameters from `key=value` strings and rejects keys nobody asked for.
public struct ParameterReader {
    let model: String
    let values: [String: String]
    private(set) var known: [String] = []

    /// A reader of `values` for `model`.
    public init(model: ModelKind, _ values: [String: String]) {
        self.model = model.rawValue
        self.values = values
    }

    private func invalid(_ key: String, _ reason: String) -> ModelError {
        .invalidParameter(model: model, key: key, value: values[key] ?? "", reason: reason)
    }

    public mutating func int(_ key: String, default value: Int, in range: ClosedRange<Int>) throws -> Int {
        known.append(key)
        guard let text = values[key] else { return value }
        guard let parsed = Int(text) else { throw invalid(key, "not an integer") }
        guard range.contains(parsed) else { throw invalid(key, "must be in \(range.lowerBound)...\(range.upperBound)") }
        return parsed
    }

    public mutating func double(_ key: String, default value: Double, in range: ClosedRange<Double>) throws -> Double {
        known.append(key)
        guard let text = values[key] else { return value }
        guard let parsed = Double(text), parsed.isFinite else { throw invalid(key, "not a finite number") }
        guard range.contains(parsed) else { throw invalid(key, "must be in \(range.lowerBound)...\(range.upperBound)") }
        return parsed
    }

    public mutating func uint64(_ key: String, default value: UInt64) throws -> UInt64 {
        known.append(key)
        guard let text = values[key] else { return value }
        guard let parsed = UInt64(text) else { throw invalid(key, "not a non-negative integer") }
        return parsed
    }

    public mutating func string(_ key: String, default value: String) -> String {
        known.append(key)
        return values[key] ?? value
    }

    public mutating func choice(_ key: String, default value: String, in options: [String]) throws -> String {
        known.append(key)
        guard let text = values[key] else { return value }
        guard options.contains(text) else { throw invalid(key, "must be one of \(options.joined(separator: ", "))") }
        return text
    }

    /// Throws for any key that no reader call asked for.
    public func finish() throws {
        for key in values.keys.sorted() where !known.contains(key) {
            throw ModelError.unknownParameter(model: model, key: key, known: known)
        }
    }
}

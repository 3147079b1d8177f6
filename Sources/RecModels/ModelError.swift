/// Recoverable failures of models.
public enum ModelError: Error, Equatable, CustomStringConvertible {
    /// Scoring or saving before ``Recommender/fit(_:progress:)``.
    case notFitted
    /// A `--param` key the model does not have.
    case unknownParameter(model: String, key: String, known: [String])
    /// A `--param` value the model cannot take.
    case invalidParameter(model: String, key: String, value: String, reason: String)
    /// A model kind RecKit does not know.
    case unknownKind(String)
    /// An item index outside the model's catalogue.
    case unknownItem(Int32)
    /// Training produced non-finite values; names where.
    case nonFinite(String)
    /// The training data cannot train this model.
    case unsuitableData(String)
    /// A model directory that cannot be read.
    case invalidModelDirectory(path: String, reason: String)
    /// Training would need more memory than it may use; checked before allocating.
    case insufficientMemory(model: String, neededBytes: Int, availableBytes: Int, what: String, alternatives: String)

    public var description: String {
        switch self {
        case .notFitted: return "the model has not been fitted"
        case .unknownParameter(let model, let key, let known):
            return "\(model) has no parameter '\(key)' (it has: \(known.sorted().joined(separator: ", ")))"
        case .invalidParameter(let model, let key, let value, let reason):
            return "\(model): \(key)=\(value): \(reason)"
        case .unknownKind(let kind):
            return "unknown model '\(kind)' (known: \(ModelKind.allCases.map(\.rawValue).joined(separator: ", ")))"
        case .unknownItem(let item): return "item index \(item) is outside the model's catalogue"
        case .nonFinite(let place): return "training diverged: non-finite values \(place)"
        case .unsuitableData(let reason): return reason
        case .invalidModelDirectory(let path, let reason): return "\(path): not a RecKit model: \(reason)"
        case .insufficientMemory(let model, let needed, let available, let what, let alternatives):
            return
                "\(model) needs \(MemoryGuard.gibibytes(needed)) for \(what), but \(MemoryGuard.gibibytes(available)) "
                + "are available (--max-memory, else the machine's available memory); \(alternatives)"
        }
    }
}

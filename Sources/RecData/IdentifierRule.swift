/// What an identifier (a user, an item, a feedback type, a category) may be, wherever it comes
/// from: a data file, the store or a request.
///
/// An identifier is 1 to ``maximumBytes`` bytes of UTF-8 without control characters (Unicode's
/// `Cc`: U+0000–U+001F and U+007F–U+009F). PostgreSQL cannot store U+0000 at all, and the others
/// are invisible in logs, pages and the command line's tables, where two different identifiers
/// would look the same.
public enum IdentifierRule {
    /// The longest identifier accepted, in UTF-8 bytes.
    public static let maximumBytes = 256

    /// Why `text` is not a valid identifier, or nil when it is.
    public static func problem(with text: String) -> String? {
        if text.isEmpty { return "must not be empty" }
        if text.utf8.count > maximumBytes { return "is longer than \(maximumBytes) bytes" }
        if let scalar = firstControlCharacter(in: text) {
            return "contains the control character \(codePoint(scalar))"
        }
        return nil
    }

    /// The first control character (`Cc`) of `text`, if any.
    public static func firstControlCharacter(in text: String) -> Unicode.Scalar? {
        text.unicodeScalars.first { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }
    }

    /// `U+XXXX`, as a message names a character.
    public static func codePoint(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }
}

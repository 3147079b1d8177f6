import Foundation
import RecData

/// Turns feature tables into sparse bags of named tokens, the shared input of the content and
/// hybrid models.
///
/// - Title-like columns (`title`, `movie_title`, `name`, `description`) give lowercased words,
///   `title:toy`, minus a few stop words.
/// - Multi-valued categorical columns give one token per value, `genre:Comedy`; a token column
///   whose name says genre, class, category or tag is split on spaces too (ml-1m stores genres
///   that way).
/// - Numbers give a bucket: decades for years (`release_year:1990s`), and for other numbers the
///   value rounded to two significant digits (`age:25`).
/// - Other categorical columns give one token, `gender:M`; a zip code keeps its first digit.
enum FeatureTokens {
    static let stopWords: Set<String> = [
        "the", "a", "an", "of", "and", "in", "on", "to", "for", "la", "le", "de", "il",
    ]

    static func isTextColumn(_ name: String) -> Bool {
        ["title", "movie_title", "name", "description", "text", "summary"].contains(name.lowercased())
    }

    static func isListColumn(_ name: String) -> Bool {
        let lowered = name.lowercased()
        return ["genre", "class", "categor", "tag"].contains { lowered.contains($0) }
    }

    static func words(_ text: String) -> [String] {
        text.lowercased().split { !$0.isLetter && !$0.isNumber }.map(String.init)
            .filter { $0.count > 1 && !stopWords.contains($0) }
    }

    static func bucket(_ name: String, _ value: Double) -> String {
        if name.lowercased().contains("year") { return "\(Int(value) / 10 * 10)s" }
        guard value != 0, value.isFinite else { return "0" }
        let magnitude = pow(10, floor(log10(abs(value))) - 1)
        return String(Int((value / magnitude).rounded() * magnitude))
    }

    /// The tokens of every row of `table`, in row order.
    static func tokens(of table: FeatureTable, skipping skipped: Set<String> = []) -> [[String]] {
        var rows = [[String]](repeating: [], count: table.keys.count)
        for column in table.columns where !skipped.contains(column.name) {
            let name = column.name
            switch column.values {
            case .token(let values):
                for (row, value) in values.enumerated() {
                    guard let value, value != "unknown", !value.isEmpty else { continue }
                    if isTextColumn(name) {
                        rows[row] += words(value).map { "\(name):\($0)" }
                    } else if isListColumn(name) {
                        rows[row] += value.split(separator: " ").map { "\(name):\($0)" }
                    } else if name.lowercased().contains("zip") {
                        rows[row].append("\(name):\(value.prefix(1))")
                    } else {
                        rows[row].append("\(name):\(value)")
                    }
                }
            case .tokenSequence(let values):
                for (row, value) in values.enumerated() {
                    guard let value else { continue }
                    let parts =
                        isTextColumn(name) ? words(value.joined(separator: " ")) : value.filter { $0 != "unknown" }
                    rows[row] += parts.map { "\(name):\($0)" }
                }
            case .float(let values):
                for (row, value) in values.enumerated() {
                    guard let value else { continue }
                    rows[row].append("\(name):\(bucket(name, value))")
                }
            case .floatSequence:
                continue
            }
        }
        return rows
    }
}

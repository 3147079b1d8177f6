import Foundation

/// A user's raw features for the `ctr` protocol; an empty string is a missing value.
public struct CTRUserFeatures: Sendable, Codable, Equatable, Hashable {
    /// `M`, `F`, or empty.
    public var gender: String
    /// The age or age group as written (`24` in ml-100k, the group code `25` in ml-1m).
    public var age: String
    /// The occupation name (ml-100k) or code (ml-1m).
    public var occupation: String
    /// The first two characters of the zip code (`85` for `85711`).
    public var zipPrefix: String

    public init(gender: String = "", age: String = "", occupation: String = "", zipPrefix: String = "") {
        (self.gender, self.age, self.occupation, self.zipPrefix) = (gender, age, occupation, zipPrefix)
    }

    /// A user with every feature missing.
    public static let missing = CTRUserFeatures()
}

/// An item's raw features for the `ctr` protocol; empty values are missing.
public struct CTRItemFeatures: Sendable, Codable, Equatable, Hashable {
    /// Genres in file order, at most ``CTRItemFeatures/genreLimit``.
    public var genres: [String]
    /// The release year as an integer's digits, or empty.
    public var year: String
    /// Lower-cased alphanumeric words of the title, first occurrences only, at most
    /// ``CTRItemFeatures/titleLimit``.
    public var titleTokens: [String]

    /// At most 6 genres (a MovieLens film has at most 6).
    public static let genreLimit = 6
    /// At most 8 title words: longer titles keep their first 8 distinct words.
    public static let titleLimit = 8

    public init(genres: [String] = [], year: String = "", titleTokens: [String] = []) {
        (self.genres, self.year, self.titleTokens) = (genres, year, titleTokens)
    }

    /// An item with every feature missing.
    public static let missing = CTRItemFeatures()

    /// The words of `title`: lower-cased runs of letters and digits, first occurrences, capped.
    public static func tokens(ofTitle title: String) -> [String] {
        var result: [String] = []
        var word = ""
        func flush() {
            if !word.isEmpty && !result.contains(word) && result.count < titleLimit { result.append(word) }
            word = ""
        }
        for character in title.lowercased() {
            if character.isLetter || character.isNumber { word.append(character) } else { flush() }
        }
        flush()
        return result
    }
}

/// Reads the `.user` and `.item` atomic files for the `ctr` protocol, with errors that name the
/// file, line and column of a bad row.
///
/// Columns are found by name: users `gender`, `age`, `occupation`, `zip_code`; items
/// `class`, `genre` or `genres` (space-separated), `release_year`, `movie_title` or `title`.
/// A column the file lacks leaves that feature missing for every row, and so does a release year
/// written as a word (ml-100k's `unkonwn`). A duplicate key, a number that is not a year in
/// 1000...2999, text in a column declared `float`, or a row with the wrong number of fields is an
/// error.
public enum CTRFeatureFiles {
    /// User features by external user id.
    public static func readUsers(path: String, keyField: String = "user_id") throws -> [String: CTRUserFeatures] {
        var columns: [String: Int] = [:]
        var numeric: Set<Int> = []
        var keyIndex = 0
        var result: [String: CTRUserFeatures] = [:]
        var noReport: LoadReport? = nil
        let reader = TableReader(path: path, separator: "\t", encoding: .utf8)
        try reader.read(
            skipBadRows: false, report: &noReport,
            header: { names in
                keyIndex = try headerColumns(names, path: path, keyField: keyField, into: &columns, numeric: &numeric)
            },
            row: { fields in
                let key = try fields.identifier(keyIndex)
                func text(_ name: String) throws -> String {
                    guard let index = columns[name], !fields.isEmpty(index) else { return "" }
                    // A column declared float must hold numbers, as the interaction loader demands.
                    if numeric.contains(index) { _ = try fields.number(index) }
                    return try fields.string(index).trimmingWhitespace()
                }
                // Zip codes stay text: "02460" is not the number 2460.
                let zip = try text("zip_code")
                let user = CTRUserFeatures(
                    gender: try text("gender"), age: canonicalNumber(try text("age")),
                    occupation: canonicalNumber(try text("occupation")), zipPrefix: String(zip.prefix(2)))
                guard result.updateValue(user, forKey: key) == nil else {
                    throw fields.error(keyIndex, "duplicate \(keyField) '\(key)'")
                }
            })
        return result
    }

    /// Item features by external item id.
    public static func readItems(path: String, keyField: String = "item_id") throws -> [String: CTRItemFeatures] {
        var columns: [String: Int] = [:]
        var numeric: Set<Int> = []
        var keyIndex = 0
        var result: [String: CTRItemFeatures] = [:]
        var noReport: LoadReport? = nil
        let reader = TableReader(path: path, separator: "\t", encoding: .utf8)
        try reader.read(
            skipBadRows: false, report: &noReport,
            header: { names in
                keyIndex = try headerColumns(names, path: path, keyField: keyField, into: &columns, numeric: &numeric)
            },
            row: { fields in
                let key = try fields.identifier(keyIndex)
                func index(_ names: [String]) -> Int? {
                    names.lazy.compactMap { columns[$0] }.first.flatMap { fields.isEmpty($0) ? nil : $0 }
                }
                var item = CTRItemFeatures()
                if let genre = index(["class", "genre", "genres"]) {
                    let words = try fields.string(genre).split(whereSeparator: { $0 == " " || $0 == "|" })
                    item.genres = Array(words.map(String.init).prefix(CTRItemFeatures.genreLimit))
                }
                if let yearIndex = index(["release_year", "year"]) {
                    if numeric.contains(yearIndex) { _ = try fields.number(yearIndex) }
                    let text = try fields.string(yearIndex).trimmingWhitespace()
                    // A word (ml-100k writes `unkonwn` for one film) is a missing year; a number must be one.
                    if let year = Double(text) {
                        guard year == year.rounded(), (1000...2999).contains(year) else {
                            throw fields.error(yearIndex, "'\(text)' is not a year in 1000...2999")
                        }
                        item.year = String(Int(year))
                    }
                }
                if let title = index(["movie_title", "title", "name"]) {
                    item.titleTokens = CTRItemFeatures.tokens(ofTitle: try fields.string(title))
                }
                guard result.updateValue(item, forKey: key) == nil else {
                    throw fields.error(keyIndex, "duplicate \(keyField) '\(key)'")
                }
            })
        return result
    }

    /// Records each column's position by name (without the `:type` suffix) and returns the key's.
    private static func headerColumns(
        _ names: [String], path: String, keyField: String, into columns: inout [String: Int], numeric: inout Set<Int>
    ) throws -> Int {
        let parsed = try AtomicFileLoader.parseHeader(names, path: path)
        for (index, column) in parsed.enumerated() {
            columns[column.name] = index
            if column.type == .float { numeric.insert(index) }
        }
        guard let key = columns[keyField] else {
            throw DatasetError.missingColumn(path: path, column: keyField, available: parsed.map(\.name))
        }
        return key
    }

    /// `"25.0"` → `"25"`: ml-1m writes codes as floats; one spelling keeps one vocabulary entry.
    private static func canonicalNumber(_ text: String) -> String {
        guard let value = Double(text), value.isFinite, value == value.rounded(), abs(value) < 1e15 else { return text }
        return String(Int(value))
    }
}

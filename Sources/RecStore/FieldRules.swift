import RecData

/// What each field of a user, an item or a feedback row accepts, checked the same way by both
/// backends and by the server before anything is written (the table in docs/guide.md).
///
/// - Identifiers (`UserId`, `ItemId`, `FeedbackType`, each of `Categories`): ``IdentifierRule``.
/// - `Timestamp`: empty (unknown) or an RFC 3339 date-time, stored as UTC to the second.
/// - `Value`: a finite number.
/// - `Comment`: at most ``maximumTextBytes`` bytes of UTF-8 without U+0000.
/// - `Labels`: any JSON value whose text is at most ``maximumTextBytes`` bytes.
///
/// Each check throws ``StoreError/invalid(field:reason:)`` with the field's path in the request
/// (`[3].Timestamp`, the fourth element's), so a client can find the bad value.
public enum FieldRules {
    /// The longest comment or labels text accepted, in UTF-8 bytes.
    public static let maximumTextBytes = 65_536
    /// The most categories one item may have.
    public static let maximumCategories = 1_000

    public static func identifier(_ value: String, at path: String) throws {
        if let problem = IdentifierRule.problem(with: value) { throw StoreError.invalid(field: path, reason: problem) }
    }

    /// Free text: a comment, a title, a search.
    public static func text(_ value: String, at path: String) throws {
        if value.utf8.count > maximumTextBytes {
            throw StoreError.invalid(field: path, reason: "is longer than \(maximumTextBytes) bytes")
        }
        if value.utf8.contains(0) { throw StoreError.invalid(field: path, reason: "contains the character U+0000") }
    }

    /// The store's text of a timestamp: empty stays empty, an RFC 3339 time becomes UTC.
    public static func timestamp(_ value: String, at path: String) throws -> String {
        if value.isEmpty { return "" }
        guard let normalized = StoreTimestamp.normalized(value) else {
            let shown = value.count > 40 ? String(value.prefix(40)) + "…" : value
            throw StoreError.invalid(
                field: path, reason: "\"\(shown)\" is not an RFC 3339 time such as 2026-01-02T15:04:05Z")
        }
        return normalized
    }

    public static func labels(_ value: JSONValue, at path: String) throws {
        if value.text.utf8.count > maximumTextBytes {
            throw StoreError.invalid(field: path, reason: "is longer than \(maximumTextBytes) bytes as JSON")
        }
    }

    public static func categories(_ values: [String], at path: String) throws {
        if values.count > maximumCategories {
            throw StoreError.invalid(field: path, reason: "has more than \(maximumCategories) categories")
        }
        for (index, category) in values.enumerated() { try identifier(category, at: "\(path)[\(index)]") }
    }

    /// `entry` checked, its timestamp in the store's form; `path` prefixes the fields' names.
    /// `anonymous` lets `UserId` be empty (a session's feedback, which is never stored).
    public static func checked(
        _ entry: StoredFeedback, at path: String = "", anonymous: Bool = false
    ) throws -> StoredFeedback {
        try identifier(entry.feedbackType, at: field(path, "FeedbackType"))
        if !(anonymous && entry.userID.isEmpty) { try identifier(entry.userID, at: field(path, "UserId")) }
        try identifier(entry.itemID, at: field(path, "ItemId"))
        guard entry.value.isFinite else {
            throw StoreError.invalid(field: field(path, "Value"), reason: "must be a finite number")
        }
        try text(entry.comment, at: field(path, "Comment"))
        var checked = entry
        checked.timestamp = try timestamp(entry.timestamp, at: field(path, "Timestamp"))
        return checked
    }

    public static func checked(_ user: StoredUser, at path: String = "") throws -> StoredUser {
        try identifier(user.userID, at: field(path, "UserId"))
        try labels(user.labels, at: field(path, "Labels"))
        try text(user.comment, at: field(path, "Comment"))
        return user
    }

    public static func checked(_ item: StoredItem, at path: String = "") throws -> StoredItem {
        try identifier(item.itemID, at: field(path, "ItemId"))
        try categories(item.categories, at: field(path, "Categories"))
        try labels(item.labels, at: field(path, "Labels"))
        try text(item.comment, at: field(path, "Comment"))
        var checked = item
        checked.timestamp = try timestamp(item.timestamp, at: field(path, "Timestamp"))
        return checked
    }

    /// A patch's fields checked; returns its timestamp in the store's form.
    public static func checkedPatch(
        categories: [String]?, timestamp: String?, labels: JSONValue?, comment: String?
    ) throws -> String? {
        if let categories { try self.categories(categories, at: "Categories") }
        if let labels { try self.labels(labels, at: "Labels") }
        if let comment { try text(comment, at: "Comment") }
        return try timestamp.map { try self.timestamp($0, at: "Timestamp") }
    }

    /// Every element checked (its path `[index]`), or the first problem; nothing is written
    /// from a list with a bad element.
    public static func checked(_ feedback: [StoredFeedback], anonymous: Bool = false) throws -> [StoredFeedback] {
        try feedback.enumerated().map { try checked($1, at: "[\($0)]", anonymous: anonymous) }
    }

    public static func checked(_ users: [StoredUser]) throws -> [StoredUser] {
        try users.enumerated().map { try checked($1, at: "[\($0)]") }
    }

    public static func checked(_ items: [StoredItem]) throws -> [StoredItem] {
        try items.enumerated().map { try checked($1, at: "[\($0)]") }
    }

    private static func field(_ path: String, _ name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }

    /// A flow configuration's text: up to 1 MiB, no U+0000 (PostgreSQL text cannot hold it).
    static func configurationText(_ text: String) throws {
        guard text.utf8.count <= 1 << 20 else {
            throw StoreError.invalid(field: "configuration", reason: "is over 1 MiB")
        }
        guard !text.utf8.contains(0) else {
            throw StoreError.invalid(field: "configuration", reason: "holds U+0000")
        }
    }
}

import Foundation
import Logging
import PostgresNIO
import RecData

/// The `items` table.
extension PostgresEventStore {
    public func upsertItems(_ items: [StoredItem]) async throws -> Int {
        let items = try FieldRules.checked(items)
        guard !items.isEmpty else { return 0 }
        let unique = StoreRules.lastOfEach(items, key: \.itemID)
        try await query(
            """
            INSERT INTO items (id, is_hidden, categories, timestamp, labels, comment)
            SELECT * FROM unnest(\(unique.map(\.itemID))::text[], \(unique.map(\.isHidden))::boolean[],
                                 \(unique.map { StoreRules.categoriesText($0.categories) })::text[],
                                 \(unique.map(\.timestamp))::text[], \(unique.map(\.labels.text))::text[],
                                 \(unique.map(\.comment))::text[])
            ON CONFLICT (id) DO UPDATE SET is_hidden = excluded.is_hidden, categories = excluded.categories,
                timestamp = excluded.timestamp, labels = excluded.labels, comment = excluded.comment
            """)
        return items.count
    }

    static let itemColumns = "id, is_hidden, categories, timestamp, labels, comment"

    static func item(_ row: PostgresRow) throws -> StoredItem {
        let (id, hidden, categories, timestamp, labels, comment) = try row.decode(
            (String, Bool, String, String, String, String).self)
        return StoredItem(
            itemID: id, isHidden: hidden, categories: StoreRules.categories(fromText: categories), timestamp: timestamp,
            labels: JSONValue(text: labels), comment: comment)
    }

    public func item(_ id: String) async throws -> StoredItem? {
        try await rows("SELECT \(unescaped: Self.itemColumns) FROM items WHERE id = \(id)", Self.item).first
    }

    public func patchItem(
        _ id: String, isHidden: Bool?, categories: [String]?, timestamp: String?, labels: JSONValue?, comment: String?
    ) async throws -> Int {
        let timestamp = try FieldRules.checkedPatch(
            categories: categories, timestamp: timestamp, labels: labels, comment: comment)
        return try await rows(
            """
            UPDATE items SET is_hidden = COALESCE(\(isHidden)::boolean, is_hidden),
                             categories = COALESCE(\(categories.map(StoreRules.categoriesText))::text, categories),
                             timestamp = COALESCE(\(timestamp)::text, timestamp),
                             labels = COALESCE(\(labels?.text)::text, labels),
                             comment = COALESCE(\(comment)::text, comment)
            WHERE id = \(id) RETURNING 1
            """
        ) { _ in 1 }.count
    }

    public func deleteItem(_ id: String) async throws -> Int {
        try await transaction { [logger] connection in
            _ = try await connection.query("DELETE FROM feedback WHERE item_id = \(id)", logger: logger)
            return try await connection.query("DELETE FROM items WHERE id = \(id) RETURNING 1", logger: logger)
                .collect().count
        }
    }

    public func items(count: Int, after cursor: String) async throws -> (items: [StoredItem], cursor: String) {
        let start = try StoreRules.decodeCursor(cursor)
        let items = try await rows(
            "SELECT \(unescaped: Self.itemColumns) FROM items WHERE id > \(start) ORDER BY id LIMIT \(count)",
            Self.item)
        return (items, items.count == count ? StoreRules.encodeCursor(items.last?.itemID ?? "") : "")
    }

    public func hiddenItems() async throws -> Set<String> {
        Set(try await rows("SELECT id FROM items WHERE is_hidden") { try $0.decode(String.self) })
    }

    public func items(inCategory category: String) async throws -> Set<String> {
        let rows = try await rows(
            "SELECT id, categories FROM items WHERE strpos(categories, \(StoreRules.categoryNeedle(category))) > 0"
        ) { try $0.decode((String, String).self) }
        return Set(rows.filter { StoreRules.inCategory($0.1, category) }.map(\.0))
    }

    public func items(titleContaining text: String, count: Int) async throws -> [StoredItem] {
        try await rows(
            """
            SELECT \(unescaped: Self.itemColumns) FROM items
            WHERE comment COLLATE "C" ILIKE \(StoreRules.containsPattern(text)) ESCAPE '\\' ORDER BY id LIMIT \(count)
            """, Self.item)
    }
}

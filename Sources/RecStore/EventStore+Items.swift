import Foundation
import GRDB

/// The `items` table.
extension EventStore {
    @discardableResult
    public func upsertItems(_ items: [StoredItem]) throws -> Int {
        for item in items {
            try Self.check(item.itemID, "ItemId")
            for category in item.categories { try Self.check(category, "Categories") }
        }
        return try database.write { db in
            let statement = try db.cachedStatement(
                sql: """
                    INSERT OR REPLACE INTO items (id, is_hidden, categories, timestamp, labels, comment)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """)
            for item in items {
                statement.setUncheckedArguments([
                    item.itemID, item.isHidden, JSONValue.array(item.categories.map(JSONValue.string)).text,
                    item.timestamp, item.labels.text, item.comment,
                ])
                try statement.execute()
            }
            return items.count
        }
    }

    static func item(_ row: Row) -> StoredItem {
        var categories: [String] = []
        if case .array(let values) = JSONValue(text: row["categories"]) {
            categories = values.compactMap { if case .string(let s) = $0 { return s } else { return nil } }
        }
        return StoredItem(
            itemID: row["id"], isHidden: row["is_hidden"], categories: categories, timestamp: row["timestamp"],
            labels: JSONValue(text: row["labels"]), comment: row["comment"])
    }

    public func item(_ id: String) throws -> StoredItem? {
        try database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM items WHERE id = ?", arguments: [id]).map(Self.item)
        }
    }

    /// Changes the given fields of an item; returns 1 if it exists, else 0.
    public func patchItem(
        _ id: String, isHidden: Bool?, categories: [String]?, timestamp: String?, labels: JSONValue?, comment: String?
    ) throws -> Int {
        for category in categories ?? [] { try Self.check(category, "Categories") }
        return try database.write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM items WHERE id = ?", arguments: [id]) != nil else {
                return 0
            }
            if let isHidden {
                try db.execute(sql: "UPDATE items SET is_hidden = ? WHERE id = ?", arguments: [isHidden, id])
            }
            if let categories {
                try db.execute(
                    sql: "UPDATE items SET categories = ? WHERE id = ?",
                    arguments: [JSONValue.array(categories.map(JSONValue.string)).text, id])
            }
            if let timestamp {
                try db.execute(sql: "UPDATE items SET timestamp = ? WHERE id = ?", arguments: [timestamp, id])
            }
            if let labels {
                try db.execute(sql: "UPDATE items SET labels = ? WHERE id = ?", arguments: [labels.text, id])
            }
            if let comment {
                try db.execute(sql: "UPDATE items SET comment = ? WHERE id = ?", arguments: [comment, id])
            }
            return 1
        }
    }

    /// Deletes an item and its feedback; returns the item rows deleted.
    public func deleteItem(_ id: String) throws -> Int {
        try database.write { db in
            try db.execute(sql: "DELETE FROM feedback WHERE item_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM items WHERE id = ?", arguments: [id])
            return db.changesCount
        }
    }

    public func items(count: Int, after cursor: String) throws -> (items: [StoredItem], cursor: String) {
        let start = try Self.decodeCursor(cursor)
        return try database.read { db in
            let items = try Row.fetchAll(
                db, sql: "SELECT * FROM items WHERE id > ? ORDER BY id LIMIT ?", arguments: [start, count]
            ).map(Self.item)
            return (items, items.count == count ? Self.encodeCursor(items.last?.itemID ?? "") : "")
        }
    }

    /// Identifiers of hidden items.
    public func hiddenItems() throws -> Set<String> {
        try database.read(Self.hiddenItems)
    }

    static func hiddenItems(_ db: Database) throws -> Set<String> {
        Set(try String.fetchAll(db.cachedStatement(sql: "SELECT id FROM items WHERE is_hidden = 1")))
    }

    /// Identifiers of the items in `category`.
    ///
    /// Categories are stored as JSON text written by one encoder, so SQLite first keeps the rows
    /// whose text contains the category's own JSON string; only those are decoded, which also
    /// drops the rare false match (a quoted category inside another's escaped text).
    public func items(inCategory category: String) throws -> Set<String> {
        let needle = JSONValue.string(category).text
        return try database.read { db in
            let rows = try Row.fetchCursor(
                db.cachedStatement(sql: "SELECT id, categories FROM items WHERE instr(categories, ?) > 0"),
                arguments: [needle])
            var result = Set<String>()
            while let row = try rows.next() {
                guard case .array(let values) = JSONValue(text: row[1]), values.contains(.string(category)) else {
                    continue
                }
                result.insert(row[0])
            }
            return result
        }
    }

    /// Up to `count` items whose title (the item's `comment`) contains `text`, ignoring ASCII
    /// case, in identifier order. `%`, `_` and `\` in `text` match themselves.
    public func items(titleContaining text: String, count: Int) throws -> [StoredItem] {
        let escaped = text.replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
        return try database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM items WHERE comment LIKE ? ESCAPE '\\' ORDER BY id LIMIT ?",
                arguments: ["%\(escaped)%", count]
            ).map(Self.item)
        }
    }
}

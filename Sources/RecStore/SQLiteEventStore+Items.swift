import Foundation
import GRDB

/// The `items` table.
extension SQLiteEventStore {
    @discardableResult
    public func upsertItems(_ items: [StoredItem]) throws -> Int {
        let items = try FieldRules.checked(items)
        return try database.write { db in
            try Self.insertOrReplace(
                items.count, into: "items",
                columns: ["id", "is_hidden", "categories", "timestamp", "labels", "comment"], db
            ) { row, index in
                let item = items[index]
                return row.text(item.itemID).integer(item.isHidden ? 1 : 0).text(
                    StoreRules.categoriesText(item.categories)
                )
                .text(item.timestamp).text(item.labels.text).text(item.comment)
            }
            return items.count
        }
    }

    static func item(_ row: Row) -> StoredItem {
        StoredItem(
            itemID: row["id"], isHidden: row["is_hidden"],
            categories: StoreRules.categories(fromText: row["categories"]), timestamp: row["timestamp"],
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
        let timestamp = try FieldRules.checkedPatch(
            categories: categories, timestamp: timestamp, labels: labels, comment: comment)
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
                    arguments: [StoreRules.categoriesText(categories), id])
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
        let start = try StoreRules.decodeCursor(cursor)
        return try database.read { db in
            let items = try Row.fetchAll(
                db, sql: "SELECT * FROM items WHERE id > ? ORDER BY id LIMIT ?", arguments: [start, count]
            ).map(Self.item)
            return (items, items.count == count ? StoreRules.encodeCursor(items.last?.itemID ?? "") : "")
        }
    }

    /// Identifiers of hidden items.
    public func hiddenItems() throws -> Set<String> {
        try database.read(Self.hiddenItems)
    }

    static func hiddenItems(_ db: Database) throws -> Set<String> {
        Set(try String.fetchAll(db.cachedStatement(sql: "SELECT id FROM items WHERE is_hidden = 1")))
    }

    /// Categories are stored as JSON text written by one encoder, so SQLite first keeps the rows
    /// whose text contains the category's own JSON string; only those are decoded.
    public func items(inCategory category: String) throws -> Set<String> {
        let needle = StoreRules.categoryNeedle(category)
        return try database.read { db in
            let rows = try Row.fetchCursor(
                db.cachedStatement(sql: "SELECT id, categories FROM items WHERE instr(categories, ?) > 0"),
                arguments: [needle])
            var result = Set<String>()
            while let row = try rows.next() {
                if StoreRules.inCategory(row[1], category) { result.insert(row[0]) }
            }
            return result
        }
    }

    public func items(titleContaining text: String, count: Int) throws -> [StoredItem] {
        try database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM items WHERE comment LIKE ? ESCAPE '\\' ORDER BY id LIMIT ?",
                arguments: [StoreRules.containsPattern(text), count]
            ).map(Self.item)
        }
    }
}

import Foundation
import GRDB

/// The `feedback` table.
extension SQLiteEventStore {
    /// Inserts feedback, creating unknown users and items. With `overwrite` an existing
    /// (type, user, item) row is replaced (Gorse's `PUT`); without, it is left as it is (`POST`).
    ///
    /// - Returns: The rows inserted or replaced.
    @discardableResult
    public func insertFeedback(_ feedback: [StoredFeedback], overwrite: Bool) throws -> Int {
        let feedback = try FieldRules.checked(feedback)
        return try database.write { db in try Self.insert(feedback, overwrite: overwrite, db) }
    }

    static func insert(_ feedback: [StoredFeedback], overwrite: Bool, _ db: Database) throws -> Int {
        var changed = 0
        for entry in feedback {
            try db.cachedStatement(sql: "INSERT OR IGNORE INTO users (id) VALUES (?)").execute(arguments: [
                entry.userID
            ])
            try db.cachedStatement(sql: "INSERT OR IGNORE INTO items (id) VALUES (?)").execute(arguments: [
                entry.itemID
            ])
            try feedbackStatement(overwrite: overwrite, db).execute(arguments: arguments(entry))
            changed += db.changesCount
        }
        return changed
    }

    /// The one statement that writes a feedback row: `POST` keeps an existing (type, user, item)
    /// row, `PUT` (`overwrite`) replaces it.
    static func feedbackStatement(overwrite: Bool, _ db: Database) throws -> Statement {
        try db.cachedStatement(
            sql: """
                INSERT OR \(overwrite ? "REPLACE" : "IGNORE") INTO feedback
                (type, user_id, item_id, value, timestamp, comment) VALUES (?, ?, ?, ?, ?, ?)
                """)
    }

    static func arguments(_ entry: StoredFeedback) -> StatementArguments {
        [entry.feedbackType, entry.userID, entry.itemID, entry.value, entry.timestamp, entry.comment]
    }

    static func feedback(_ row: Row) -> StoredFeedback {
        StoredFeedback(
            feedbackType: row["type"], userID: row["user_id"], itemID: row["item_id"], value: row["value"],
            timestamp: row["timestamp"], comment: row["comment"])
    }

    /// A user's feedback, oldest first (by timestamp, then insertion), optionally of one type.
    public func feedback(ofUser user: String, type: String? = nil) throws -> [StoredFeedback] {
        try database.read { db in
            let sql =
                "SELECT * FROM feedback WHERE user_id = ?" + (type == nil ? "" : " AND type = ?")
                + " ORDER BY timestamp, rowid"
            let arguments: StatementArguments = type.map { [user, $0] } ?? [user]
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map(Self.feedback)
        }
    }

    /// What ranking needs for a user, read in one transaction: the type and item of each of their
    /// feedback rows, oldest first (as `feedback(ofUser:)` orders them), and the hidden items.
    public func rankingInputs(ofUser user: String, asOf cutoff: String, times: Bool) throws -> (
        feedback: [(type: String, itemID: String, timestamp: String)], hidden: Set<String>
    ) {
        try database.read { db in
            let columns = times ? "type, item_id, timestamp" : "type, item_id"
            let statement = try db.cachedStatement(
                sql: "SELECT \(columns) FROM feedback WHERE user_id = ? AND timestamp <= ? ORDER BY timestamp, rowid")
            var feedback: [(type: String, itemID: String, timestamp: String)] = []
            let rows = try Row.fetchCursor(statement, arguments: [user, cutoff])
            while let row = try rows.next() { feedback.append((row[0], row[1], times ? row[2] : "")) }
            return (feedback, try Self.hiddenItems(db))
        }
    }

    public func feedbackOnItem(_ item: String) throws -> [(type: String, userID: String)] {
        try database.read { db in
            let statement = try db.cachedStatement(sql: "SELECT type, user_id FROM feedback WHERE item_id = ?")
            var feedback: [(type: String, userID: String)] = []
            let rows = try Row.fetchCursor(statement, arguments: [item])
            while let row = try rows.next() { feedback.append((row[0], row[1])) }
            return feedback
        }
    }

    /// Up to `count` feedback rows after `cursor`, in insertion order.
    public func feedback(count: Int, after cursor: String) throws -> (feedback: [StoredFeedback], cursor: String) {
        let start = Int64(try StoreRules.decodeCursor(cursor)) ?? 0
        return try database.read { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT rowid, * FROM feedback WHERE rowid > ? ORDER BY rowid LIMIT ?",
                arguments: [start, count])
            let last: Int64 = rows.last?["rowid"] ?? 0
            return (rows.map(Self.feedback), rows.count == count ? StoreRules.encodeCursor(String(last)) : "")
        }
    }

    /// Deletes every feedback row between a user and an item; returns how many.
    public func deleteFeedback(user: String, item: String) throws -> Int {
        try database.write { db in
            try db.execute(sql: "DELETE FROM feedback WHERE user_id = ? AND item_id = ?", arguments: [user, item])
            return db.changesCount
        }
    }

    /// Items by number of feedback rows of `types` (every type if empty), most first.
    public func popularItems(types: [String], count: Int, since: String) throws -> [(itemID: String, count: Int)] {
        try database.read { db in
            let marks = types.map { _ in "?" }.joined(separator: ", ")
            // Without a window or types, the count reads only the item index (no table rows).
            var conditions: [String] = []
            if !types.isEmpty { conditions.append("type IN (\(marks))") }
            if !since.isEmpty { conditions.append("timestamp >= ?") }
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            let rows = try Row.fetchAll(
                db,
                sql:
                    "SELECT item_id, COUNT(*) AS n FROM feedback \(filter) GROUP BY item_id ORDER BY n DESC, item_id LIMIT ?",
                arguments: StatementArguments(types) + (since.isEmpty ? [] : [since]) + [count])
            return rows.map { ($0["item_id"], $0["n"]) }
        }
    }

    /// Items by timestamp, newest first.
    public func latestItems(count: Int) throws -> [(itemID: String, timestamp: String)] {
        try database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT id, timestamp FROM items WHERE timestamp != '' ORDER BY timestamp DESC, id LIMIT ?",
                arguments: [count]
            ).map { ($0["id"], $0["timestamp"]) }
        }
    }
}

import Foundation
import GRDB

/// The `users` table.
extension SQLiteEventStore {
    /// Inserts or replaces users; returns how many rows changed.
    @discardableResult
    public func upsertUsers(_ users: [StoredUser]) throws -> Int {
        let users = try FieldRules.checked(users)
        return try database.write { db in
            try Self.insertOrReplace(users.count, into: "users", columns: ["id", "labels", "comment"], db) {
                row, index in
                row.text(users[index].userID).text(users[index].labels.text).text(users[index].comment)
            }
            return users.count
        }
    }

    public func user(_ id: String) throws -> StoredUser? {
        try database.read { db in
            try Row.fetchOne(db, sql: "SELECT id, labels, comment FROM users WHERE id = ?", arguments: [id]).map {
                StoredUser(userID: $0["id"], labels: JSONValue(text: $0["labels"]), comment: $0["comment"])
            }
        }
    }

    /// Changes the given fields of a user; returns 1 if the user exists, else 0.
    public func patchUser(_ id: String, labels: JSONValue?, comment: String?) throws -> Int {
        _ = try FieldRules.checkedPatch(categories: nil, timestamp: nil, labels: labels, comment: comment)
        return try database.write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM users WHERE id = ?", arguments: [id]) != nil else {
                return 0
            }
            if let labels {
                try db.execute(sql: "UPDATE users SET labels = ? WHERE id = ?", arguments: [labels.text, id])
            }
            if let comment {
                try db.execute(sql: "UPDATE users SET comment = ? WHERE id = ?", arguments: [comment, id])
            }
            return 1
        }
    }

    /// Deletes a user and all their feedback in one transaction; returns the user rows deleted.
    public func deleteUser(_ id: String) throws -> Int {
        try database.write { db in
            try db.execute(sql: "DELETE FROM feedback WHERE user_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM users WHERE id = ?", arguments: [id])
            return db.changesCount
        }
    }

    /// Up to `count` users after `cursor` in identifier order, and the cursor of the next page
    /// (empty at the end).
    public func users(count: Int, after cursor: String) throws -> (users: [StoredUser], cursor: String) {
        let start = try StoreRules.decodeCursor(cursor)
        return try database.read { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT id, labels, comment FROM users WHERE id > ? ORDER BY id LIMIT ?",
                arguments: [start, count])
            let users = rows.map {
                StoredUser(userID: $0["id"], labels: JSONValue(text: $0["labels"]), comment: $0["comment"])
            }
            return (users, users.count == count ? StoreRules.encodeCursor(users.last?.userID ?? "") : "")
        }
    }
}

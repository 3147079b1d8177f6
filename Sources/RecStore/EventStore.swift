import Foundation
import GRDB
import Synchronization

/// Users, items and feedback in one SQLite database (GRDB, WAL mode), the server's source of
/// truth: a write returns only after its transaction has committed.
///
/// Commits use `synchronous = NORMAL` under WAL: a committed event survives the server process
/// being killed (`kill -9`); `durableAgainstPowerLoss` switches to `FULL`, which also survives
/// the machine losing power, at the price of an fsync per commit.
public final class EventStore: Sendable {
    /// The longest identifier, category or feedback type accepted.
    public static let maximumIdentifierLength = 256

    private let database: DatabasePool
    /// Feedback writes waiting for ``commitFeedback(_:overwrite:)``'s next transaction.
    private let pending = Mutex(PendingWrites())
    private let writeQueue = DispatchQueue(label: "reckit.store.feedback-commits")

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    public init(path: String, durableAgainstPowerLoss: Bool = false) throws {
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(durableAgainstPowerLoss ? "FULL" : "NORMAL")")
        }
        database = try DatabasePool(path: path, configuration: configuration)
        try Self.migrator.migrate(database)
    }

    /// Migrations are registered once and never edited after release; changes add a new one.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE users (
                        id TEXT PRIMARY KEY NOT NULL,
                        labels TEXT NOT NULL DEFAULT 'null',
                        comment TEXT NOT NULL DEFAULT '');
                    CREATE TABLE items (
                        id TEXT PRIMARY KEY NOT NULL,
                        is_hidden INTEGER NOT NULL DEFAULT 0,
                        categories TEXT NOT NULL DEFAULT '[]',
                        timestamp TEXT NOT NULL DEFAULT '',
                        labels TEXT NOT NULL DEFAULT 'null',
                        comment TEXT NOT NULL DEFAULT '');
                    CREATE TABLE feedback (
                        type TEXT NOT NULL,
                        user_id TEXT NOT NULL,
                        item_id TEXT NOT NULL,
                        value REAL NOT NULL DEFAULT 1,
                        timestamp TEXT NOT NULL DEFAULT '',
                        comment TEXT NOT NULL DEFAULT '',
                        PRIMARY KEY (type, user_id, item_id));
                    CREATE INDEX feedback_by_user ON feedback (user_id, timestamp);
                    CREATE INDEX feedback_by_item ON feedback (item_id);
                    """)
        }
        migrator.registerMigration("v2: indexes for ranking reads") { db in
            // Every recommendation reads the hidden items and the user's (type, item) history: a
            // partial index keeps the first off a table scan, a covering one the second off the table.
            try db.execute(
                sql: """
                    CREATE INDEX items_hidden ON items (id) WHERE is_hidden = 1;
                    DROP INDEX feedback_by_user;
                    CREATE INDEX feedback_by_user ON feedback (user_id, timestamp, type, item_id);
                    """)
        }
        return migrator
    }

    static func check(_ value: String, _ field: String, allowEmpty: Bool = false) throws {
        if !allowEmpty && value.isEmpty { throw StoreError.invalid(field: field, reason: "must not be empty") }
        if value.utf8.count > maximumIdentifierLength {
            throw StoreError.invalid(field: field, reason: "longer than \(maximumIdentifierLength) bytes")
        }
    }

    // MARK: Users

    /// Inserts or replaces users; returns how many rows changed.
    @discardableResult
    public func upsertUsers(_ users: [StoredUser]) throws -> Int {
        for user in users { try Self.check(user.userID, "UserId") }
        return try database.write { db in
            for user in users {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO users (id, labels, comment) VALUES (?, ?, ?)",
                    arguments: [user.userID, user.labels.text, user.comment])
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
        try database.write { db in
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
        let start = try Self.decodeCursor(cursor)
        return try database.read { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT id, labels, comment FROM users WHERE id > ? ORDER BY id LIMIT ?",
                arguments: [start, count])
            let users = rows.map {
                StoredUser(userID: $0["id"], labels: JSONValue(text: $0["labels"]), comment: $0["comment"])
            }
            return (users, users.count == count ? Self.encodeCursor(users.last?.userID ?? "") : "")
        }
    }

    // MARK: Items

    @discardableResult
    public func upsertItems(_ items: [StoredItem]) throws -> Int {
        for item in items {
            try Self.check(item.itemID, "ItemId")
            for category in item.categories { try Self.check(category, "Categories") }
        }
        return try database.write { db in
            for item in items {
                try db.execute(
                    sql: """
                        INSERT OR REPLACE INTO items (id, is_hidden, categories, timestamp, labels, comment)
                        VALUES (?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        item.itemID, item.isHidden, JSONValue.array(item.categories.map(JSONValue.string)).text,
                        item.timestamp, item.labels.text, item.comment,
                    ])
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

    // MARK: Feedback

    /// Inserts feedback, creating unknown users and items. With `overwrite` an existing
    /// (type, user, item) row is replaced (Gorse's `PUT`); without, it is left as it is (`POST`).
    ///
    /// - Returns: The rows inserted or replaced.
    @discardableResult
    public func insertFeedback(_ feedback: [StoredFeedback], overwrite: Bool) throws -> Int {
        try Self.validate(feedback)
        return try database.write { db in try Self.insert(feedback, overwrite: overwrite, db) }
    }

    /// ``insertFeedback(_:overwrite:)`` for concurrent callers (the server): writes that arrive
    /// while a commit is running are committed together in the next transaction (group commit),
    /// on a queue of their own, and each caller resumes once the transaction holding its rows has
    /// committed. A transaction that fails is retried write by write, so one failing write
    /// cannot fail the others.
    ///
    /// - Returns: The rows inserted or replaced by this caller's write.
    public func commitFeedback(_ feedback: [StoredFeedback], overwrite: Bool) async throws -> Int {
        try Self.validate(feedback)
        return try await withCheckedThrowingContinuation { continuation in
            let write = PendingWrite(feedback: feedback, overwrite: overwrite, continuation: continuation)
            let startsCommitting = pending.withLock { state in
                state.writes.append(write)
                defer { state.committing = true }
                return !state.committing
            }
            if startsCommitting { writeQueue.async { self.commitPending() } }
        }
    }

    /// Commits pending writes, a group per transaction, until none are left.
    private func commitPending() {
        while true {
            let group = pending.withLock { state in
                defer { state.writes = [] }
                if state.writes.isEmpty { state.committing = false }
                return state.writes
            }
            if group.isEmpty { return }
            do {
                let changed = try database.write { db in
                    try group.map { try Self.insert($0.feedback, overwrite: $0.overwrite, db) }
                }
                for (write, count) in zip(group, changed) { write.continuation.resume(returning: count) }
            } catch {
                for write in group {
                    do {
                        let changed = try database.write { db in
                            try Self.insert(write.feedback, overwrite: write.overwrite, db)
                        }
                        write.continuation.resume(returning: changed)
                    } catch {
                        write.continuation.resume(throwing: error)
                    }
                }
            }
        }
    }

    struct PendingWrite: Sendable {
        var feedback: [StoredFeedback]
        var overwrite: Bool
        var continuation: CheckedContinuation<Int, any Error>
    }

    struct PendingWrites: Sendable {
        var writes: [PendingWrite] = []
        /// Whether `commitPending` is scheduled or running.
        var committing = false
    }

    static func validate(_ feedback: [StoredFeedback]) throws {
        for entry in feedback {
            try check(entry.feedbackType, "FeedbackType")
            try check(entry.userID, "UserId")
            try check(entry.itemID, "ItemId")
            guard entry.value.isFinite else {
                throw StoreError.invalid(field: "Value", reason: "must be a finite number")
            }
        }
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
            try db.cachedStatement(
                sql: """
                    INSERT OR \(overwrite ? "REPLACE" : "IGNORE") INTO feedback
                    (type, user_id, item_id, value, timestamp, comment) VALUES (?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [
                entry.feedbackType, entry.userID, entry.itemID, entry.value, entry.timestamp, entry.comment,
            ])
            changed += db.changesCount
        }
        return changed
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
    public func rankingInputs(ofUser user: String) throws -> (
        feedback: [(type: String, itemID: String)], hidden: Set<String>
    ) {
        try database.read { db in
            let statement = try db.cachedStatement(
                sql: "SELECT type, item_id FROM feedback WHERE user_id = ? ORDER BY timestamp, rowid")
            var feedback: [(type: String, itemID: String)] = []
            let rows = try Row.fetchCursor(statement, arguments: [user])
            while let row = try rows.next() { feedback.append((row[0], row[1])) }
            return (feedback, try Self.hiddenItems(db))
        }
    }

    /// Up to `count` feedback rows after `cursor`, in insertion order.
    public func feedback(count: Int, after cursor: String) throws -> (feedback: [StoredFeedback], cursor: String) {
        let start = Int64(try Self.decodeCursor(cursor)) ?? 0
        return try database.read { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT rowid, * FROM feedback WHERE rowid > ? ORDER BY rowid LIMIT ?",
                arguments: [start, count])
            let last: Int64 = rows.last?["rowid"] ?? 0
            return (rows.map(Self.feedback), rows.count == count ? Self.encodeCursor(String(last)) : "")
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
    public func popularItems(types: [String], count: Int) throws -> [(itemID: String, count: Int)] {
        try database.read { db in
            let marks = types.map { _ in "?" }.joined(separator: ", ")
            let filter = types.isEmpty ? "" : "WHERE type IN (\(marks))"
            let rows = try Row.fetchAll(
                db,
                sql:
                    "SELECT item_id, COUNT(*) AS n FROM feedback \(filter) GROUP BY item_id ORDER BY n DESC, item_id LIMIT ?",
                arguments: StatementArguments(types) + [count])
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

    /// Counts of users, items and feedback rows.
    public func counts() throws -> (users: Int, items: Int, feedback: Int) {
        try database.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM users") ?? 0,
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM items") ?? 0,
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM feedback") ?? 0
            )
        }
    }

    static func encodeCursor(_ value: String) -> String { Data(value.utf8).base64EncodedString() }

    static func decodeCursor(_ cursor: String) throws -> String {
        guard !cursor.isEmpty else { return "" }
        guard let data = Data(base64Encoded: cursor) else { throw StoreError.badCursor }
        return String(decoding: data, as: UTF8.self)
    }
}

import Foundation
import GRDB
import GRDBSQLite
import RecData

/// Bulk loading (`reckit db import`).
extension SQLiteEventStore {
    /// Runs `body` with the writer tuned for a bulk load: a 1 GiB page cache and no fsync until
    /// the end, and, when the feedback table is empty, without its two secondary indexes, which
    /// are built afterwards in one sorted pass each (SQLite's `CREATE INDEX`) instead of row by
    /// row. On return, or if `body` throws, the indexes exist again, the settings are restored
    /// and the WAL is checkpointed into the database file; a failure of that step is thrown
    /// unless `body` already threw.
    ///
    /// - Parameter indexing: Called before the indexes are built.
    public func bulkLoad<T>(indexing: () -> Void = {}, _ body: () throws -> T) throws -> T {
        let empty = try database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM feedback LIMIT 1") == 0 }
        try database.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA cache_size = -1048576; PRAGMA synchronous = OFF")
            if empty {
                try db.execute(sql: "DROP INDEX IF EXISTS feedback_by_user; DROP INDEX IF EXISTS feedback_by_item")
            }
        }
        func restore() throws {
            indexing()
            try database.writeWithoutTransaction { db in
                // A sort that outgrows its memory is cut into runs that worker threads sort while
                // the next is read; with all of it in the page cache, one thread sorts everything.
                try db.execute(sql: "PRAGMA threads = 2; PRAGMA cache_size = -32768")
                try Self.createFeedbackIndexes(db)
                try db.execute(sql: "PRAGMA threads = 0")
                try db.execute(sql: "PRAGMA synchronous = \(durableAgainstPowerLoss ? "FULL" : "NORMAL")")
                try db.execute(sql: "PRAGMA cache_size = -2000")
                try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
            }
        }
        let result: T
        do {
            result = try body()
        } catch {
            // The load's own error is the one to report; the next open rebuilds missing indexes.
            try? restore()
            throw error
        }
        try restore()
        return result
    }

    /// The feedback table's secondary indexes, as migrations v1 and v2 left them; a store whose
    /// bulk load was interrupted gets them back when it is next opened.
    static func createFeedbackIndexes(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE INDEX IF NOT EXISTS feedback_by_user ON feedback (user_id, timestamp, type, item_id);
                CREATE INDEX IF NOT EXISTS feedback_by_item ON feedback (item_id);
                """)
    }

    /// Appends feedback rows in one transaction, overwriting a row with the same (type, user,
    /// item), without creating users or items: for a bulk load whose users and items were
    /// inserted first. Rows are validated as ``insertFeedback(_:overwrite:)`` validates them.
    ///
    /// - Returns: The rows written.
    @discardableResult
    public func appendFeedback(_ feedback: [StoredFeedback]) throws -> Int {
        try StoreRules.validate(feedback)
        return try database.write { db in
            try Self.insertOrReplace(
                feedback.count, into: "feedback",
                columns: ["type", "user_id", "item_id", "value", "timestamp", "comment"],
                db
            ) { row, index in
                let entry = feedback[index]
                return row.text(entry.feedbackType).text(entry.userID).text(entry.itemID).double(entry.value)
                    .text(entry.timestamp).text(entry.comment)
            }
            return feedback.count
        }
    }

    /// Rows per statement of ``insertOrReplace(_:into:columns:_:bind:)``.
    static let rowsPerStatement = 256

    /// `INSERT OR REPLACE`s `count` rows, `rowsPerStatement` per multi-row statement: SQLite's
    /// cost per statement (starting and halting its program, resetting, locking) is then shared
    /// by all of them. Rows go in order, so a later row replaces an earlier one with its key.
    ///
    /// - Parameter bind: Binds the row at an index, a value per column in order.
    static func insertOrReplace(
        _ count: Int, into table: String, columns: [String], _ db: Database, bind: (RawRow, Int) -> RawRow
    ) throws {
        func statement(rows: Int) throws -> Statement {
            let row = "(" + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
            return try db.cachedStatement(
                sql: "INSERT OR REPLACE INTO \(table) (\(columns.joined(separator: ", "))) VALUES "
                    + Array(repeating: row, count: rows).joined(separator: ", "))
        }
        let full = try statement(rows: rowsPerStatement)
        var start = 0
        while start < count {
            let end = min(start + rowsPerStatement, count)
            var row = RawRow(end - start == rowsPerStatement ? full : try statement(rows: end - start))
            for index in start..<end { row = bind(row, index) }
            try row.execute(db)
            start = end
        }
    }

    /// Inside ``bulkLoad(indexing:_:)``: users and items (while the feedback is ordered on another
    /// thread), then a transaction per feedback batch, the next batch made on another thread
    /// while SQLite writes the current one.
    public func load(_ rows: ImportRows, progress: ((String, Int, Int) -> Void)?) throws -> Int {
        try bulkLoad(indexing: { progress?("indexing feedback", 0, 1) }) {
            progress?("importing users and items", 0, 1)
            try upsertUsers(rows.users)
            try upsertItems(rows.items)
            let feedback = try rows.feedback()
            var written = 0
            var next = feedback.batchCount > 0 ? feedback.batch(0) : nil
            for number in 0..<feedback.batchCount {
                guard let current = next else { break }
                let batch = feedback.batch
                let following = number + 1 < feedback.batchCount ? Concurrent { batch(number + 1) } : nil
                written += try appendFeedback(current)
                progress?("importing feedback", written, feedback.count)
                next = try following?.value()
            }
            return written
        }
    }

    public func interactionLog(types: [String]) throws -> InteractionLog {
        try database.read { db in
            let marks = types.map { _ in "?" }.joined(separator: ", ")
            let rows = try Row.fetchCursor(
                db,
                sql: "SELECT user_id, item_id, value, timestamp FROM feedback"
                    + (types.isEmpty ? "" : " WHERE type IN (\(marks))") + " ORDER BY rowid",
                arguments: StatementArguments(types))
            var builder = InteractionLogBuilder()
            while let row = try rows.next() {
                builder.append(user: row[0], item: row[1], value: row[2], timestamp: row[3])
            }
            return builder.build()
        }
    }
}

/// One execution of a prepared statement, its parameters bound in order straight through SQLite's
/// C API. GRDB's `StatementArguments` box every value; for the bulk import's hundred million rows
/// that boxing cost as much as SQLite's own work.
struct RawRow {
    private let statement: Statement
    private let handle: SQLiteStatement
    private var index: Int32 = 0

    init(_ statement: Statement) {
        self.statement = statement
        handle = statement.sqliteStatement
        sqlite3_reset(handle)
    }

    /// Binds the next parameter to `value` (SQLite copies the bytes).
    func text(_ value: String) -> RawRow {
        var next = self
        next.index += 1
        var value = value
        _ = value.withUTF8 { bytes in
            // An empty buffer has no address; a null pointer would bind NULL, not ''.
            if let base = bytes.baseAddress {
                sqlite3_bind_text(handle, next.index, base, Int32(bytes.count), transientText)
            } else {
                sqlite3_bind_text(handle, next.index, "", 0, transientText)
            }
        }
        return next
    }

    func double(_ value: Double) -> RawRow {
        var next = self
        next.index += 1
        sqlite3_bind_double(handle, next.index, value)
        return next
    }

    func integer(_ value: Int) -> RawRow {
        var next = self
        next.index += 1
        sqlite3_bind_int64(handle, next.index, Int64(value))
        return next
    }

    /// Runs the statement, throwing SQLite's error as GRDB reports it (`statement.sql` is
    /// computed on each call, so only then).
    func execute(_ db: Database) throws {
        let code = sqlite3_step(handle)
        guard code == SQLITE_DONE else {
            throw DatabaseError(
                resultCode: ResultCode(rawValue: code), message: db.lastErrorMessage, sql: statement.sql)
        }
    }
}

/// SQLite's `SQLITE_TRANSIENT` (a C macro Swift does not import): copy the bytes before returning.
private let transientText = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

import Foundation
import GRDB
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
                try Self.createFeedbackIndexes(db)
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
            let statement = try Self.feedbackStatement(overwrite: true, db)
            for entry in feedback {
                statement.setUncheckedArguments(Self.arguments(entry))
                try statement.execute()
            }
            return feedback.count
        }
    }

    /// Inside ``bulkLoad(indexing:_:)``: users and items, then a transaction per feedback batch,
    /// the next batch made on another thread while SQLite writes the current one.
    public func load(_ rows: ImportRows, progress: ((String, Int, Int) -> Void)?) throws -> Int {
        try bulkLoad(indexing: { progress?("indexing feedback", 0, 1) }) {
            progress?("importing users and items", 0, 1)
            try upsertUsers(rows.users)
            try upsertItems(rows.items)
            var written = 0
            var next = rows.batchCount > 0 ? rows.batch(0) : nil
            for number in 0..<rows.batchCount {
                guard let current = next else { break }
                var work: (@Sendable () -> [StoredFeedback])?
                if number + 1 < rows.batchCount {
                    let batch = rows.batch
                    work = { batch(number + 1) }
                }
                let following = Prefetch(work)
                written += try appendFeedback(current)
                progress?("importing feedback", written, rows.feedbackCount)
                next = following.value()
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

/// A value computed on another thread, waited for with `value()`.
private final class Prefetch<Value: Sendable>: @unchecked Sendable {
    private var result: Value?
    private let done = DispatchSemaphore(value: 0)
    private let started: Bool

    init(_ work: (@Sendable () -> Value)?) {
        started = work != nil
        if let work {
            DispatchQueue.global().async {
                // Written before the signal, read after the wait: the semaphore orders the two.
                self.result = work()
                self.done.signal()
            }
        }
    }

    func value() -> Value? {
        if started { done.wait() }
        return result
    }
}

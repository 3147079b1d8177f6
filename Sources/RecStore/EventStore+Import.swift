import Foundation
import GRDB

/// Bulk loading (`reckit db import`).
extension EventStore {
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
        try Self.validate(feedback)
        return try database.write { db in
            let statement = try Self.feedbackStatement(overwrite: true, db)
            for entry in feedback {
                statement.setUncheckedArguments(Self.arguments(entry))
                try statement.execute()
            }
            return feedback.count
        }
    }
}

/// UTC timestamps in the store's format (`2021-10-21T20:15:23Z`, as `ISO8601DateFormatter`
/// writes them), computed directly: the formatter took most of an import's time.
public enum StoreTimestamp {
    /// The ISO 8601 text of a Unix time, to the whole second (rounded down).
    public static func text(unixSeconds: Double) -> String {
        // Gregorian years 1583 to 9999; earlier times Foundation writes in the Julian calendar,
        // and later ones need more than four digits: both are left to it.
        guard unixSeconds.isFinite, unixSeconds >= -12_212_553_600, unixSeconds < 253_402_300_800 else {
            return ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: unixSeconds))
        }
        let seconds = Int64(unixSeconds.rounded(.down))
        var days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        // Howard Hinnant's civil_from_days.
        days += 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let dayOfEra = days - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        var bytes = [UInt8]()
        bytes.reserveCapacity(20)
        func append(_ value: Int64, digits: Int) {
            var divisor: Int64 = 1
            for _ in 1..<digits { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                bytes.append(UInt8(48 + rest / divisor))
                rest %= divisor
                divisor /= 10
            }
        }
        append(year, digits: 4)
        bytes.append(45)
        append(month, digits: 2)
        bytes.append(45)
        append(day, digits: 2)
        bytes.append(84)
        append(secondOfDay / 3_600, digits: 2)
        bytes.append(58)
        append(secondOfDay / 60 % 60, digits: 2)
        bytes.append(58)
        append(secondOfDay % 60, digits: 2)
        bytes.append(90)
        return String(decoding: bytes, as: UTF8.self)
    }
}

import Foundation
import GRDB

/// The ``EventStore`` in one SQLite file (GRDB, WAL mode), the embedded default.
///
/// Commits use `synchronous = NORMAL` under WAL: a committed event survives the server process
/// being killed (`kill -9`); `durableAgainstPowerLoss` switches to `FULL`, which also survives
/// the machine losing power, at the price of an fsync per commit.
public final class SQLiteEventStore: EventStore {
    let database: DatabasePool
    /// Feedback writes waiting for ``commitFeedback(_:overwrite:)``'s next transaction.
    let pending = GroupCommitQueue()
    let writeQueue = DispatchQueue(label: "reckit.store.feedback-commits")
    /// Commits use `synchronous = FULL` (an fsync per commit) instead of `NORMAL`.
    let durableAgainstPowerLoss: Bool

    /// How long a statement waits for another process's lock on the file before failing with
    /// ``StoreError/unavailable(_:)``: a second process (a server beside `db import`, `train --db`
    /// or another server) waits this long for the first one's transaction instead of failing.
    public static let defaultBusyTimeout: Double = 10

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    ///
    /// - Parameter busyTimeout: Seconds to wait for a lock that another process holds
    ///   (``defaultBusyTimeout``).
    /// - Throws: ``StoreError/unavailable(_:)`` when the file stays locked longer.
    public init(path: String, durableAgainstPowerLoss: Bool = false, busyTimeout: Double = defaultBusyTimeout) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(durableAgainstPowerLoss ? "FULL" : "NORMAL")")
        }
        self.durableAgainstPowerLoss = durableAgainstPowerLoss
        do {
            database = try DatabasePool(path: path, configuration: configuration)
            try Self.migrator.migrate(database)
            // A bulk load interrupted before it rebuilt the indexes it dropped (`bulkLoad`).
            try database.write(Self.createFeedbackIndexes)
        } catch {
            throw StoreError.mapped(error) ?? error
        }
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
        migrator.registerMigration("v3: published models") { db in
            try db.execute(
                sql: """
                    CREATE TABLE models (
                        version INTEGER PRIMARY KEY AUTOINCREMENT,
                        name TEXT NOT NULL,
                        kind TEXT NOT NULL DEFAULT '',
                        published_at TEXT NOT NULL,
                        report TEXT NOT NULL DEFAULT '');
                    """)
        }
        registerVersionsMigration(&migrator)
        registerImpressionsMigration(&migrator)
        registerConfigsMigration(&migrator)
        registerImpressionItemsMigration(&migrator)
        return migrator
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

    public func ping() throws { _ = try database.read { db in try Int.fetchOne(db, sql: "SELECT 1") } }

    public func close() {}

    public func publishModel(name: String, kind: String, report: String) throws -> Int {
        try database.write { db in
            try db.execute(
                sql: "INSERT INTO models (name, kind, published_at, report) VALUES (?, ?, ?, ?)",
                arguments: [name, kind, StoreRules.now(), report])
            return Int(db.lastInsertedRowID)
        }
    }

    public func latestPublishedModel() throws -> PublishedModel? {
        try database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM models ORDER BY version DESC LIMIT 1").map {
                PublishedModel(
                    version: $0["version"], name: $0["name"], kind: $0["kind"], publishedAt: $0["published_at"],
                    report: $0["report"])
            }
        }
    }
}

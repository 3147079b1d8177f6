import Foundation
import GRDB

/// The change mark, the list and deletion of published models, and the servers' reports of the
/// version they serve (``EventStore``'s trainer-facing methods).
extension SQLiteEventStore {
    /// Migration v4: a counter that triggers bump on every update and delete of feedback and
    /// items (inserts are seen through the largest rowid, so a bulk load pays nothing per row),
    /// and a row per server with the version it serves.
    static func registerVersionsMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v4: change marks and served models") { db in
            var sql = """
                CREATE TABLE store_changes (id INTEGER PRIMARY KEY CHECK (id = 1), count INTEGER NOT NULL);
                INSERT INTO store_changes (id, count) VALUES (1, 0);
                CREATE TABLE served_models (
                    replica TEXT PRIMARY KEY NOT NULL,
                    version INTEGER NOT NULL,
                    seen_at REAL NOT NULL);

                """
            for table in ["feedback", "items"] {
                for event in ["UPDATE", "DELETE"] {
                    sql += """
                        CREATE TRIGGER \(table)_\(event.lowercased())_counts AFTER \(event) ON \(table)
                        BEGIN UPDATE store_changes SET count = count + 1 WHERE id = 1; END;

                        """
                }
            }
            try db.execute(sql: sql)
        }
    }

    /// Unix seconds by SQLite's clock.
    static let databaseNow = "((julianday('now') - 2440587.5) * 86400.0)"

    public func changeMark() throws -> StoreChangeMark {
        try database.read { db in
            StoreChangeMark(
                feedback: try Int.fetchOne(db, sql: "SELECT MAX(rowid) FROM feedback") ?? 0,
                items: try Int.fetchOne(db, sql: "SELECT MAX(rowid) FROM items") ?? 0,
                changes: try Int.fetchOne(db, sql: "SELECT count FROM store_changes WHERE id = 1") ?? 0)
        }
    }

    public func publishedModels() throws -> [PublishedModel] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM models ORDER BY version DESC").map {
                PublishedModel(
                    version: $0["version"], name: $0["name"], kind: $0["kind"], publishedAt: $0["published_at"],
                    report: $0["report"])
            }
        }
    }

    public func deletePublishedModel(version: Int) throws -> Bool {
        try database.write { db in
            try db.execute(sql: "DELETE FROM models WHERE version = ?", arguments: [version])
            return db.changesCount > 0
        }
    }

    public func reportServedModel(replica: String, version: Int) throws {
        try database.write { db in
            try db.execute(
                sql: """
                    INSERT INTO served_models (replica, version, seen_at) VALUES (?, ?, \(Self.databaseNow))
                    ON CONFLICT (replica) DO UPDATE SET version = excluded.version, seen_at = excluded.seen_at
                    """, arguments: [replica, version])
            try db.execute(
                sql: "DELETE FROM served_models WHERE seen_at < \(Self.databaseNow) - ?",
                arguments: [ServedModelReports.forgetAfter])
        }
    }

    public func servedModels(reportedWithin seconds: Double) throws -> [ServedModelReport] {
        try database.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT replica, version, \(Self.databaseNow) - seen_at AS age FROM served_models
                    WHERE seen_at >= \(Self.databaseNow) - ? ORDER BY replica
                    """, arguments: [seconds]
            ).map { ServedModelReport(replica: $0["replica"], version: $0["version"], age: $0["age"]) }
        }
    }
}

import Foundation
import GRDB

/// Published flow configurations (`reckit config publish`), which servers started with
/// `--config` follow as they follow published models.
extension SQLiteEventStore {
    /// Migration v6: `flow_configs`, one row per published configuration text.
    static func registerConfigsMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v6: published flow configurations") { db in
            try db.execute(
                sql: """
                    CREATE TABLE flow_configs (
                        version INTEGER PRIMARY KEY AUTOINCREMENT,
                        text TEXT NOT NULL,
                        published_at TEXT NOT NULL);
                    """)
        }
    }

    public func publishConfiguration(_ text: String) throws -> Int {
        try FieldRules.configurationText(text)
        return try database.write { db in
            try db.execute(
                sql: "INSERT INTO flow_configs (text, published_at) VALUES (?, ?)", arguments: [text, StoreRules.now()])
            return Int(db.lastInsertedRowID)
        }
    }

    public func latestPublishedConfiguration() throws -> PublishedConfiguration? {
        try database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM flow_configs ORDER BY version DESC LIMIT 1").map {
                PublishedConfiguration(version: $0["version"], text: $0["text"], publishedAt: $0["published_at"])
            }
        }
    }
}

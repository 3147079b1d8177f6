import Foundation
import Logging
import PostgresNIO
import RecData

/// The schema: migrations shared by name with ``SQLiteEventStore``.
extension PostgresEventStore {
    /// The same migrations as ``SQLiteEventStore``'s, by the same names, in PostgreSQL's dialect;
    /// applied under an advisory lock so that servers starting together migrate once.
    static let migrations: [(name: String, statements: [String])] = [
        (
            "v1",
            [
                """
                CREATE TABLE users (
                    id TEXT COLLATE "C" PRIMARY KEY,
                    labels TEXT NOT NULL DEFAULT 'null',
                    comment TEXT NOT NULL DEFAULT '')
                """,
                """
                CREATE TABLE items (
                    id TEXT COLLATE "C" PRIMARY KEY,
                    is_hidden BOOLEAN NOT NULL DEFAULT FALSE,
                    categories TEXT NOT NULL DEFAULT '[]',
                    timestamp TEXT COLLATE "C" NOT NULL DEFAULT '',
                    labels TEXT NOT NULL DEFAULT 'null',
                    comment TEXT NOT NULL DEFAULT '')
                """,
                // `seq` is SQLite's rowid: insertion order, renewed when PUT replaces a row.
                """
                CREATE TABLE feedback (
                    seq BIGSERIAL NOT NULL UNIQUE,
                    type TEXT COLLATE "C" NOT NULL,
                    user_id TEXT COLLATE "C" NOT NULL,
                    item_id TEXT COLLATE "C" NOT NULL,
                    value DOUBLE PRECISION NOT NULL DEFAULT 1,
                    timestamp TEXT COLLATE "C" NOT NULL DEFAULT '',
                    comment TEXT NOT NULL DEFAULT '',
                    PRIMARY KEY (type, user_id, item_id))
                """,
                "CREATE INDEX feedback_by_user ON feedback (user_id, timestamp)",
                "CREATE INDEX feedback_by_item ON feedback (item_id)",
            ]
        ),
        (
            "v2: indexes for ranking reads",
            [
                "CREATE INDEX items_hidden ON items (id) WHERE is_hidden",
                "DROP INDEX feedback_by_user",
                "CREATE INDEX feedback_by_user ON feedback (user_id, timestamp, seq) INCLUDE (type, item_id)",
            ]
        ),
        (
            "v3: published models",
            [
                """
                CREATE TABLE models (
                    version BIGSERIAL PRIMARY KEY,
                    name TEXT NOT NULL,
                    kind TEXT NOT NULL DEFAULT '',
                    published_at TEXT NOT NULL,
                    report TEXT NOT NULL DEFAULT '')
                """
            ]
        ),
        versionsMigration,
        impressionsMigration,
        configsMigration,
        impressionItemsMigration,
    ]

    /// The feedback table's secondary indexes as the migrations leave them; a bulk load drops
    /// and rebuilds them, and a store opened after an interrupted load gets them back.
    static let createFeedbackIndexes: [PostgresQuery] = [
        "CREATE INDEX IF NOT EXISTS feedback_by_user ON feedback (user_id, timestamp, seq) INCLUDE (type, item_id)",
        "CREATE INDEX IF NOT EXISTS feedback_by_item ON feedback (item_id)",
    ]

    /// Runs `statements` one after another (the extended protocol takes one statement per query).
    static func execute(_ statements: [PostgresQuery], on connection: PostgresConnection, logger: Logger) async throws {
        for statement in statements { _ = try await connection.query(statement, logger: logger) }
    }

    /// The names in `reckit_migrations`.
    static func appliedMigrations(on connection: PostgresConnection, logger: Logger) async throws -> Set<String> {
        var names = Set<String>()
        for try await name in try await connection.query("SELECT name FROM reckit_migrations", logger: logger)
            .decode(String.self)
        {
            names.insert(name)
        }
        return names
    }

    /// On a read replica: every migration must already be applied (on its primary).
    func checkMigrated() async throws {
        let applied = try await perform { [logger] connection in
            let exists =
                try await connection.query(
                    "SELECT to_regclass('reckit_migrations') IS NOT NULL", logger: logger
                ).decode(Bool.self).first { _ in true } ?? false
            return exists ? try await Self.appliedMigrations(on: connection, logger: logger) : []
        }
        let missing = Self.migrations.map(\.name).filter { !applied.contains($0) }
        guard missing.isEmpty else {
            throw StoreError.invalid(
                field: "--db",
                reason:
                    "a read replica whose primary lacks \(missing.count) of RecKit's migrations: open the primary with this version of reckit first"
            )
        }
    }

    func migrate() async throws {
        try await transaction { [logger] connection in
            _ = try await connection.query("SELECT pg_advisory_xact_lock(7317120)", logger: logger)
            _ = try await connection.query(
                "CREATE TABLE IF NOT EXISTS reckit_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)",
                logger: logger)
            let applied = try await Self.appliedMigrations(on: connection, logger: logger)
            for migration in Self.migrations where !applied.contains(migration.name) {
                for statement in migration.statements {
                    _ = try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                _ = try await connection.query(
                    "INSERT INTO reckit_migrations (name, applied_at) VALUES (\(migration.name), \(StoreRules.now()))",
                    logger: logger)
            }
        }
    }
}

import Foundation
import PostgresNIO

/// The change mark, the list and deletion of published models, and the servers' reports of the
/// version they serve (``EventStore``'s trainer-facing methods).
extension PostgresEventStore {
    /// Migration v4: a counter row per connection (`pg_backend_pid()`) that a statement-level
    /// trigger on `feedback` and `items` bumps inside the writing transaction. A connection runs
    /// one transaction at a time, so concurrent writers never wait on each other's row, and the
    /// sum counts a write exactly when it commits: a sequence would count it before (and a round
    /// reading in between would miss it for good). Also a row per server with the version it serves.
    static let versionsMigration: (name: String, statements: [String]) = (
        "v4: change marks and served models",
        [
            "CREATE TABLE reckit_changes (backend INTEGER PRIMARY KEY, count BIGINT NOT NULL)",
            """
            CREATE FUNCTION reckit_count_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO reckit_changes (backend, count) VALUES (pg_backend_pid(), 1)
                ON CONFLICT (backend) DO UPDATE SET count = reckit_changes.count + 1;
                RETURN NULL;
            END $$
            """,
            """
            CREATE TRIGGER feedback_counts AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON feedback
            FOR EACH STATEMENT EXECUTE FUNCTION reckit_count_change()
            """,
            """
            CREATE TRIGGER items_counts AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON items
            FOR EACH STATEMENT EXECUTE FUNCTION reckit_count_change()
            """,
            """
            CREATE TABLE served_models (
                replica TEXT COLLATE "C" PRIMARY KEY,
                version BIGINT NOT NULL,
                seen_at DOUBLE PRECISION NOT NULL)
            """,
        ]
    )

    /// Unix seconds by the database's clock.
    static let databaseNow = "extract(epoch FROM clock_timestamp())::float8"

    public func changeMark() async throws -> StoreChangeMark {
        // `MAX(seq)` reads the end of seq's unique index; the counters are a row per connection.
        let row = try await rows(
            """
            SELECT (SELECT COALESCE(MAX(seq), 0) FROM feedback)::int8,
                   (SELECT COALESCE(SUM(count), 0) FROM reckit_changes)::int8
            """
        ) { try $0.decode((Int, Int).self) }
        guard let (feedback, changes) = row.first else { return StoreChangeMark(feedback: 0, items: 0, changes: 0) }
        return StoreChangeMark(feedback: feedback, items: 0, changes: changes)
    }

    public func publishedModels() async throws -> [PublishedModel] {
        try await rows("SELECT version, name, kind, published_at, report FROM models ORDER BY version DESC") {
            let (version, name, kind, time, report) = try $0.decode((Int, String, String, String, String).self)
            return PublishedModel(version: version, name: name, kind: kind, publishedAt: time, report: report)
        }
    }

    public func deletePublishedModel(version: Int) async throws -> Bool {
        try await rows("DELETE FROM models WHERE version = \(version) RETURNING 1") { _ in 1 }.count > 0
    }

    public func reportServedModel(replica: String, version: Int) async throws {
        try await transaction { [logger] connection in
            _ = try await connection.query(
                """
                INSERT INTO served_models (replica, version, seen_at) VALUES (\(replica), \(version), \(unescaped: Self.databaseNow))
                ON CONFLICT (replica) DO UPDATE SET version = excluded.version, seen_at = excluded.seen_at
                """, logger: logger)
            _ = try await connection.query(
                """
                DELETE FROM served_models WHERE seen_at < \(unescaped: Self.databaseNow) - \(ServedModelReports.forgetAfter)
                """, logger: logger)
        }
    }

    public func servedModels(reportedWithin seconds: Double) async throws -> [ServedModelReport] {
        try await rows(
            """
            SELECT replica, version, \(unescaped: Self.databaseNow) - seen_at FROM served_models
            WHERE seen_at >= \(unescaped: Self.databaseNow) - \(seconds) ORDER BY replica
            """
        ) {
            let (replica, version, age) = try $0.decode((String, Int, Double).self)
            return ServedModelReport(replica: replica, version: version, age: age)
        }
    }
}

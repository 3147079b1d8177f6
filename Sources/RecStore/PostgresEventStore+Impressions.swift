import Foundation
import PostgresNIO

/// Impressions, their attribution and the experiments' definitions (issue 47).
extension PostgresEventStore {
    /// Migration v5, as ``SQLiteEventStore``'s.
    static let impressionsMigration: (name: String, statements: [String]) = (
        "v5: impressions and experiments",
        [
            """
            CREATE TABLE impressions (
                request_id TEXT COLLATE "C" PRIMARY KEY,
                experiment TEXT COLLATE "C" NOT NULL DEFAULT '',
                arm TEXT COLLATE "C" NOT NULL DEFAULT '',
                user_id TEXT COLLATE "C" NOT NULL DEFAULT '',
                route TEXT NOT NULL DEFAULT '',
                time TEXT COLLATE "C" NOT NULL,
                until TEXT COLLATE "C" NOT NULL)
            """,
            "CREATE INDEX impressions_by_experiment ON impressions (experiment, arm, user_id)",
            "CREATE INDEX impressions_by_time ON impressions (time)",
            """
            CREATE TABLE impression_items (
                request_id TEXT COLLATE "C" NOT NULL,
                position BIGINT NOT NULL,
                item_id TEXT COLLATE "C" NOT NULL,
                gain DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (request_id, position))
            """,
            """
            CREATE TABLE experiments (
                name TEXT COLLATE "C" PRIMARY KEY,
                definition TEXT NOT NULL,
                updated_at TEXT NOT NULL)
            """,
        ]
    )

    /// One statement: the impressions not stored yet, then the items of exactly those, so that
    /// two replicas (or a retried batch) never store an impression or its items twice.
    @discardableResult
    public func insertImpressions(_ impressions: [StoredImpression]) async throws -> Int {
        guard !impressions.isEmpty else { return 0 }
        let items = ImpressionSQL.itemRows(impressions)
        let written = try await rows(
            """
            WITH new AS (
                INSERT INTO impressions (request_id, experiment, arm, user_id, route, time, until)
                SELECT * FROM unnest(\(impressions.map(\.requestID))::text[], \(impressions.map(\.experiment))::text[],
                                     \(impressions.map(\.arm))::text[], \(impressions.map(\.userID))::text[],
                                     \(impressions.map(\.route))::text[], \(impressions.map(\.time))::text[],
                                     \(impressions.map(\.until))::text[])
                ON CONFLICT (request_id) DO NOTHING RETURNING request_id),
            new_items AS (
                INSERT INTO impression_items (request_id, position, item_id, gain)
                SELECT t.request_id, t.position, t.item_id, t.gain
                FROM unnest(\(items.map(\.request))::text[], \(items.map(\.position))::int8[],
                            \(items.map(\.item))::text[], \(items.map(\.gain))::float8[])
                     AS t(request_id, position, item_id, gain)
                WHERE t.request_id IN (SELECT request_id FROM new)
                ON CONFLICT DO NOTHING)
            SELECT COUNT(*) FROM new
            """
        ) { try $0.decode(Int.self) }
        return written.first ?? 0
    }

    public func deleteImpressions(before time: String) async throws -> Int {
        try await transaction { [logger] connection in
            _ = try await connection.query(
                """
                DELETE FROM impression_items WHERE request_id IN (SELECT request_id FROM impressions WHERE time < \(time))
                """, logger: logger)
            let deleted = try await connection.query(
                "WITH gone AS (DELETE FROM impressions WHERE time < \(time) RETURNING 1) SELECT COUNT(*) FROM gone",
                logger: logger
            ).decode(Int.self)
            var count = 0
            for try await value in deleted { count = value }
            return count
        }
    }

    /// As ``SQLiteEventStore/experimentOutcomes(experiment:clickTypes:conversionTypes:)``: read
    /// in one statement, so a report sees one snapshot of impressions and feedback.
    public func experimentOutcomes(experiment: String, clickTypes: [String], conversionTypes: [String]) async throws
        -> [ExperimentUserDay]
    {
        let anyClick = clickTypes.isEmpty
        let anyConversion = conversionTypes.isEmpty
        return try await rows(
            """
            WITH shown AS (
                SELECT i.request_id, i.arm, i.user_id, substr(i.time, 1, 10) AS day, s.gain,
                    EXISTS (SELECT 1 FROM feedback f WHERE f.user_id = i.user_id AND f.item_id = s.item_id
                            AND f.timestamp >= i.time AND f.timestamp < i.until
                            AND (\(anyClick) OR f.type = ANY(\(clickTypes)::text[]))
                            AND NOT EXISTS (\(unescaped: StoreRules.laterImpression))) AS clicked,
                    EXISTS (SELECT 1 FROM feedback f WHERE f.user_id = i.user_id AND f.item_id = s.item_id
                            AND f.timestamp >= i.time AND f.timestamp < i.until
                            AND (\(anyConversion) OR f.type = ANY(\(conversionTypes)::text[]))
                            AND NOT EXISTS (\(unescaped: StoreRules.laterImpression))) AS converted
                FROM impressions i JOIN impression_items s ON s.request_id = i.request_id
                WHERE i.experiment = \(experiment)),
            per_impression AS (
                SELECT i.arm, i.user_id, substr(i.time, 1, 10) AS day,
                    COALESCE(SUM(CASE WHEN shown.clicked THEN 1 ELSE 0 END), 0)::bigint AS clicks,
                    COALESCE(SUM(CASE WHEN shown.converted THEN 1 ELSE 0 END), 0)::bigint AS conversions,
                    COALESCE(SUM(CASE WHEN shown.clicked THEN shown.gain ELSE 0 END), 0)::float8 AS gain
                FROM impressions i LEFT JOIN shown ON shown.request_id = i.request_id
                WHERE i.experiment = \(experiment)
                GROUP BY i.request_id, i.arm, i.user_id, i.time)
            SELECT arm, user_id, day, COUNT(*)::bigint, SUM(clicks)::bigint, SUM(conversions)::bigint,
                   SUM(gain)::float8
            FROM per_impression GROUP BY arm, user_id, day ORDER BY day, arm, user_id
            """
        ) {
            let (arm, user, day, impressions, clicks, conversions, gain) = try $0.decode(
                (String, String, String, Int, Int, Int, Double).self)
            return ExperimentUserDay(
                arm: arm, userID: user, day: day, impressions: impressions, clicks: clicks, conversions: conversions,
                gain: gain)
        }
    }

    public func saveExperiments(_ experiments: [StoredExperiment]) async throws {
        guard !experiments.isEmpty else { return }
        try await query(
            """
            INSERT INTO experiments (name, definition, updated_at)
            SELECT * FROM unnest(\(experiments.map(\.name))::text[], \(experiments.map(\.definition))::text[],
                                 \(experiments.map { _ in StoreRules.now() })::text[])
            ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at
            """)
    }

    public func experiments() async throws -> [StoredExperiment] {
        try await rows("SELECT name, definition, updated_at FROM experiments ORDER BY name") {
            let (name, definition, updatedAt) = try $0.decode((String, String, String).self)
            return StoredExperiment(name: name, definition: definition, updatedAt: updatedAt)
        }
    }
}

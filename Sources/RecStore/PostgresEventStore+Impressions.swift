import Foundation
import PostgresNIO

/// Impressions, their attribution and the experiments' definitions (issue 47).
extension PostgresEventStore {
    /// Migration v5, as ``SQLiteEventStore``'s (`impression_items` moved into `impressions` by v7).
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

    /// Migration v7, as ``SQLiteEventStore``'s: an impression's items in its own row, a text
    /// array shown from `first_position` on.
    static let impressionItemsMigration: (name: String, statements: [String]) = (
        "v7: impression items in one column",
        [
            """
            ALTER TABLE impressions ADD COLUMN first_position BIGINT NOT NULL DEFAULT 1,
                ADD COLUMN items TEXT[] COLLATE "C" NOT NULL DEFAULT '{}'
            """,
            """
            UPDATE impressions i SET first_position = s.first, items = s.items
            FROM (SELECT request_id, MIN(position) AS first, array_agg(item_id ORDER BY position) AS items
                  FROM impression_items GROUP BY request_id) s
            WHERE s.request_id = i.request_id
            """,
            "DROP TABLE impression_items",
        ]
    )

    /// One statement, so that two replicas (or a retried batch) never store an impression twice.
    /// The items of all the impressions travel as one array, each impression taking its slice.
    @discardableResult
    public func insertImpressions(_ impressions: [StoredImpression]) async throws -> Int {
        guard !impressions.isEmpty else { return 0 }
        var (starts, stops, next) = ([Int](), [Int](), 1)
        for impression in impressions {
            starts.append(next)
            next += impression.items.count
            stops.append(next - 1)
        }
        let written = try await rows(
            """
            WITH new AS (
                INSERT INTO impressions (request_id, experiment, arm, user_id, route, time, until, first_position, items)
                SELECT t.request_id, t.experiment, t.arm, t.user_id, t.route, t.time, t.until, t.first_position,
                       (\(impressions.flatMap(\.items))::text[])[t.start::int : t.stop::int]
                FROM unnest(\(impressions.map(\.requestID))::text[], \(impressions.map(\.experiment))::text[],
                            \(impressions.map(\.arm))::text[], \(impressions.map(\.userID))::text[],
                            \(impressions.map(\.route))::text[], \(impressions.map(\.time))::text[],
                            \(impressions.map(\.until))::text[], \(impressions.map(\.firstPosition))::int8[],
                            \(starts)::int8[], \(stops)::int8[])
                     AS t(request_id, experiment, arm, user_id, route, time, until, first_position, start, stop)
                ON CONFLICT (request_id) DO NOTHING RETURNING 1)
            SELECT COUNT(*) FROM new
            """
        ) { try $0.decode(Int.self) }
        return written.first ?? 0
    }

    public func deleteImpressions(before time: String) async throws -> Int {
        let deleted = try await rows(
            "WITH gone AS (DELETE FROM impressions WHERE time < \(time) RETURNING 1) SELECT COUNT(*) FROM gone"
        ) { try $0.decode(Int.self) }
        return deleted.first ?? 0
    }

    /// As ``SQLiteEventStore/laterImpression``, over `s.item_id` (of `unnest`).
    static let laterImpression = """
        SELECT 1 FROM impressions j
        WHERE j.experiment = i.experiment AND j.arm = i.arm AND j.user_id = i.user_id AND s.item_id = ANY(j.items)
        AND j.time <= f.timestamp AND (j.time > i.time OR (j.time = i.time AND j.request_id > i.request_id))
        """

    /// As ``SQLiteEventStore/experimentOutcomes(experiment:clickTypes:conversionTypes:)``, with
    /// `unnest` over an impression's items.
    public func experimentOutcomes(experiment: String, clickTypes: [String], conversionTypes: [String]) async throws
        -> [ExperimentUserDay]
    {
        let anyClick = clickTypes.isEmpty
        let anyConversion = conversionTypes.isEmpty
        return ImpressionSQL.outcomes(
            try await rows(
                """
                SELECT substr(time, 1, 10), arm, user_id, 0, 0::bigint, COUNT(*)::bigint, 0::bigint, 0::bigint
                FROM impressions WHERE experiment = \(experiment) GROUP BY 1, 2, 3
                UNION ALL
                SELECT day, arm, user_id, 1, position, 0, SUM(clicked::int)::bigint, SUM(converted::int)::bigint
                FROM (
                    SELECT substr(i.time, 1, 10) AS day, i.arm, i.user_id, i.first_position + s.ordinal - 1 AS position,
                        EXISTS (SELECT 1 FROM feedback f WHERE f.user_id = i.user_id AND f.item_id = s.item_id
                                AND f.timestamp >= i.time AND f.timestamp < i.until
                                AND (\(anyClick) OR f.type = ANY(\(clickTypes)::text[]))
                                AND NOT EXISTS (\(unescaped: Self.laterImpression))) AS clicked,
                        EXISTS (SELECT 1 FROM feedback f WHERE f.user_id = i.user_id AND f.item_id = s.item_id
                                AND f.timestamp >= i.time AND f.timestamp < i.until
                                AND (\(anyConversion) OR f.type = ANY(\(conversionTypes)::text[]))
                                AND NOT EXISTS (\(unescaped: Self.laterImpression))) AS converted
                    FROM impressions i CROSS JOIN LATERAL unnest(i.items) WITH ORDINALITY AS s(item_id, ordinal)
                    WHERE i.experiment = \(experiment)) shown
                WHERE clicked OR converted GROUP BY day, arm, user_id, position
                ORDER BY 1, 2, 3, 4, 5
                """
            ) {
                let (day, arm, user, kind, position, impressions, clicks, conversions) = try $0.decode(
                    (String, String, String, Int32, Int, Int, Int, Int).self)
                return ImpressionSQL.OutcomeRow(
                    day: day, arm: arm, userID: user, kind: Int(kind), position: position, impressions: impressions,
                    clicks: clicks, conversions: conversions)
            })
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

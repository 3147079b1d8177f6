import Foundation
import GRDB

/// Impressions, their attribution and the experiments' definitions (issue 47).
extension SQLiteEventStore {
    /// Migration v5: `impressions` (one row per answer), `impression_items` (its items, each with
    /// its position and NDCG gain) and `experiments` (the definitions servers run).
    static func registerImpressionsMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v5: impressions and experiments") { db in
            try db.execute(
                sql: """
                    CREATE TABLE impressions (
                        request_id TEXT PRIMARY KEY NOT NULL,
                        experiment TEXT NOT NULL DEFAULT '',
                        arm TEXT NOT NULL DEFAULT '',
                        user_id TEXT NOT NULL DEFAULT '',
                        route TEXT NOT NULL DEFAULT '',
                        time TEXT NOT NULL,
                        until TEXT NOT NULL);
                    CREATE INDEX impressions_by_experiment ON impressions (experiment, arm, user_id);
                    CREATE INDEX impressions_by_time ON impressions (time);
                    CREATE TABLE impression_items (
                        request_id TEXT NOT NULL,
                        position INTEGER NOT NULL,
                        item_id TEXT NOT NULL,
                        gain REAL NOT NULL,
                        PRIMARY KEY (request_id, position));
                    CREATE TABLE experiments (
                        name TEXT PRIMARY KEY NOT NULL,
                        definition TEXT NOT NULL,
                        updated_at TEXT NOT NULL);
                    """)
        }
    }

    @discardableResult
    public func insertImpressions(_ impressions: [StoredImpression]) throws -> Int {
        guard !impressions.isEmpty else { return 0 }
        return try database.write { db in
            var written = 0
            var fresh = Set<String>()
            let header = try db.cachedStatement(
                sql: """
                    INSERT OR IGNORE INTO impressions (request_id, experiment, arm, user_id, route, time, until)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """)
            for impression in impressions {
                try header.execute(arguments: [
                    impression.requestID, impression.experiment, impression.arm, impression.userID, impression.route,
                    impression.time, impression.until,
                ])
                if db.changesCount > 0 {
                    written += 1
                    fresh.insert(impression.requestID)
                }
            }
            let item = try db.cachedStatement(
                sql: "INSERT OR IGNORE INTO impression_items (request_id, position, item_id, gain) VALUES (?, ?, ?, ?)")
            for row in ImpressionSQL.itemRows(impressions) where fresh.contains(row.request) {
                try item.execute(arguments: [row.request, row.position, row.item, row.gain])
            }
            return written
        }
    }

    public func deleteImpressions(before time: String) throws -> Int {
        try database.write { db in
            try db.execute(
                sql: """
                    DELETE FROM impression_items WHERE request_id IN (SELECT request_id FROM impressions WHERE time < ?)
                    """, arguments: [time])
            try db.execute(sql: "DELETE FROM impressions WHERE time < ?", arguments: [time])
            return db.changesCount
        }
    }

    /// One correlated subquery per figure: for each impression of the experiment, its shown
    /// items that have a feedback row of the types by the same user within `[time, until)`.
    /// `EXISTS` counts an item once however many rows (types) match, and the feedback key
    /// (type, user, item) makes a row written twice one row, so nothing counts twice.
    public func experimentOutcomes(experiment: String, clickTypes: [String], conversionTypes: [String]) throws
        -> [ExperimentUserDay]
    {
        func attributed(_ types: [String]) -> String {
            let filter = types.isEmpty ? "" : " AND f.type IN (\(types.map { _ in "?" }.joined(separator: ", ")))"
            return """
                s.request_id = i.request_id AND EXISTS (
                    SELECT 1 FROM feedback f WHERE f.user_id = i.user_id AND f.item_id = s.item_id
                    AND f.timestamp >= i.time AND f.timestamp < i.until\(filter)
                    AND NOT EXISTS (\(StoreRules.laterImpression)))
                """
        }
        let sql = """
            SELECT arm, user_id, day, COUNT(*), SUM(clicks), SUM(conversions), SUM(gain) FROM (
                SELECT i.arm AS arm, i.user_id AS user_id, substr(i.time, 1, 10) AS day,
                    (SELECT COUNT(*) FROM impression_items s WHERE \(attributed(clickTypes))) AS clicks,
                    (SELECT COUNT(*) FROM impression_items s WHERE \(attributed(conversionTypes))) AS conversions,
                    (SELECT COALESCE(SUM(s.gain), 0) FROM impression_items s WHERE \(attributed(clickTypes))) AS gain
                FROM impressions i WHERE i.experiment = ?)
            GROUP BY arm, user_id, day ORDER BY day, arm, user_id
            """
        let arguments = StatementArguments(clickTypes + conversionTypes + clickTypes + [experiment])
        return try database.read { db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).map {
                ExperimentUserDay(
                    arm: $0[0], userID: $0[1], day: $0[2], impressions: $0[3], clicks: $0[4], conversions: $0[5],
                    gain: $0[6])
            }
        }
    }

    public func saveExperiments(_ experiments: [StoredExperiment]) throws {
        try database.write { db in
            for experiment in experiments {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO experiments (name, definition, updated_at) VALUES (?, ?, ?)",
                    arguments: [experiment.name, experiment.definition, StoreRules.now()])
            }
        }
    }

    public func experiments() throws -> [StoredExperiment] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT name, definition, updated_at FROM experiments ORDER BY name").map {
                StoredExperiment(name: $0[0], definition: $0[1], updatedAt: $0[2])
            }
        }
    }
}

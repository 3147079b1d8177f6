import Foundation
import GRDB

/// Impressions, their attribution and the experiments' definitions (issue 47).
extension SQLiteEventStore {
    /// Migration v5: `impressions` (one row per answer), `impression_items` (its items, each with
    /// its position and NDCG gain; moved into `impressions` by v7) and `experiments` (the
    /// definitions servers run).
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

    /// Migration v7: an impression's items in its own row, a JSON array (`items`) shown from
    /// `first_position` on, instead of an `impression_items` row per shown item: ten rows and
    /// their index per answer cost serving with impressions recorded a quarter of its
    /// requests/s. Impressions already stored are moved over.
    static func registerImpressionItemsMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v7: impression items in one column") { db in
            try db.execute(
                sql: """
                    ALTER TABLE impressions ADD COLUMN first_position INTEGER NOT NULL DEFAULT 1;
                    ALTER TABLE impressions ADD COLUMN items TEXT NOT NULL DEFAULT '[]';
                    UPDATE impressions SET
                        first_position = COALESCE(
                            (SELECT MIN(position) FROM impression_items s WHERE s.request_id = impressions.request_id),
                            1),
                        items = (
                            SELECT json_group_array(item_id) FROM (
                                SELECT item_id FROM impression_items s WHERE s.request_id = impressions.request_id
                                ORDER BY position));
                    DROP TABLE impression_items;
                    """)
        }
    }

    @discardableResult
    public func insertImpressions(_ impressions: [StoredImpression]) throws -> Int {
        guard !impressions.isEmpty else { return 0 }
        return try database.write { db in
            let statement = try db.cachedStatement(
                sql: """
                    INSERT OR IGNORE INTO impressions
                        (request_id, experiment, arm, user_id, route, time, until, first_position, items)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            var written = 0
            for impression in impressions {
                try statement.execute(arguments: [
                    impression.requestID, impression.experiment, impression.arm, impression.userID, impression.route,
                    impression.time, impression.until, impression.firstPosition,
                    ImpressionSQL.itemsText(impression.items),
                ])
                written += db.changesCount
            }
            return written
        }
    }

    public func deleteImpressions(before time: String) throws -> Int {
        try database.write { db in
            try db.execute(sql: "DELETE FROM impressions WHERE time < ?", arguments: [time])
            return db.changesCount
        }
    }

    /// In an attribution query over impression `i`, its shown item `s` (of `json_each`) and a
    /// feedback row `f`: a newer impression of the same item to the same user in the same
    /// experiment and arm, shown no later than the feedback (ties in time broken by request id).
    /// The feedback counts for that one only, so a click counts once however often the item was
    /// shown before it.
    static let laterImpression = """
        SELECT 1 FROM impressions j, json_each(j.items) t
        WHERE j.experiment = i.experiment AND j.arm = i.arm AND j.user_id = i.user_id AND t.value = s.value
        AND j.time <= f.timestamp AND (j.time > i.time OR (j.time = i.time AND j.request_id > i.request_id))
        """

    /// The impressions per arm, user and day, then for each shown item (`json_each` over an
    /// impression's items) whether a feedback row of the types by the same user falls within
    /// `[time, until)`, counted per position. `EXISTS` counts an item once however many rows
    /// (types) match, and the feedback key (type, user, item) makes a row written twice one row,
    /// so nothing counts twice. One statement: one snapshot of impressions and feedback.
    public func experimentOutcomes(experiment: String, clickTypes: [String], conversionTypes: [String]) throws
        -> [ExperimentUserDay]
    {
        func attributed(_ types: [String]) -> String {
            let filter = types.isEmpty ? "" : " AND f.type IN (\(types.map { _ in "?" }.joined(separator: ", ")))"
            return """
                EXISTS (
                    SELECT 1 FROM feedback f WHERE f.user_id = i.user_id AND f.item_id = s.value
                    AND f.timestamp >= i.time AND f.timestamp < i.until\(filter)
                    AND NOT EXISTS (\(Self.laterImpression)))
                """
        }
        let sql = """
            SELECT substr(time, 1, 10), arm, user_id, 0, 0, COUNT(*), 0, 0 FROM impressions WHERE experiment = ?
            GROUP BY 1, 2, 3
            UNION ALL
            SELECT day, arm, user_id, 1, position, 0, SUM(clicked), SUM(converted) FROM (
                SELECT substr(i.time, 1, 10) AS day, i.arm AS arm, i.user_id AS user_id,
                    i.first_position + s.key AS position,
                    \(attributed(clickTypes)) AS clicked, \(attributed(conversionTypes)) AS converted
                FROM impressions i, json_each(i.items) s WHERE i.experiment = ?)
            WHERE clicked OR converted GROUP BY day, arm, user_id, position
            ORDER BY 1, 2, 3, 4, 5
            """
        let arguments = StatementArguments([experiment] + clickTypes + conversionTypes + [experiment])
        return try database.read { db in
            ImpressionSQL.outcomes(
                try Row.fetchAll(db, sql: sql, arguments: arguments).map {
                    ImpressionSQL.OutcomeRow(
                        day: $0[0], arm: $0[1], userID: $0[2], kind: $0[3], position: $0[4], impressions: $0[5],
                        clicks: $0[6], conversions: $0[7])
                })
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

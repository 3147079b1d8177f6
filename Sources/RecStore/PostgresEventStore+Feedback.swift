import Foundation
import Logging
import PostgresNIO
import RecData

/// The `feedback` table.
extension PostgresEventStore {
    public func insertFeedback(_ feedback: [StoredFeedback], overwrite: Bool) async throws -> Int {
        let feedback = try FieldRules.checked(feedback)
        return try await insert([(feedback, overwrite)]).first ?? 0
    }

    public func commitFeedback(_ feedback: [StoredFeedback], overwrite: Bool) async throws -> Int {
        let feedback = try FieldRules.checked(feedback)
        return try await withCheckedThrowingContinuation { continuation in
            let write = GroupCommitQueue.Write(feedback: feedback, overwrite: overwrite, continuation: continuation)
            if pending.enqueue(write) { Task { await self.commitPending() } }
        }
    }

    /// Commits pending writes, a group per transaction, until none are left.
    private func commitPending() async {
        while true {
            let group = pending.takeGroup()
            if group.isEmpty { return }
            do {
                let changed = try await insert(group.map { ($0.feedback, $0.overwrite) })
                for (write, count) in zip(group, changed) { write.continuation.resume(returning: count) }
            } catch {
                for write in group {
                    do {
                        write.continuation.resume(returning: try await insert([(write.feedback, write.overwrite)])[0])
                    } catch {
                        write.continuation.resume(throwing: error)
                    }
                }
            }
        }
    }

    /// Writes a group of writes atomically, in order, with one statement per run of writes of
    /// the same kind (`POST` or `PUT`; a group is usually one run): a group costs one round trip
    /// however many callers it holds. Returns each write's changed rows.
    func insert(_ writes: [(feedback: [StoredFeedback], overwrite: Bool)]) async throws -> [Int] {
        var runs: [Range<Int>] = []
        var start = 0
        while start < writes.count {
            var end = start + 1
            while end < writes.count && writes[end].overwrite == writes[start].overwrite { end += 1 }
            runs.append(start..<end)
            start = end
        }
        let body: @Sendable (PostgresConnection) async throws -> [Int] = { [logger, runs] connection in
            var counts = [Int](repeating: 0, count: writes.count)
            for run in runs {
                let changed = try await Self.insert(Array(writes[run]), on: connection, logger: logger)
                for (offset, count) in changed.enumerated() { counts[run.lowerBound + offset] = count }
            }
            return counts
        }
        // One statement is atomic by itself; several share a transaction.
        return runs.count == 1 ? try await perform(body) : try await transaction(body)
    }

    /// One statement for writes of one kind: the users and items they name are created (in
    /// identifier order, so that servers writing at once take their locks in one order), then the
    /// feedback rows written. With `PUT` the last row of a key wins, as it would row by row, and
    /// every row counts as changed (SQLite's `REPLACE` counts so); with `POST` an existing key is
    /// kept, and a new key counts for the first write that names it.
    static func insert(
        _ writes: [(feedback: [StoredFeedback], overwrite: Bool)], on connection: PostgresConnection, logger: Logger
    ) async throws -> [Int] {
        let all = writes.flatMap(\.feedback)
        guard !all.isEmpty else { return writes.map { _ in 0 } }
        let overwrite = writes[0].overwrite
        let users = Set(all.map(\.userID)).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        let items = Set(all.map(\.itemID)).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        let rows = overwrite ? StoreRules.lastOfEach(all, key: StoreRules.key) : all
        let conflict =
            overwrite
            ? """
            DO UPDATE SET value = excluded.value, timestamp = excluded.timestamp, comment = excluded.comment,
                          seq = excluded.seq
            """ : "DO NOTHING"
        let inserted = try await connection.query(
            """
            WITH new_users AS (INSERT INTO users (id) SELECT unnest(\(users)::text[]) ON CONFLICT DO NOTHING),
                 new_items AS (INSERT INTO items (id) SELECT unnest(\(items)::text[]) ON CONFLICT DO NOTHING)
            INSERT INTO feedback (type, user_id, item_id, value, timestamp, comment)
            SELECT * FROM unnest(\(rows.map(\.feedbackType))::text[], \(rows.map(\.userID))::text[],
                                 \(rows.map(\.itemID))::text[], \(rows.map(\.value))::float8[],
                                 \(rows.map(\.timestamp))::text[], \(rows.map(\.comment))::text[])
            ON CONFLICT (type, user_id, item_id) \(unescaped: conflict) RETURNING type, user_id, item_id
            """, logger: logger
        ).decode((String, String, String).self).reduce(into: [[String]]()) { $0.append([$1.0, $1.1, $1.2]) }
        if overwrite { return writes.map(\.feedback.count) }
        var owner = [[String]: Int]()
        for (index, write) in writes.enumerated() {
            for entry in write.feedback where owner[[entry.feedbackType, entry.userID, entry.itemID]] == nil {
                owner[[entry.feedbackType, entry.userID, entry.itemID]] = index
            }
        }
        var counts = writes.map { _ in 0 }
        for key in inserted { if let index = owner[key] { counts[index] += 1 } }
        return counts
    }

    static let feedbackColumns = "type, user_id, item_id, value, timestamp, comment"

    static func feedback(_ row: PostgresRow) throws -> StoredFeedback {
        let (type, user, item, value, timestamp, comment) = try row.decode(
            (String, String, String, Double, String, String).self)
        return StoredFeedback(
            feedbackType: type, userID: user, itemID: item, value: value, timestamp: timestamp, comment: comment)
    }

    public func feedback(ofUser user: String, type: String? = nil) async throws -> [StoredFeedback] {
        try await rows(
            """
            SELECT \(unescaped: Self.feedbackColumns) FROM feedback
            WHERE user_id = \(user) AND (\(type)::text IS NULL OR type = \(type)::text) ORDER BY timestamp, seq
            """, Self.feedback)
    }

    public func rankingInputs(ofUser user: String, asOf cutoff: String, times: Bool) async throws -> (
        feedback: [(type: String, itemID: String, timestamp: String)], hidden: Set<String>
    ) {
        let rows = try await perform { [logger] connection in
            var feedback: [(String, String, String)] = []
            let history = try await connection.query(
                """
                SELECT type, item_id, CASE WHEN \(times) THEN timestamp ELSE '' END FROM feedback
                WHERE user_id = \(user) AND timestamp <= \(cutoff) ORDER BY timestamp, seq
                """,
                logger: logger)
            for try await row in history.decode((String, String, String).self) { feedback.append(row) }
            var hidden = Set<String>()
            for try await id in try await connection.query("SELECT id FROM items WHERE is_hidden", logger: logger)
                .decode(String.self)
            {
                hidden.insert(id)
            }
            return (feedback, hidden)
        }
        return (rows.0.map { (type: $0.0, itemID: $0.1, timestamp: $0.2) }, rows.1)
    }

    public func feedbackOnItem(_ item: String) async throws -> [(type: String, userID: String)] {
        try await rows("SELECT type, user_id FROM feedback WHERE item_id = \(item)") {
            let (type, user) = try $0.decode((String, String).self)
            return (type: type, userID: user)
        }
    }

    public func feedback(count: Int, after cursor: String) async throws -> (
        feedback: [StoredFeedback], cursor: String
    ) {
        let start = Int(try StoreRules.decodeCursor(cursor)) ?? 0
        let rows = try await rows(
            """
            SELECT seq, \(unescaped: Self.feedbackColumns) FROM feedback WHERE seq > \(start) ORDER BY seq LIMIT \(count)
            """
        ) { row in
            let (seq, type, user, item, value, timestamp, comment) = try row.decode(
                (Int, String, String, String, Double, String, String).self)
            return (
                seq,
                StoredFeedback(
                    feedbackType: type, userID: user, itemID: item, value: value, timestamp: timestamp, comment: comment
                )
            )
        }
        let last = rows.last?.0 ?? 0
        return (rows.map(\.1), rows.count == count ? StoreRules.encodeCursor(String(last)) : "")
    }

    public func deleteFeedback(user: String, item: String) async throws -> Int {
        try await rows("DELETE FROM feedback WHERE user_id = \(user) AND item_id = \(item) RETURNING 1") { _ in 1 }
            .count
    }

    public func popularItems(types: [String], count: Int, since: String) async throws -> [(itemID: String, count: Int)]
    {
        try await rows(
            """
            SELECT item_id, COUNT(*) AS n FROM feedback
            WHERE (cardinality(\(types)::text[]) = 0 OR type = ANY(\(types)::text[])) AND (\(since) = '' OR timestamp >= \(since))
            GROUP BY item_id ORDER BY n DESC, item_id LIMIT \(count)
            """
        ) { row in
            let (item, n) = try row.decode((String, Int).self)
            return (itemID: item, count: n)
        }
    }

    public func latestItems(count: Int) async throws -> [(itemID: String, timestamp: String)] {
        try await rows(
            "SELECT id, timestamp FROM items WHERE timestamp <> '' ORDER BY timestamp DESC, id LIMIT \(count)"
        ) { row in
            let (id, timestamp) = try row.decode((String, String).self)
            return (itemID: id, timestamp: timestamp)
        }
    }

    public func interactionLog(types: [String]) async throws -> InteractionLog {
        try await perform(bounded: false) { [logger] connection in
            var builder = InteractionLogBuilder()
            let rows = try await connection.query(
                """
                SELECT user_id, item_id, value, timestamp FROM feedback
                WHERE cardinality(\(types)::text[]) = 0 OR type = ANY(\(types)::text[]) ORDER BY seq
                """, logger: logger)
            for try await (user, item, value, timestamp) in rows.decode((String, String, Double, String).self) {
                builder.append(user: user, item: item, value: value, timestamp: timestamp)
            }
            return builder.build()
        }
    }
}

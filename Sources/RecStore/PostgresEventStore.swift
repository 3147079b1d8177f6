import Foundation
import Logging
import NIOCore
import NIOSSL
import PostgresNIO
import RecData

/// The ``EventStore`` in a PostgreSQL database (postgres-nio's pooled client), which any number
/// of servers share. The tables, migrations and semantics are ``SQLiteEventStore``'s; identifiers
/// compare by their bytes (`COLLATE "C"`), as SQLite compares them, so cursors page alike.
///
/// The pool reconnects by itself after the database restarts. An operation that cannot reach the
/// database within ``timeout`` fails with ``StoreError/unavailable(_:)`` instead of waiting.
public final class PostgresEventStore: EventStore {
    let client: PostgresClient
    private let running: Task<Void, Never>
    let logger: Logger
    let pending = GroupCommitQueue()
    /// The longest an operation waits for the database.
    public let timeout: Duration

    /// Connects to `url` (`postgres://user[:password]@host[:port]/database`, with optional
    /// `sslmode=disable|prefer|require` and `timeout=SECONDS`, which replaces `timeout`) and
    /// brings the schema up to date.
    ///
    /// - Throws: ``StoreError/invalid(field:reason:)`` for a malformed URL,
    ///   ``StoreError/unavailable(_:)`` when the database does not answer within `timeout`.
    public init(url: String, timeout: Duration = .seconds(5)) async throws {
        var logger = Logger(label: "reckit.store.postgres")
        logger.logLevel = .critical
        self.logger = logger
        let query = URLComponents(string: url)?.queryItems ?? []
        if let text = query.first(where: { $0.name == "timeout" })?.value {
            guard let seconds = Double(text), seconds > 0, seconds.isFinite else {
                throw StoreError.invalid(field: "--db", reason: "timeout=\(text) is not a positive number of seconds")
            }
            self.timeout = .milliseconds(Int(seconds * 1000))
        } else {
            self.timeout = timeout
        }
        let client = PostgresClient(configuration: try Self.configuration(url), backgroundLogger: logger)
        self.client = client
        running = Task { await client.run() }
        do {
            // A streaming read replica (hot standby) takes no DDL: its schema is the primary's.
            let isReplica = try await perform { [logger] connection in
                try await connection.query("SELECT pg_is_in_recovery()", logger: logger).decode(Bool.self)
                    .first { _ in true } ?? false
            }
            if isReplica {
                try await checkMigrated()
            } else {
                try await migrate()
                try await perform { [logger] connection in
                    try await Self.execute(Self.createFeedbackIndexes, on: connection, logger: logger)
                }
            }
        } catch {
            running.cancel()
            throw error
        }
    }

    public func close() async {
        running.cancel()
        _ = await running.value
    }

    static func configuration(_ url: String) throws -> PostgresClient.Configuration {
        func invalid(_ reason: String) -> StoreError { .invalid(field: "--db", reason: reason) }
        guard let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme)
        else { throw invalid("not a postgres:// URL") }
        guard let host = components.host, !host.isEmpty else { throw invalid("the URL names no host") }
        let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        var tls = PostgresClient.Configuration.TLS.disable
        switch components.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? "disable" {
        case "disable": tls = .disable
        case "prefer": tls = .prefer(.makeClientConfiguration())
        case "require": tls = .require(.makeClientConfiguration())
        case let other: throw invalid("sslmode \(other) is not one of disable, prefer, require")
        }
        var configuration = PostgresClient.Configuration(
            host: host, port: components.port ?? 5432,
            username: components.percentEncodedUser?.removingPercentEncoding ?? "postgres",
            password: components.percentEncodedPassword?.removingPercentEncoding,
            database: database.isEmpty ? nil : database, tls: tls)
        configuration.options.connectTimeout = .seconds(5)
        configuration.options.maximumConnections = 32
        return configuration
    }

    // MARK: Running operations

    /// Runs `body` on a pooled connection, failing with ``StoreError/unavailable(_:)`` past
    /// ``timeout`` (unless `bounded` is false, for bulk work) or when the connection fails.
    func perform<T: Sendable>(
        bounded: Bool = true, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await withDeadline(bounded ? timeout : nil) { [client] in
            try await client.withConnection { try await body($0) }
        }
    }

    /// ``perform(_:)`` inside a transaction: committed when `body` returns, rolled back if it throws.
    func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T
    {
        try await withDeadline(timeout) { [client, logger] in
            try await client.withConnection { connection in
                try await connection.withTransaction(logger: logger) { try await body($0) }
            }
        }
    }

    private func withDeadline<T: Sendable>(
        _ timeout: Duration?, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        do {
            guard let timeout else { return try await body() }
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask { try await body() }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let value = first else {
                    throw StoreError.unavailable("PostgreSQL did not answer within \(timeout)")
                }
                return value
            }
        } catch let error as PSQLError {
            // A server error (a broken constraint, a bad statement) is the caller's to see; a
            // lost connection means the store is unavailable.
            if let message = error.serverInfo?[.message] {
                throw StoreError.unavailable("PostgreSQL: \(message)")
            }
            throw StoreError.unavailable("PostgreSQL: \(error.code)")
        }
    }

    func query(_ query: PostgresQuery) async throws {
        try await perform { [logger] connection in _ = try await connection.query(query, logger: logger) }
    }

    /// The rows of `query`, each decoded by `decode`.
    func rows<T: Sendable>(
        _ query: PostgresQuery, _ decode: @escaping @Sendable (PostgresRow) throws -> T
    ) async throws -> [T] {
        try await perform { [logger] connection in
            var result: [T] = []
            for try await row in try await connection.query(query, logger: logger) { result.append(try decode(row)) }
            return result
        }
    }

    // MARK: Schema

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
    private func checkMigrated() async throws {
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

    private func migrate() async throws {
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

    // MARK: Counts, models

    /// Within 2 seconds, so that a readiness probe answers promptly while the database is away.
    public func ping() async throws {
        try await withDeadline(.seconds(2)) { [client] in _ = try await client.query("SELECT 1") }
    }

    public func counts() async throws -> (users: Int, items: Int, feedback: Int) {
        let row = try await rows(
            "SELECT (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM items), (SELECT COUNT(*) FROM feedback)"
        ) { try $0.decode((Int, Int, Int).self) }
        guard let (users, items, feedback) = row.first else { return (0, 0, 0) }
        return (users, items, feedback)
    }

    public func publishModel(name: String, kind: String, report: String) async throws -> Int {
        let versions = try await rows(
            """
            INSERT INTO models (name, kind, published_at, report)
            VALUES (\(name), \(kind), \(StoreRules.now()), \(report)) RETURNING version
            """
        ) { try $0.decode(Int.self) }
        return versions.first ?? 0
    }

    public func latestPublishedModel() async throws -> PublishedModel? {
        try await rows("SELECT version, name, kind, published_at, report FROM models ORDER BY version DESC LIMIT 1") {
            let (version, name, kind, time, report) = try $0.decode((Int, String, String, String, String).self)
            return PublishedModel(version: version, name: name, kind: kind, publishedAt: time, report: report)
        }.first
    }

    // MARK: Users

    public func upsertUsers(_ users: [StoredUser]) async throws -> Int {
        try StoreRules.validate(users)
        guard !users.isEmpty else { return 0 }
        let unique = Self.lastOfEach(users, key: \.userID)
        try await query(
            """
            INSERT INTO users (id, labels, comment)
            SELECT * FROM unnest(\(unique.map(\.userID))::text[], \(unique.map(\.labels.text))::text[],
                                 \(unique.map(\.comment))::text[])
            ON CONFLICT (id) DO UPDATE SET labels = excluded.labels, comment = excluded.comment
            """)
        return users.count
    }

    static func user(_ row: PostgresRow) throws -> StoredUser {
        let (id, labels, comment) = try row.decode((String, String, String).self)
        return StoredUser(userID: id, labels: JSONValue(text: labels), comment: comment)
    }

    public func user(_ id: String) async throws -> StoredUser? {
        try await rows("SELECT id, labels, comment FROM users WHERE id = \(id)", Self.user).first
    }

    public func patchUser(_ id: String, labels: JSONValue?, comment: String?) async throws -> Int {
        try await rows(
            """
            UPDATE users SET labels = COALESCE(\(labels?.text)::text, labels),
                             comment = COALESCE(\(comment)::text, comment)
            WHERE id = \(id) RETURNING 1
            """
        ) { _ in 1 }.count
    }

    public func deleteUser(_ id: String) async throws -> Int {
        try await transaction { [logger] connection in
            _ = try await connection.query("DELETE FROM feedback WHERE user_id = \(id)", logger: logger)
            return try await connection.query("DELETE FROM users WHERE id = \(id) RETURNING 1", logger: logger)
                .collect().count
        }
    }

    public func users(count: Int, after cursor: String) async throws -> (users: [StoredUser], cursor: String) {
        let start = try StoreRules.decodeCursor(cursor)
        let users = try await rows(
            "SELECT id, labels, comment FROM users WHERE id > \(start) ORDER BY id LIMIT \(count)", Self.user)
        return (users, users.count == count ? StoreRules.encodeCursor(users.last?.userID ?? "") : "")
    }

    // MARK: Items

    public func upsertItems(_ items: [StoredItem]) async throws -> Int {
        try StoreRules.validate(items)
        guard !items.isEmpty else { return 0 }
        let unique = Self.lastOfEach(items, key: \.itemID)
        try await query(
            """
            INSERT INTO items (id, is_hidden, categories, timestamp, labels, comment)
            SELECT * FROM unnest(\(unique.map(\.itemID))::text[], \(unique.map(\.isHidden))::boolean[],
                                 \(unique.map { StoreRules.categoriesText($0.categories) })::text[],
                                 \(unique.map(\.timestamp))::text[], \(unique.map(\.labels.text))::text[],
                                 \(unique.map(\.comment))::text[])
            ON CONFLICT (id) DO UPDATE SET is_hidden = excluded.is_hidden, categories = excluded.categories,
                timestamp = excluded.timestamp, labels = excluded.labels, comment = excluded.comment
            """)
        return items.count
    }

    static let itemColumns = "id, is_hidden, categories, timestamp, labels, comment"

    static func item(_ row: PostgresRow) throws -> StoredItem {
        let (id, hidden, categories, timestamp, labels, comment) = try row.decode(
            (String, Bool, String, String, String, String).self)
        return StoredItem(
            itemID: id, isHidden: hidden, categories: StoreRules.categories(fromText: categories), timestamp: timestamp,
            labels: JSONValue(text: labels), comment: comment)
    }

    public func item(_ id: String) async throws -> StoredItem? {
        try await rows("SELECT \(unescaped: Self.itemColumns) FROM items WHERE id = \(id)", Self.item).first
    }

    public func patchItem(
        _ id: String, isHidden: Bool?, categories: [String]?, timestamp: String?, labels: JSONValue?, comment: String?
    ) async throws -> Int {
        for category in categories ?? [] { try StoreRules.check(category, "Categories") }
        return try await rows(
            """
            UPDATE items SET is_hidden = COALESCE(\(isHidden)::boolean, is_hidden),
                             categories = COALESCE(\(categories.map(StoreRules.categoriesText))::text, categories),
                             timestamp = COALESCE(\(timestamp)::text, timestamp),
                             labels = COALESCE(\(labels?.text)::text, labels),
                             comment = COALESCE(\(comment)::text, comment)
            WHERE id = \(id) RETURNING 1
            """
        ) { _ in 1 }.count
    }

    public func deleteItem(_ id: String) async throws -> Int {
        try await transaction { [logger] connection in
            _ = try await connection.query("DELETE FROM feedback WHERE item_id = \(id)", logger: logger)
            return try await connection.query("DELETE FROM items WHERE id = \(id) RETURNING 1", logger: logger)
                .collect().count
        }
    }

    public func items(count: Int, after cursor: String) async throws -> (items: [StoredItem], cursor: String) {
        let start = try StoreRules.decodeCursor(cursor)
        let items = try await rows(
            "SELECT \(unescaped: Self.itemColumns) FROM items WHERE id > \(start) ORDER BY id LIMIT \(count)",
            Self.item)
        return (items, items.count == count ? StoreRules.encodeCursor(items.last?.itemID ?? "") : "")
    }

    public func hiddenItems() async throws -> Set<String> {
        Set(try await rows("SELECT id FROM items WHERE is_hidden") { try $0.decode(String.self) })
    }

    public func items(inCategory category: String) async throws -> Set<String> {
        let rows = try await rows(
            "SELECT id, categories FROM items WHERE strpos(categories, \(StoreRules.categoryNeedle(category))) > 0"
        ) { try $0.decode((String, String).self) }
        return Set(rows.filter { StoreRules.inCategory($0.1, category) }.map(\.0))
    }

    public func items(titleContaining text: String, count: Int) async throws -> [StoredItem] {
        try await rows(
            """
            SELECT \(unescaped: Self.itemColumns) FROM items
            WHERE comment COLLATE "C" ILIKE \(StoreRules.containsPattern(text)) ESCAPE '\\' ORDER BY id LIMIT \(count)
            """, Self.item)
    }

    // MARK: Feedback

    public func insertFeedback(_ feedback: [StoredFeedback], overwrite: Bool) async throws -> Int {
        try StoreRules.validate(feedback)
        return try await insert([(feedback, overwrite)]).first ?? 0
    }

    public func commitFeedback(_ feedback: [StoredFeedback], overwrite: Bool) async throws -> Int {
        try StoreRules.validate(feedback)
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
        let rows = overwrite ? StoreRules.lastOfEachKey(all) : all
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

    public func rankingInputs(ofUser user: String) async throws -> (
        feedback: [(type: String, itemID: String)], hidden: Set<String>
    ) {
        let rows = try await perform { [logger] connection in
            var feedback: [(String, String)] = []
            let history = try await connection.query(
                "SELECT type, item_id FROM feedback WHERE user_id = \(user) ORDER BY timestamp, seq", logger: logger)
            for try await pair in history.decode((String, String).self) { feedback.append(pair) }
            var hidden = Set<String>()
            for try await id in try await connection.query("SELECT id FROM items WHERE is_hidden", logger: logger)
                .decode(String.self)
            {
                hidden.insert(id)
            }
            return (feedback, hidden)
        }
        return (rows.0.map { (type: $0.0, itemID: $0.1) }, rows.1)
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

    public func popularItems(types: [String], count: Int) async throws -> [(itemID: String, count: Int)] {
        try await rows(
            """
            SELECT item_id, COUNT(*) AS n FROM feedback
            WHERE cardinality(\(types)::text[]) = 0 OR type = ANY(\(types)::text[])
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

    static func lastOfEach<T>(_ values: [T], key: (T) -> String) -> [T] {
        var seen = Set<String>()
        return values.reversed().filter { seen.insert(key($0)).inserted }.reversed()
    }
}

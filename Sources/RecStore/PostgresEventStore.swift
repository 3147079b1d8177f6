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
                // Class 22 (data exception: bad encoding, a value out of range) is a value the
                // caller sent, which the checks before the query should have refused.
                if error.serverInfo?[.sqlState]?.hasPrefix("22") == true {
                    throw StoreError.invalid(field: "input", reason: message)
                }
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
}

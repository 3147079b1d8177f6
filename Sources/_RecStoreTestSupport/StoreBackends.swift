import Foundation
import Logging
import PostgresNIO
import RecStore
import _RecTestSupport

/// The two event-store backends, for tests that run against both.
public enum StoreBackend: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite
    case postgres

    public var description: String { rawValue }

    /// The PostgreSQL server the tests use: `RECKIT_TEST_POSTGRES`, a `postgres://` URL that
    /// `scripts/test.sh` sets after starting a throwaway cluster (`scripts/postgres.sh`).
    public static var postgresServer: String? { ProcessInfo.processInfo.environment["RECKIT_TEST_POSTGRES"] }

    /// Where a new, empty store of this backend lives: a SQLite file in a new temporary folder,
    /// or a new database on the test server. Without a test server the PostgreSQL case fails,
    /// never skips: the suite is only green when both backends ran.
    public func newLocation() async throws -> String {
        switch self {
        case .sqlite:
            return temporaryDirectory("store").appendingPathComponent("events.sqlite").path
        case .postgres:
            guard let server = Self.postgresServer else { throw MissingPostgres() }
            return try await Self.createDatabase(on: server)
        }
    }

    /// A new, empty store of this backend and its location (to open it again).
    public func makeStore() async throws -> (store: any EventStore, location: String) {
        let location = try await newLocation()
        return (try await EventStores.open(location), location)
    }

    struct MissingPostgres: Error, CustomStringConvertible {
        var description: String {
            "RECKIT_TEST_POSTGRES is not set: run the tests with scripts/test.sh, which starts a throwaway PostgreSQL cluster (scripts/postgres.sh)"
        }
    }

    /// Creates a database with a fresh name on `server` and returns its URL.
    static func createDatabase(on server: String) async throws -> String {
        guard var components = URLComponents(string: server), components.host != nil else { throw MissingPostgres() }
        let name = "reckit_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try await execute("CREATE DATABASE \(name)", on: server)
        components.path = "/" + name
        // The suite runs many tests at once on two cores: a slow answer is not an outage here.
        components.queryItems = [URLQueryItem(name: "timeout", value: "120")]
        return components.string ?? server
    }
}

extension StoreBackend {
    /// Runs one SQL statement on the database at `url` (for tests that steer the server itself).
    public static func execute(_ sql: String, on url: String) async throws {
        guard let components = URLComponents(string: url), let host = components.host else { throw MissingPostgres() }
        let configuration = PostgresConnection.Configuration(
            host: host, port: components.port ?? 5432, username: components.user ?? "postgres",
            password: components.password, database: String(components.path.dropFirst()), tls: .disable)
        let logger = Logger(label: "reckit.tests.postgres")
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        do {
            _ = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
        } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()
    }
}

/// A streaming read replica of the test server (`scripts/postgres.sh standby`): a second
/// PostgreSQL on a loopback port replaying the primary's WAL. `stop()` removes it.
public struct PostgresStandby: Sendable {
    /// The replica's URL (its `postgres` database).
    public let server: String
    let directory: String

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/postgres.sh").path

    /// Copies the test server (`RECKIT_TEST_POSTGRES`) with `pg_basebackup` and starts the copy
    /// as its standby.
    public static func start() throws -> PostgresStandby {
        guard let primary = StoreBackend.postgresServer else { throw StoreBackend.MissingPostgres() }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "standby-\(UUID().uuidString)"
        ).path
        let output = try run(["standby", primary, directory])
        guard let url = output.split(separator: "\n").last.map(String.init), url.hasPrefix("postgres://") else {
            throw StandbyFailed(output: output)
        }
        return PostgresStandby(server: url, directory: directory)
    }

    /// `location` (a database on the primary) on the replica.
    public func url(of location: String) -> String {
        guard var components = URLComponents(string: location), let replica = URLComponents(string: server) else {
            return location
        }
        components.port = replica.port
        return components.string ?? location
    }

    public func stop() { _ = try? Self.run(["stop", directory]) }

    struct StandbyFailed: Error, CustomStringConvertible {
        var output: String
        var description: String { "scripts/postgres.sh standby failed: \(output)" }
    }

    /// Runs the script to its end (killed after 120 s) and returns what it printed.
    private static func run(_ arguments: [String]) throws -> String {
        do {
            return try ChildProcess.run(URL(fileURLWithPath: "/bin/bash"), [script] + arguments, seconds: 120)
                .trimmingCharacters(in: .whitespacesAndNewlines)
        } catch let failure as ChildProcess.Failed {
            throw StandbyFailed(output: failure.errorTail)
        }
    }
}

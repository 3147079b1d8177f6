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
        guard var components = URLComponents(string: server), let host = components.host else {
            throw MissingPostgres()
        }
        let name = "reckit_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let configuration = PostgresConnection.Configuration(
            host: host, port: components.port ?? 5432, username: components.user ?? "postgres",
            password: components.password, database: String(components.path.dropFirst()), tls: .disable)
        let logger = Logger(label: "reckit.tests.postgres")
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        do {
            _ = try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
        } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()
        components.path = "/" + name
        // The suite runs many tests at once on two cores: a slow answer is not an outage here.
        components.queryItems = [URLQueryItem(name: "timeout", value: "120")]
        return components.string ?? server
    }
}

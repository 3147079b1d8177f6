import Foundation
import PostgresNIO

/// Published flow configurations (`reckit config publish`), which servers started with
/// `--config` follow as they follow published models.
extension PostgresEventStore {
    static let configsMigration: (name: String, statements: [String]) = (
        "v6: published flow configurations",
        [
            """
            CREATE TABLE flow_configs (
                version BIGSERIAL PRIMARY KEY,
                text TEXT NOT NULL,
                published_at TEXT NOT NULL)
            """
        ]
    )

    public func publishConfiguration(_ text: String) async throws -> Int {
        try FieldRules.configurationText(text)
        let versions = try await rows(
            "INSERT INTO flow_configs (text, published_at) VALUES (\(text), \(StoreRules.now())) RETURNING version"
        ) { try $0.decode(Int.self) }
        return versions.first ?? 0
    }

    public func latestPublishedConfiguration() async throws -> PublishedConfiguration? {
        try await rows("SELECT version, text, published_at FROM flow_configs ORDER BY version DESC LIMIT 1") {
            let (version, text, time) = try $0.decode((Int, String, String).self)
            return PublishedConfiguration(version: version, text: text, publishedAt: time)
        }.first
    }
}

import Foundation
import Logging
import PostgresNIO
import RecData

/// The `users` table.
extension PostgresEventStore {
    public func upsertUsers(_ users: [StoredUser]) async throws -> Int {
        let users = try FieldRules.checked(users)
        guard !users.isEmpty else { return 0 }
        let unique = StoreRules.lastOfEach(users, key: \.userID)
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
        _ = try FieldRules.checkedPatch(categories: nil, timestamp: nil, labels: labels, comment: comment)
        return try await rows(
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
}

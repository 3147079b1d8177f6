import Foundation
import NIOCore
import PostgresNIO
import RecData

/// Bulk loading (`reckit db import`) with `COPY ... FROM STDIN`.
extension PostgresEventStore {
    /// Users and items through a staging table each (so existing rows are updated), then
    /// feedback a transaction per batch, the next batch made on another thread meanwhile. Into an
    /// empty feedback table the batches are copied straight into it, with its two secondary
    /// indexes dropped and built once at the end; otherwise through a staging table, overwriting
    /// rows with the same key.
    public func load(_ rows: ImportRows, progress: ((String, Int, Int) -> Void)?) async throws -> Int {
        try StoreRules.validate(rows.users)
        try StoreRules.validate(rows.items)
        progress?("importing users and items", 0, 1)
        try await transaction { [logger] connection in
            try await Self.stage(
                rows.users.map { [$0.userID, $0.labels.text, $0.comment] }, table: "users",
                columns: ["id", "labels", "comment"], types: ["text", "text", "text"], on: connection, logger: logger)
            try await Self.stage(
                rows.items.map {
                    [
                        $0.itemID, $0.isHidden ? "t" : "f", StoreRules.categoriesText($0.categories), $0.timestamp,
                        $0.labels.text, $0.comment,
                    ]
                }, table: "items", columns: ["id", "is_hidden", "categories", "timestamp", "labels", "comment"],
                types: ["text", "boolean", "text", "text", "text", "text"], on: connection, logger: logger)
        }
        let empty =
            try await self.rows("SELECT NOT EXISTS (SELECT 1 FROM feedback)") { try $0.decode(Bool.self) }
            .first ?? false
        if empty {
            try await perform { [logger] connection in
                try await Self.execute(
                    ["DROP INDEX IF EXISTS feedback_by_user", "DROP INDEX IF EXISTS feedback_by_item"], on: connection,
                    logger: logger)
            }
        }
        var written = 0
        do {
            let feedback = try rows.feedback()
            var next = feedback.batchCount > 0 ? feedback.batch(0) : nil
            for number in 0..<feedback.batchCount {
                guard let current = next else { break }
                try StoreRules.validate(current)
                let following = Task.detached { [batch = feedback.batch] in
                    number + 1 < feedback.batchCount ? batch(number + 1) : nil
                }
                let lines = current.map {
                    [$0.feedbackType, $0.userID, $0.itemID, "\($0.value)", $0.timestamp, $0.comment]
                }
                try await perform(bounded: false) { [logger] connection in
                    try await connection.withTransaction(logger: logger) { connection in
                        if empty {
                            try await Self.copy(
                                lines, into: "feedback", columns: Self.feedbackColumnList, on: connection,
                                logger: logger)
                        } else {
                            try await Self.stage(
                                lines, table: "feedback", columns: Self.feedbackColumnList,
                                types: ["text", "text", "text", "float8", "text", "text"], on: connection,
                                logger: logger,
                                conflict: "(type, user_id, item_id)")
                        }
                    }
                }
                written += current.count
                progress?("importing feedback", written, feedback.count)
                next = await following.value
            }
        } catch {
            try? await perform(bounded: false) { [logger] connection in
                try await Self.execute(Self.createFeedbackIndexes, on: connection, logger: logger)
            }
            throw error
        }
        progress?("indexing feedback", 0, 1)
        try await perform(bounded: false) { [logger] connection in
            try await Self.execute(Self.createFeedbackIndexes + ["ANALYZE feedback"], on: connection, logger: logger)
        }
        return written
    }

    static let feedbackColumnList = ["type", "user_id", "item_id", "value", "timestamp", "comment"]

    /// Copies `lines` into a temporary table dropped at commit, then inserts them into `table`,
    /// updating every column of a row whose key (`conflict`, by default the first column) exists.
    static func stage(
        _ lines: [[String]], table: String, columns: [String], types: [String], on connection: PostgresConnection,
        logger: Logger, conflict: String? = nil
    ) async throws {
        guard !lines.isEmpty else { return }
        let staging = "import_\(table)"
        let definition = zip(columns, types).map { "\($0) \($1)" }.joined(separator: ", ")
        _ = try await connection.query(
            PostgresQuery(unsafeSQL: "CREATE TEMPORARY TABLE \(staging) (\(definition)) ON COMMIT DROP"), logger: logger
        )
        try await copy(lines, into: staging, columns: columns, on: connection, logger: logger)
        let key = conflict ?? "(\(columns[0]))"
        let keyColumns = Set(
            key.dropFirst().dropLast().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        var updates = columns.filter { !keyColumns.contains($0) }.map { "\($0) = excluded.\($0)" }
        if table == "feedback" { updates.append("seq = excluded.seq") }
        let list = columns.joined(separator: ", ")
        _ = try await connection.query(
            PostgresQuery(
                unsafeSQL: """
                    INSERT INTO \(table) (\(list)) SELECT \(list) FROM \(staging)
                    ON CONFLICT \(key) DO UPDATE SET \(updates.joined(separator: ", "))
                    """), logger: logger)
    }

    /// `COPY table (columns) FROM STDIN` in text format, 1 MiB per message.
    static func copy(
        _ lines: [[String]], into table: String, columns: [String], on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await connection.copyFrom(table: table, columns: columns, logger: logger) { writer in
            var buffer = ByteBuffer()
            buffer.reserveCapacity(1 << 20)
            for line in lines {
                for (index, field) in line.enumerated() {
                    if index > 0 { buffer.writeInteger(UInt8(9)) }
                    appendEscaped(field, to: &buffer)
                }
                buffer.writeInteger(UInt8(10))
                if buffer.readableBytes >= 1 << 20 {
                    try await writer.write(buffer)
                    buffer.clear()
                }
            }
            if buffer.readableBytes > 0 { try await writer.write(buffer) }
        }
    }

    /// A field in COPY's text format: backslash, tab, newline and carriage return escaped.
    static func appendEscaped(_ field: String, to buffer: inout ByteBuffer) {
        for byte in field.utf8 {
            switch byte {
            case 92: buffer.writeBytes([92, 92])
            case 9: buffer.writeBytes([92, 116])
            case 10: buffer.writeBytes([92, 110])
            case 13: buffer.writeBytes([92, 114])
            default: buffer.writeInteger(byte)
            }
        }
    }
}

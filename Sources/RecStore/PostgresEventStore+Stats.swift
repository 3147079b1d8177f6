import Foundation
import PostgresNIO

/// What the dashboard's overview counts (``EventStore/feedbackPerDay(days:)``).
extension PostgresEventStore {
    /// One scan of the feedback table for the newest timestamp, one for the counts: no index
    /// orders feedback by time alone.
    public func feedbackPerDay(days: Int) async throws -> [(type: String, day: String, count: Int)] {
        let newest = try await rows("SELECT COALESCE(MAX(timestamp), '') FROM feedback WHERE timestamp <> ''") {
            try $0.decode(String.self)
        }
        guard let first = StoreStats.firstDay(newest: newest.first ?? "", days: days) else { return [] }
        return try await rows(
            """
            SELECT type, substr(timestamp, 1, 10) AS day, COUNT(*)::int8 FROM feedback
            WHERE timestamp >= \(first) GROUP BY type, day ORDER BY day, type
            """
        ) { row in
            let (type, day, count) = try row.decode((String, String, Int).self)
            return (type: type, day: day, count: count)
        }
    }
}

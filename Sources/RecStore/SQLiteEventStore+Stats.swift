import Foundation
import GRDB

/// What the dashboard's overview counts (``EventStore/feedbackPerDay(days:)``).
extension SQLiteEventStore {
    /// One scan of the feedback table for the newest timestamp, one for the counts: no index
    /// orders feedback by time alone.
    public func feedbackPerDay(days: Int) throws -> [(type: String, day: String, count: Int)] {
        try database.read { db in
            let newest = try String.fetchOne(db, sql: "SELECT MAX(timestamp) FROM feedback WHERE timestamp != ''")
            guard let first = StoreStats.firstDay(newest: newest ?? "", days: days) else { return [] }
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT type, substr(timestamp, 1, 10) AS day, COUNT(*) AS n FROM feedback
                    WHERE timestamp >= ? GROUP BY type, day ORDER BY day, type
                    """, arguments: [first]
            ).map { (type: $0["type"], day: $0["day"], count: $0["n"]) }
        }
    }
}

/// Rules of the statistics both backends share.
enum StoreStats {
    /// The first day (`2026-01-02`) of the `days` UTC days ending on the day of `newest`, a
    /// store-form time; nil when there is no such time or `days` is below 1. A store-form time
    /// compares at or after its day's text, so `timestamp >= day` keeps that day whole.
    static func firstDay(newest: String, days: Int) -> String? {
        guard days >= 1, let seconds = StoreTimestamp.unixSeconds(newest) else { return nil }
        let start = (seconds / 86_400).rounded(.down) * 86_400 - Double(min(days, 100_000) - 1) * 86_400
        return String(StoreTimestamp.text(unixSeconds: start).prefix(10))
    }
}

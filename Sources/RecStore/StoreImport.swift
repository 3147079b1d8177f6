import Foundation
import RecData

/// Copies a data set into the event store, so the server starts from real history.
public enum StoreImport {
    /// Inserts every user, every item (its genres as categories) and every interaction (as
    /// feedback of `feedbackType`, value = rating, time from the timestamp), in batches.
    @discardableResult
    public static func load(
        _ dataset: Dataset, into store: EventStore, feedbackType: String
    ) throws -> (users: Int, items: Int, feedback: Int) {
        let log = dataset.interactions
        try store.upsertUsers(log.userIDs.externalIDs.map { StoredUser(userID: $0) })
        var genres = [[String]](repeating: [], count: log.itemCount)
        if let table = dataset.itemFeatures {
            for column in table.columns where ["genre", "class", "genres"].contains(column.name) {
                switch column.values {
                case .tokenSequence(let values): genres = values.map { $0 ?? [] }
                case .token(let values): genres = values.map { ($0 ?? "").split(separator: " ").map(String.init) }
                default: continue
                }
            }
        }
        try store.upsertItems(
            (0..<log.itemCount).map {
                StoredItem(
                    itemID: log.itemIDs.externalIDs[$0], categories: genres[$0],
                    comment: dataset.title(ofItem: Int32($0)))
            })
        let formatter = ISO8601DateFormatter()
        var inserted = 0
        for start in stride(from: 0, to: log.count, by: 20_000) {
            let batch = (start..<min(log.count, start + 20_000)).map { index in
                StoredFeedback(
                    feedbackType: feedbackType, userID: log.userIDs[log.users[index]],
                    itemID: log.itemIDs[log.items[index]],
                    value: Double(log.ratings?[index] ?? 1),
                    timestamp: log.timestamps.map { formatter.string(from: Date(timeIntervalSince1970: $0[index])) }
                        ?? "")
            }
            inserted += try store.insertFeedback(batch, overwrite: true)
        }
        return (log.userCount, log.itemCount, inserted)
    }
}

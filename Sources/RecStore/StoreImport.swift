import Foundation
import RecData

/// Copies a data set into the event store, so the server starts from real history.
public enum StoreImport {
    /// Inserts every user, every item (its genres as categories) and every interaction (as
    /// feedback of `feedbackType`, value = rating, time from the timestamp; a repeated (user,
    /// item) keeps its last row), in batches inside ``EventStore/bulkLoad(indexing:_:)``.
    ///
    /// Rows are written in the order of the feedback table's primary key (user, then item, by
    /// their identifiers' bytes), so its index grows at its end instead of at random pages, and
    /// the next batch is prepared on another thread while SQLite writes the current one.
    ///
    /// - Parameter progress: Called per phase and after each batch with (phase, done, total).
    @discardableResult
    public static func load(
        _ dataset: Dataset, into store: EventStore, feedbackType: String, batchSize: Int = 100_000,
        progress: ((String, Int, Int) -> Void)? = nil
    ) throws -> (users: Int, items: Int, feedback: Int) {
        try store.bulkLoad(indexing: { progress?("indexing feedback", 0, 1) }) {
            try insertAll(dataset, into: store, feedbackType: feedbackType, batchSize: batchSize, progress: progress)
        }
    }

    private static func insertAll(
        _ dataset: Dataset, into store: EventStore, feedbackType: String, batchSize: Int,
        progress: ((String, Int, Int) -> Void)?
    ) throws -> (users: Int, items: Int, feedback: Int) {
        let log = dataset.interactions
        progress?("importing users and items", 0, 1)
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
        // Feedback a transaction per batch: the users and items exist already.
        let order = primaryKeyOrder(log)
        let batches = stride(from: 0, to: log.count, by: batchSize).map { $0..<min(log.count, $0 + batchSize) }
        let makeBatch: @Sendable (Range<Int>) -> [StoredFeedback] = { range in
            range.map { position in
                let index = Int(order[position])
                return StoredFeedback(
                    feedbackType: feedbackType, userID: log.userIDs[log.users[index]],
                    itemID: log.itemIDs[log.items[index]], value: Double(log.ratings?[index] ?? 1),
                    timestamp: log.timestamps.map { StoreTimestamp.text(unixSeconds: $0[index]) } ?? "")
            }
        }
        var inserted = 0
        var next = batches.first.map(makeBatch)
        for number in batches.indices {
            guard let current = next else { break }
            // Prepare the next batch while this one is written.
            var work: (@Sendable () -> [StoredFeedback])?
            if number + 1 < batches.count {
                let range = batches[number + 1]
                work = { @Sendable in makeBatch(range) }
            }
            let following = Prefetch(work)
            inserted += try store.appendFeedback(current)
            progress?("importing feedback", inserted, log.count)
            next = following.value()
        }
        return (log.userCount, log.itemCount, inserted)
    }

    /// The events ordered by (user id bytes, item id bytes, position in the log): the primary
    /// key's order, with a repeated pair's later event last, so that `INSERT OR REPLACE` keeps it.
    static func primaryKeyOrder(_ log: InteractionLog) -> [Int32] {
        func ranks(_ ids: [String]) -> [Int32] {
            let sorted = ids.indices.sorted { ids[$0].utf8.lexicographicallyPrecedes(ids[$1].utf8) }
            var rank = [Int32](repeating: 0, count: ids.count)
            for (position, index) in sorted.enumerated() { rank[index] = Int32(position) }
            return rank
        }
        let userRank = ranks(log.userIDs.externalIDs)
        let itemRank = ranks(log.itemIDs.externalIDs)
        // A counting sort by user rank (stable), then each user's events by item rank.
        var start = [Int](repeating: 0, count: log.userCount + 1)
        for user in log.users { start[Int(userRank[Int(user)]) + 1] += 1 }
        for r in 0..<log.userCount { start[r + 1] += start[r] }
        var order = [Int32](repeating: 0, count: log.count)
        var fill = start
        for index in 0..<log.count {
            let r = Int(userRank[Int(log.users[index])])
            order[fill[r]] = Int32(index)
            fill[r] += 1
        }
        for r in 0..<log.userCount where start[r + 1] - start[r] > 1 {
            order[start[r]..<start[r + 1]].sort { a, b in
                let (ra, rb) = (itemRank[Int(log.items[Int(a)])], itemRank[Int(log.items[Int(b)])])
                return ra != rb ? ra < rb : a < b
            }
        }
        return order
    }
}

/// A value computed on another thread, waited for with `value()`.
private final class Prefetch<Value: Sendable>: @unchecked Sendable {
    private var result: Value?
    private let done = DispatchSemaphore(value: 0)
    private let started: Bool

    init(_ work: (@Sendable () -> Value)?) {
        started = work != nil
        if let work {
            DispatchQueue.global().async {
                // Written before the signal, read after the wait: the semaphore orders the two.
                self.result = work()
                self.done.signal()
            }
        }
    }

    func value() -> Value? {
        if started { done.wait() }
        return result
    }
}

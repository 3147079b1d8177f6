import Foundation
import RecData

/// Copies a data set into the event store, so the server starts from real history.
public enum StoreImport {
    /// Inserts every user, every item (its genres as categories, its title as comment) and every
    /// interaction (as feedback of `feedbackType`, value = rating, time from the timestamp; a
    /// repeated (user, item) keeps its last event) through ``EventStore/load(_:progress:)``.
    ///
    /// Feedback goes in the order of the feedback table's primary key (user, then item, by their
    /// identifiers' bytes), so the key's index grows at its end instead of at random pages.
    ///
    /// - Parameter progress: Called per phase and after each batch with (phase, done, total).
    /// - Returns: The users, items and feedback rows written.
    @discardableResult
    public static func load(
        _ dataset: Dataset, into store: any EventStore, feedbackType: String, batchSize: Int = 100_000,
        progress: ((String, Int, Int) -> Void)? = nil
    ) async throws -> (users: Int, items: Int, feedback: Int) {
        let rows = rows(of: dataset, feedbackType: feedbackType, batchSize: batchSize)
        let written = try await store.load(rows, progress: progress)
        return (rows.users.count, rows.items.count, written)
    }

    /// What ``load(_:into:feedbackType:batchSize:progress:)`` writes.
    static func rows(of dataset: Dataset, feedbackType: String, batchSize: Int) -> ImportRows {
        let log = dataset.interactions
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
        let items = (0..<log.itemCount).map {
            StoredItem(
                itemID: log.itemIDs.externalIDs[$0], categories: genres[$0], comment: dataset.title(ofItem: Int32($0)))
        }
        let batchSize = max(1, batchSize)
        // The primary key's order is sorted out on another core while users and items go in.
        let ordered = Concurrent { lastOfEachPair(primaryKeyOrder(log), log) }
        return ImportRows(users: log.userIDs.externalIDs.map { StoredUser(userID: $0) }, items: items) {
            let order = try ordered.value()
            return FeedbackBatches(count: order.count, batchCount: (order.count + batchSize - 1) / batchSize) {
                number in
                (number * batchSize..<min(order.count, (number + 1) * batchSize)).map { position in
                    let index = Int(order[position])
                    return StoredFeedback(
                        feedbackType: feedbackType, userID: log.userIDs[log.users[index]],
                        itemID: log.itemIDs[log.items[index]], value: Double(log.ratings?[index] ?? 1),
                        timestamp: log.timestamps.map { StoreTimestamp.text(unixSeconds: $0[index]) } ?? "")
                }
            }
        }
    }

    /// `order` (``primaryKeyOrder(_:)``) with only the last event of each (user, item) pair.
    static func lastOfEachPair(_ order: [Int32], _ log: InteractionLog) -> [Int32] {
        var kept: [Int32] = []
        kept.reserveCapacity(order.count)
        for (position, index) in order.enumerated() {
            if position + 1 < order.count {
                let next = Int(order[position + 1])
                if log.users[next] == log.users[Int(index)] && log.items[next] == log.items[Int(index)] { continue }
            }
            kept.append(index)
        }
        return kept
    }

    /// The events ordered by (user id bytes, item id bytes, position in the log): the primary
    /// key's order, with a repeated pair's later event last.
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

extension EventStore {
    /// The items' titles (their `comment`, as `title`) and categories (as `genre`), the columns
    /// ``StoreImport`` writes them from, so that content models train from the store as from
    /// the data set; nil when no item has either. A title that is just the item's identifier
    /// (what an import writes for an item without one) counts as none.
    public func itemFeatureTable(pageSize: Int = 10_000) async throws -> FeatureTable? {
        var keys: [String] = []
        var titles: [String?] = []
        var genres: [[String]?] = []
        var cursor = ""
        repeat {
            let page = try await items(count: pageSize, after: cursor)
            for item in page.items {
                keys.append(item.itemID)
                titles.append(item.comment.isEmpty || item.comment == item.itemID ? nil : item.comment)
                genres.append(item.categories.isEmpty ? nil : item.categories)
            }
            cursor = page.cursor
        } while !cursor.isEmpty
        var columns: [FeatureColumn] = []
        if titles.contains(where: { $0 != nil }) {
            columns.append(FeatureColumn(name: "title", type: .token, values: .token(titles)))
        }
        if genres.contains(where: { $0 != nil }) {
            columns.append(FeatureColumn(name: "genre", type: .tokenSequence, values: .tokenSequence(genres)))
        }
        return columns.isEmpty ? nil : FeatureTable(keyField: "item_id", keys: keys, columns: columns)
    }
}

extension Dataset {
    /// What `store` holds as a data set: its feedback of `types` (all when empty) and its items'
    /// titles and categories (``EventStore/itemFeatureTable(pageSize:)``), missing values filled.
    public static func fromStore(_ store: any EventStore, types: [String]) async throws -> Dataset {
        let log = try await store.interactionLog(types: types)
        var dataset = Dataset(name: "store", interactions: log, itemFeatures: try await store.itemFeatureTable())
        dataset.fillMissingFeatures()
        return dataset
    }
}

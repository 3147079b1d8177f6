/// A log of (user, item, rating, timestamp) events in file order, stored by column.
///
/// Users and items are dense indices into ``userIDs`` and ``itemIDs``. Ratings and
/// timestamps are optional: a log without them is implicit feedback in file order.
public struct InteractionLog: Sendable, Equatable {
    /// User index of each event.
    public var users: [Int32]
    /// Item index of each event.
    public var items: [Int32]
    /// Rating of each event, if the data has ratings.
    public var ratings: [Float]?
    /// Timestamp of each event (seconds), if the data has them.
    public var timestamps: [Double]?
    /// Basket (order, session) of each event, if the data names them (`--basket-field`): a
    /// dense index over the (user, basket) pairs. Without it, the events of one user with one
    /// timestamp form a basket (``basketsByUser()``).
    public var baskets: [Int32]?
    /// External user identifiers.
    public var userIDs: IDMap
    /// External item identifiers.
    public var itemIDs: IDMap

    public init(
        users: [Int32], items: [Int32], ratings: [Float]? = nil, timestamps: [Double]? = nil,
        baskets: [Int32]? = nil, userIDs: IDMap, itemIDs: IDMap
    ) {
        checkArgument(users.count == items.count, "log: \(users.count) users but \(items.count) items")
        checkArgument(ratings.map { $0.count == users.count } ?? true, "log: ratings length differs from users")
        checkArgument(timestamps.map { $0.count == users.count } ?? true, "log: timestamps length differs from users")
        checkArgument(baskets.map { $0.count == users.count } ?? true, "log: baskets length differs from users")
        self.users = users
        self.items = items
        self.ratings = ratings
        self.timestamps = timestamps
        self.baskets = baskets
        self.userIDs = userIDs
        self.itemIDs = itemIDs
    }

    /// A log from external identifiers, for tests and small inputs.
    public init(pairs: [(user: String, item: String)], timestamps: [Double]? = nil) {
        var userIDs = IDMap()
        var itemIDs = IDMap()
        let users = pairs.map { userIDs.insert($0.user) }
        let items = pairs.map { itemIDs.insert($0.item) }
        self.init(users: users, items: items, timestamps: timestamps, userIDs: userIDs, itemIDs: itemIDs)
    }

    /// Number of events.
    public var count: Int { users.count }
    /// Number of known users (the size of ``userIDs``).
    public var userCount: Int { userIDs.count }
    /// Number of known items (the size of ``itemIDs``).
    public var itemCount: Int { itemIDs.count }

    /// The events at `indices`, in that order, with the same id maps.
    public func subset(_ indices: [Int]) -> InteractionLog {
        InteractionLog(
            users: indices.map { users[$0] }, items: indices.map { items[$0] },
            ratings: ratings.map { r in indices.map { r[$0] } },
            timestamps: timestamps.map { t in indices.map { t[$0] } },
            baskets: baskets.map { b in indices.map { b[$0] } },
            userIDs: userIDs, itemIDs: itemIDs)
    }

    /// The log with ids renumbered densely over the users and items that still occur, in
    /// order of their old index; returns the old index of each new user and item too.
    public func compacted() -> (log: InteractionLog, oldUsers: [Int32], oldItems: [Int32]) {
        func remap(_ column: [Int32], _ map: IDMap) -> ([Int32], IDMap, [Int32]) {
            var used = [Bool](repeating: false, count: map.count)
            for value in column { used[Int(value)] = true }
            var newIndex = [Int32](repeating: -1, count: map.count)
            var ids: [String] = []
            var old: [Int32] = []
            for (index, isUsed) in used.enumerated() where isUsed {
                newIndex[index] = Int32(ids.count)
                ids.append(map.externalIDs[index])
                old.append(Int32(index))
            }
            return (column.map { newIndex[Int($0)] }, IDMap(ids), old)
        }
        let (u, userMap, oldUsers) = remap(users, userIDs)
        let (i, itemMap, oldItems) = remap(items, itemIDs)
        let log = InteractionLog(
            users: u, items: i, ratings: ratings, timestamps: timestamps, baskets: baskets, userIDs: userMap,
            itemIDs: itemMap)
        return (log, oldUsers, oldItems)
    }

    /// Event indices grouped by user, each user's events in file order.
    public func eventsByUser() -> [[Int]] {
        var groups = [[Int]](repeating: [], count: userCount)
        for (index, user) in users.enumerated() { groups[Int(user)].append(index) }
        return groups
    }

    /// Event indices grouped by user, each user's events sorted by timestamp with ties in
    /// file order (a stable sort); file order alone when there are no timestamps.
    public func chronologicalEventsByUser() -> [[Int]] {
        var groups = eventsByUser()
        if let timestamps {
            for u in groups.indices {
                // Sorting (time, index) pairs makes the order stable by construction.
                groups[u].sort { (timestamps[$0], $0) < (timestamps[$1], $1) }
            }
        }
        return groups
    }

    /// Number of events per item.
    public func itemCounts() -> [Int] {
        var counts = [Int](repeating: 0, count: itemCount)
        for item in items { counts[Int(item)] += 1 }
        return counts
    }

    /// Number of events per user.
    public func userCounts() -> [Int] {
        var counts = [Int](repeating: 0, count: userCount)
        for user in users { counts[Int(user)] += 1 }
        return counts
    }
}

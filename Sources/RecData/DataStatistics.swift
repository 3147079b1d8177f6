/// Summary figures of a data set, as `reckit data stats` prints them.
public struct DataStatistics: Sendable, Equatable, Codable {
    /// Minimum, quartiles, 90th percentile and maximum of a count distribution.
    public struct Quantiles: Sendable, Equatable, Codable {
        public var min: Int, p25: Int, median: Int, p75: Int, p90: Int, max: Int
        public var mean: Double

        init(_ counts: [Int]) {
            let sorted = counts.sorted()
            func at(_ q: Double) -> Int {
                sorted.isEmpty ? 0 : sorted[Swift.min(sorted.count - 1, Int((q * Double(sorted.count - 1)).rounded()))]
            }
            min = sorted.first ?? 0
            max = sorted.last ?? 0
            p25 = at(0.25)
            median = at(0.5)
            p75 = at(0.75)
            p90 = at(0.9)
            mean = sorted.isEmpty ? 0 : Double(sorted.reduce(0, +)) / Double(sorted.count)
        }
    }

    public var name: String
    public var users: Int
    public var items: Int
    public var interactions: Int
    /// `interactions / (users · items)`.
    public var density: Double
    public var eventsPerUser: Quantiles
    public var eventsPerItem: Quantiles
    /// Earliest and latest timestamp (seconds), if the data has timestamps.
    public var firstTimestamp: Double?
    public var lastTimestamp: Double?
    /// Number of events with each rating value, if the data has ratings.
    public var ratingCounts: [String: Int]?
    /// Distinct (user, item) pairs that occur more than once.
    public var repeatedPairs: Int
    /// Repeat events and repeat targets (``repeats(_:)``).
    public var repeats: Repeats
    /// Feature columns and their missing values (filled on load).
    public var missingValues: [String: Int]
    /// Feature columns of items and users.
    public var itemFeatures: [String]
    public var userFeatures: [String]
    /// Rows skipped as malformed while loading.
    public var skippedRows: Int

    public init(_ dataset: Dataset) {
        let log = dataset.interactions
        name = dataset.name
        users = log.userCount
        items = log.itemCount
        interactions = log.count
        density = users * items > 0 ? Double(interactions) / (Double(users) * Double(items)) : 0
        eventsPerUser = Quantiles(log.userCounts())
        eventsPerItem = Quantiles(log.itemCounts())
        firstTimestamp = log.timestamps?.min()
        lastTimestamp = log.timestamps?.max()
        if let ratings = log.ratings {
            var byValue: [Float: Int] = [:]
            for r in ratings { byValue[r, default: 0] += 1 }
            var counts: [String: Int] = [:]
            for (r, count) in byValue { counts[r == r.rounded() ? String(Int(r)) : String(r), default: 0] += count }
            ratingCounts = counts
        }
        repeatedPairs = Self.repeatedPairs(log)
        repeats = Self.repeats(log)
        missingValues = dataset.report.filledMissing
        itemFeatures = dataset.itemFeatures?.columns.map { "\($0.name):\($0.type.rawValue)" } ?? []
        userFeatures = dataset.userFeatures?.columns.map { "\($0.name):\($0.type.rawValue)" } ?? []
        skippedRows = dataset.report.skippedRows
    }
}

extension DataStatistics {
    /// The (user, item) pairs that occur more than once. Users are taken in ranges of at most
    /// `block` events; for each range one pass over the log groups their items (a counting sort)
    /// and each user's items are sorted, so the extra memory is `4 · block` bytes rather than a
    /// hash set of every pair (about 27 bytes per event).
    static func repeatedPairs(_ log: InteractionLog, block: Int = 1 << 24) -> Int {
        var start = [Int](repeating: 0, count: log.userCount + 1)
        for u in log.users { start[Int(u) + 1] += 1 }
        for u in 0..<log.userCount { start[u + 1] += start[u] }
        var grouped = [Int32](repeating: 0, count: min(log.count, block))
        var repeated = 0
        var first = 0
        while first < log.userCount {
            // Users first..<last: at least one, then as many as fit in the block.
            var last = first + 1
            while last < log.userCount && start[last + 1] - start[first] <= block { last += 1 }
            let base = start[first]
            if start[last] - base > grouped.count { grouped = [Int32](repeating: 0, count: start[last] - base) }
            var next = Array(start[first..<last])
            for (u, i) in zip(log.users, log.items) where Int(u) >= first && Int(u) < last {
                grouped[next[Int(u) - first] - base] = i
                next[Int(u) - first] += 1
            }
            for u in first..<last {
                let range = (start[u] - base)..<(start[u + 1] - base)
                grouped[range].sort()
                var k = range.lowerBound
                while k < range.upperBound {
                    var end = k + 1
                    while end < range.upperBound && grouped[end] == grouped[k] { end += 1 }
                    if end - k > 1 { repeated += 1 }
                    k = end
                }
            }
            first = last
        }
        return repeated
    }
}

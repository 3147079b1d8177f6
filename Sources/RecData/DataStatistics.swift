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
            var counts: [String: Int] = [:]
            for r in ratings { counts[r == r.rounded() ? String(Int(r)) : String(r), default: 0] += 1 }
            ratingCounts = counts
        }
        var seen = Set<Int64>()
        var repeated = Set<Int64>()
        for (u, i) in zip(log.users, log.items) {
            let key = Int64(u) << 32 | Int64(i)
            if !seen.insert(key).inserted { repeated.insert(key) }
        }
        repeatedPairs = repeated.count
        missingValues = dataset.report.filledMissing
        itemFeatures = dataset.itemFeatures?.columns.map { "\($0.name):\($0.type.rawValue)" } ?? []
        userFeatures = dataset.userFeatures?.columns.map { "\($0.name):\($0.type.rawValue)" } ?? []
        skippedRows = dataset.report.skippedRows
    }
}

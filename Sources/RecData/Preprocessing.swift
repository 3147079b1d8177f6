/// Which of several events for the same (user, item) pair to keep.
public enum DuplicatePolicy: String, Sendable, Codable, CaseIterable {
    /// Keep every event (RecBole's default).
    case keepAll = "all"
    /// Keep the earliest event (by timestamp, ties in file order).
    case first
    /// Keep the latest event (by timestamp, ties in file order).
    case last
}

/// Cleaning applied before a split, in RecBole's order: duplicates, rating threshold, then
/// k-core filtering iterated to a fixed point. Ids are renumbered densely afterwards.
public struct Preprocessing: Sendable, Equatable, Codable {
    public var duplicates: DuplicatePolicy = .keepAll
    /// Keep events whose rating is at least this (explicit → implicit feedback), e.g. 3.
    public var minimumRating: Double?
    /// Keep users with at least this many events (after the other filters); 0 disables.
    public var userCore = 0
    /// Keep items with at least this many events; 0 disables.
    public var itemCore = 0
    /// Round timestamps to the nearest 32-bit float after filtering, as RecBole 1.2.1 does when
    /// it turns a float field into a tensor before sorting each user's events. Near today's Unix
    /// times a 32-bit float holds a multiple of 64 or 128 seconds, so events that far apart fall
    /// into one bucket and keep file order: `seq-loo` then draws RecBole's own validation and test
    /// events, which on ml-1m differ from the exact order's for 18% of users (tests) and 30%
    /// (validation).
    public var float32Timestamps = false

    public init(
        duplicates: DuplicatePolicy = .keepAll, minimumRating: Double? = nil, userCore: Int = 0, itemCore: Int = 0,
        float32Timestamps: Bool = false
    ) {
        self.duplicates = duplicates
        self.minimumRating = minimumRating
        self.userCore = userCore
        self.itemCore = itemCore
        self.float32Timestamps = float32Timestamps
    }

    private enum CodingKeys: String, CodingKey {
        case duplicates, minimumRating, userCore, itemCore, float32Timestamps
    }

    /// Reads a record written before `float32Timestamps` existed as one without it.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        duplicates = try container.decode(DuplicatePolicy.self, forKey: .duplicates)
        minimumRating = try container.decodeIfPresent(Double.self, forKey: .minimumRating)
        userCore = try container.decode(Int.self, forKey: .userCore)
        itemCore = try container.decode(Int.self, forKey: .itemCore)
        float32Timestamps = try container.decodeIfPresent(Bool.self, forKey: .float32Timestamps) ?? false
    }

    /// RecBole's benchmark preprocessing of MovieLens: rating ≥ 3, 10-core users and items.
    public static let recboleBenchmark = Preprocessing(minimumRating: 3, userCore: 10, itemCore: 10)

    /// Whether this preprocessing changes nothing.
    public var isIdentity: Bool {
        duplicates == .keepAll && minimumRating == nil && userCore <= 0 && itemCore <= 0 && !float32Timestamps
    }

    /// Counts of what each step removed.
    public struct Report: Sendable, Equatable, Codable {
        public var eventsBefore = 0
        public var duplicatesRemoved = 0
        public var belowRatingRemoved = 0
        public var kCoreRemoved = 0
        public var kCoreRounds = 0
        public var eventsAfter = 0
    }

    /// Applies the steps to `dataset`.
    ///
    /// - Throws: ``DatasetError/invalidOption(_:)`` for a rating threshold on data without
    ///   ratings; ``DatasetError/noInteractions(_:)`` if nothing is left.
    public func apply(to dataset: Dataset) throws -> (dataset: Dataset, report: Report) {
        let log = dataset.interactions
        var report = Report()
        report.eventsBefore = log.count
        var keep = Array(0..<log.count)
        if duplicates != .keepAll {
            var chosen: [Int64: Int] = [:]
            let order = log.timestamps.map { t in keep.sorted { (t[$0], $0) < (t[$1], $1) } } ?? keep
            for index in order {
                let key = Int64(log.users[index]) << 32 | Int64(log.items[index])
                if duplicates == .last || chosen[key] == nil { chosen[key] = index }
            }
            keep = chosen.values.sorted()
            report.duplicatesRemoved = log.count - keep.count
        }
        if let minimumRating {
            guard let ratings = log.ratings else {
                throw DatasetError.invalidOption("a rating threshold needs ratings, and \(dataset.name) has none")
            }
            let before = keep.count
            keep = keep.filter { Double(ratings[$0]) >= minimumRating }
            report.belowRatingRemoved = before - keep.count
        }
        if userCore > 0 || itemCore > 0 {
            let before = keep.count
            while true {
                var userCounts = [Int](repeating: 0, count: log.userCount)
                var itemCounts = [Int](repeating: 0, count: log.itemCount)
                for index in keep {
                    userCounts[Int(log.users[index])] += 1
                    itemCounts[Int(log.items[index])] += 1
                }
                let filtered = keep.filter {
                    userCounts[Int(log.users[$0])] >= userCore && itemCounts[Int(log.items[$0])] >= itemCore
                }
                if filtered.count == keep.count { break }
                keep = filtered
                report.kCoreRounds += 1
            }
            report.kCoreRemoved = before - keep.count
        }
        guard !keep.isEmpty else { throw DatasetError.noInteractions("preprocessing removed every event") }
        report.eventsAfter = keep.count
        var compacted = log.subset(keep).compacted().log
        if float32Timestamps {
            compacted.timestamps = compacted.timestamps?.map { Double(Float($0)) }
        }
        let cleaned = Dataset(
            name: dataset.name, interactions: compacted, itemFeatures: dataset.itemFeatures,
            userFeatures: dataset.userFeatures, report: dataset.report)
        return (cleaned, report)
    }
}

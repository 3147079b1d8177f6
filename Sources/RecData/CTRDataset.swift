import Foundation

/// How the `ctr` protocol cuts its events into training, validation and test parts.
public enum CTRSplitKind: String, Sendable, Codable, CaseIterable {
    /// Every event shuffled with the seed, then cut 8:1:1 (RecBole's `RS: [0.8, 0.1, 0.1]`).
    case random
    /// Every event in global time order (ties in file order), cut 8:1:1: the newest 10% is test.
    case temporal
}

/// The event indices of each part of a `ctr` split.
public struct CTRSplit: Sendable, Equatable {
    public var kind: CTRSplitKind
    public var seed: UInt64
    public var train: [Int]
    public var validation: [Int]
    public var test: [Int]
}

/// Rating events as labelled click-through examples (the `ctr` protocol, `docs/protocols.md`).
///
/// Each event is an example: label `1` when the rating is at least 4, else `0` (RecBole's
/// context-aware setting, `threshold: {rating: 4}`); its fields are the user and item, their
/// features (``CTRUserFeatures``, ``CTRItemFeatures``), the hour and weekday of its timestamp in
/// UTC, and the user's behaviour sequence before it: the items of the user's events with strictly
/// earlier timestamps, the newest ``historyLimit`` of them, taken from the whole log whatever
/// part an event falls in (the sequence holds item ids only, never ratings).
public struct CTRDataset: Sendable {
    /// Short name (`ml-100k`).
    public let name: String
    /// The events; ratings and timestamps are always present.
    public let log: InteractionLog
    /// `1` where the rating is at least ``positiveRating``, else `0`.
    public let labels: [Float]
    /// Raw features of each user index of ``log`` (missing values are empty).
    public let userFeatures: [CTRUserFeatures]
    /// Raw features of each item index of ``log``.
    public let itemFeatures: [CTRItemFeatures]
    /// Each user's items in time order (ties in file order).
    private let timeline: [[Int32]]
    /// For each event, how many of its user's events have a strictly earlier timestamp.
    private let earlier: [Int32]

    /// The rating from which an event is positive.
    public static let positiveRating: Float = 4
    /// The longest behaviour sequence kept (DIN's `max_len` in FuxiCTR's MovieLens settings).
    public static let historyLimit = 50

    /// Labels `log` and indexes each user's behaviour sequence.
    ///
    /// - Parameters:
    ///   - users: Features by external user id; users absent here get missing features.
    ///   - items: Features by external item id.
    /// - Throws: ``DatasetError/invalidOption(_:)`` when the log lacks ratings or timestamps.
    public init(
        name: String, log: InteractionLog, users: [String: CTRUserFeatures] = [:],
        items: [String: CTRItemFeatures] = [:]
    ) throws {
        guard let ratings = log.ratings, let timestamps = log.timestamps else {
            throw DatasetError.invalidOption("the ctr protocol needs ratings and timestamps in \(name)")
        }
        self.name = name
        self.log = log
        labels = ratings.map { $0 >= Self.positiveRating ? 1 : 0 }
        userFeatures = log.userIDs.externalIDs.map { users[$0] ?? .missing }
        itemFeatures = log.itemIDs.externalIDs.map { items[$0] ?? .missing }
        var timeline = [[Int32]](repeating: [], count: log.userCount)
        var earlier = [Int32](repeating: 0, count: log.count)
        for events in log.chronologicalEventsByUser() {
            guard let first = events.first else { continue }
            var start = 0
            for (position, event) in events.enumerated() {
                if timestamps[event] != timestamps[events[start]] { start = position }
                earlier[event] = Int32(start)
            }
            timeline[Int(log.users[first])] = events.map { log.items[$0] }
        }
        self.timeline = timeline
        self.earlier = earlier
    }

    /// Loads a data set by name or path: the interactions of its `.inter` atomic file and the
    /// features of the `.user` and `.item` files beside it, if there are any.
    ///
    /// - Throws: ``DatasetError`` with the file, line, column and reason of a bad row.
    public static func load(_ nameOrPath: String) throws -> CTRDataset {
        let path = try DatasetCatalog.resolve(nameOrPath)
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        guard isDirectory.boolValue else {
            let dataset = try Dataset.load(path: path)
            return try CTRDataset(name: dataset.name, log: dataset.interactions)
        }
        let folder = URL(fileURLWithPath: path)
        let files = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        guard let inter = files.filter({ $0.hasSuffix(".inter") && $0.split(separator: ".").count == 2 }).min()
        else {
            throw DatasetError.unreadable(path: path, reason: "the ctr protocol reads a NAME.inter atomic file")
        }
        let stem = String(inter.dropLast(".inter".count))
        var report = LoadReport()
        let log = try AtomicFileLoader.loadInteractions(
            path: folder.appendingPathComponent(inter).path, options: LoadOptions(), report: &report)
        let userFile = folder.appendingPathComponent(stem + ".user").path
        let itemFile = folder.appendingPathComponent(stem + ".item").path
        let users = try files.contains(stem + ".user") ? CTRFeatureFiles.readUsers(path: userFile) : [:]
        let items = try files.contains(stem + ".item") ? CTRFeatureFiles.readItems(path: itemFile) : [:]
        let name = DatasetCatalog.entries.contains { $0.name == nameOrPath } ? nameOrPath : stem
        return try CTRDataset(name: name, log: log, users: users, items: items)
    }

    /// Number of events.
    public var count: Int { log.count }

    /// The items of the user's events strictly before `event`, oldest first, at most `limit`.
    public func history(of event: Int, limit: Int = historyLimit) -> ArraySlice<Int32> {
        let items = timeline[Int(log.users[event])]
        let end = Int(earlier[event])
        return items[max(0, end - limit)..<end]
    }

    /// The hour of day of the event's timestamp in UTC, 0...23.
    public func hour(of event: Int) -> Int { Self.hour(ofTime: timestamp(event)) }

    /// The weekday of the event's timestamp in UTC, 0 = Monday ... 6 = Sunday (Python's
    /// `datetime.weekday()`).
    public func weekday(of event: Int) -> Int { Self.weekday(ofTime: timestamp(event)) }

    private func timestamp(_ event: Int) -> Double { log.timestamps?[event] ?? 0 }

    /// The UTC hour of a Unix time in seconds.
    public static func hour(ofTime time: Double) -> Int {
        let seconds = time - 86_400 * (time / 86_400).rounded(.down)
        return min(23, max(0, Int(seconds / 3_600)))
    }

    /// The UTC weekday of a Unix time, 0 = Monday (1970-01-01 was a Thursday, 3).
    public static func weekday(ofTime time: Double) -> Int {
        let days = Int((time / 86_400).rounded(.down))
        return ((days + 3) % 7 + 7) % 7
    }

    /// The split of `kind`; `seed` orders the random shuffle and is ignored by the temporal one.
    ///
    /// Random: the event indices `0..<count` in file order are shuffled by ``SeededGenerator``
    /// (Fisher–Yates from the last position down), then the first 80% are training, the next
    /// 10% validation, the rest test, with RecBole's `_calcu_split_ids` counts. Temporal: events
    /// sorted by (timestamp, file position), cut the same way. Each part lists its events in the
    /// order of the shuffle or of time.
    public func split(_ kind: CTRSplitKind, seed: UInt64) -> CTRSplit {
        var order = Array(0..<count)
        switch kind {
        case .random:
            var generator = SeededGenerator(seed: seed)
            generator.shuffle(&order)
        case .temporal:
            let times = log.timestamps ?? []
            order.sort { (times[$0], $0) < (times[$1], $1) }
        }
        let counts = DataSplit.ratioCounts(count, validation: 0.1, test: 0.1)
        let validationEnd = counts.train + counts.validation
        return CTRSplit(
            kind: kind, seed: seed, train: Array(order[..<counts.train]),
            validation: Array(order[counts.train..<validationEnd]), test: Array(order[validationEnd...]))
    }
}

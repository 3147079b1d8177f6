import Foundation

/// Options for reading a data set from files.
public struct LoadOptions: Sendable, Equatable {
    /// Count, report and skip malformed rows instead of stopping at the first one.
    public var skipBadRows = false
    /// Text encoding; `nil` takes the format's own (UTF-8, Latin-1 for MovieLens 1M originals).
    public var encoding: TextEncoding?
    /// Names of the user, item, rating and timestamp columns (RecBole's defaults). Rating and
    /// timestamp are optional columns: a file without them loads as implicit feedback.
    public var userField = "user_id"
    public var itemField = "item_id"
    public var ratingField = "rating"
    public var timestampField = "timestamp"
    /// The basket (order, session) column, if any (`--basket-field`): the events of one user with
    /// one value form a basket. Without it, the events of one user with one timestamp do.
    public var basketField: String?
    /// Field separator for CSV/TSV files; `nil` chooses by extension (`.csv` → `,`, else tab).
    public var separator: String?

    public init() {}
}

/// What happened while loading: rows read and skipped, missing values filled.
public struct LoadReport: Sendable, Equatable, Codable {
    /// Interaction rows read (skipped ones included).
    public var rows = 0
    /// Rows skipped as malformed (only with ``LoadOptions/skipBadRows``).
    public var skippedRows = 0
    /// The first few skipped rows, each as `file:line: reason`.
    public var skippedExamples: [String] = []
    /// Missing feature values filled, per `table.column`.
    public var filledMissing: [String: Int] = [:]

    public init() {}

    mutating func skip(_ error: DatasetError) {
        skippedRows += 1
        if skippedExamples.count < 10 { skippedExamples.append(error.description) }
    }
}

/// An interaction log with optional item and user features, as loaded from files.
public struct Dataset: Sendable, Equatable {
    /// Short name (`ml-100k`), used in reports.
    public var name: String
    /// The events.
    public var interactions: InteractionLog
    /// Item features, one row per item of ``interactions`` in index order, if the data has them.
    public var itemFeatures: FeatureTable?
    /// User features, one row per user of ``interactions`` in index order, if the data has them.
    public var userFeatures: FeatureTable?
    /// How loading went.
    public var report: LoadReport

    public init(
        name: String, interactions: InteractionLog, itemFeatures: FeatureTable? = nil,
        userFeatures: FeatureTable? = nil, report: LoadReport = LoadReport()
    ) {
        self.name = name
        self.interactions = interactions
        self.itemFeatures = itemFeatures?.aligned(to: interactions.itemIDs)
        self.userFeatures = userFeatures?.aligned(to: interactions.userIDs)
        self.report = report
    }

    /// Loads a data set from a folder or a file.
    ///
    /// A folder may hold RecBole atomic files (`NAME.inter`, optional `NAME.item`, `NAME.user`),
    /// a ready split (`NAME.train.inter`, `NAME.valid.inter`, `NAME.test.inter`; loaded as their union),
    /// MovieLens 100K originals (`u.data`, `u.item`, `u.user`) or MovieLens 1M originals
    /// (`ratings.dat`, `movies.dat`, `users.dat`). A file is read as an atomic `.inter` file or,
    /// for `.csv`/`.tsv`/`.txt`, as a delimited file with a header naming the columns of `options`.
    ///
    /// Missing feature values are filled (categorical → `"unknown"`, numeric → median) and counted
    /// in ``report``.
    ///
    /// - Throws: ``DatasetError`` naming the file, line, column and reason of the first bad row.
    public static func load(path: String, options: LoadOptions = LoadOptions()) throws -> Dataset {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw DatasetError.unreadable(path: path, reason: "no such file or folder")
        }
        var dataset: Dataset
        if isDirectory.boolValue {
            dataset = try loadFolder(path, options: options)
        } else {
            let url = URL(fileURLWithPath: path)
            let name = url.deletingPathExtension().lastPathComponent
            var report = LoadReport()
            let log: InteractionLog
            if url.pathExtension == "inter" {
                log = try AtomicFileLoader.loadInteractions(path: path, options: options, report: &report)
            } else {
                log = try DelimitedLoader.loadInteractions(path: path, options: options, report: &report)
            }
            dataset = Dataset(name: name, interactions: log, report: report)
        }
        dataset.fillMissingFeatures()
        return dataset
    }

    private static func loadFolder(_ path: String, options: LoadOptions) throws -> Dataset {
        let folder = URL(fileURLWithPath: path)
        let files = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        func file(_ name: String) -> String? {
            files.contains(name) ? folder.appendingPathComponent(name).path : nil
        }
        var report = LoadReport()
        if DataSplit.isSplitFolder(path) {
            let (name, split) = try DataSplit.load(from: folder, as: .generalRandom, options: options)
            return Dataset(name: name, interactions: split.log, report: report)
        }
        if let inter = files.filter({ $0.hasSuffix(".inter") }).sorted().first {
            let stem = String(inter.dropLast(".inter".count))
            let (itemFile, userFile) = (file(stem + ".item"), file(stem + ".user"))
            // The feature files are read on another core while the interactions are.
            let features = Concurrent {
                (
                    try itemFile.map {
                        try AtomicFileLoader.loadFeatures(path: $0, keyField: options.itemField, options: options)
                    },
                    try userFile.map {
                        try AtomicFileLoader.loadFeatures(path: $0, keyField: options.userField, options: options)
                    }
                )
            }
            let loaded = Result {
                try AtomicFileLoader.loadInteractions(
                    path: folder.appendingPathComponent(inter).path, options: options, report: &report)
            }
            let read = Result { try features.value() }
            // The interactions' error first, as when the files were read in turn.
            let log = try loaded.get()
            let (items, users) = try read.get()
            return Dataset(name: stem, interactions: log, itemFeatures: items, userFeatures: users, report: report)
        }
        if let data = file("u.data") {
            let log = try MovieLensLoader.load100KRatings(path: data, options: options, report: &report)
            let items = try file("u.item").map { try MovieLensLoader.load100KItems(path: $0, options: options) }
            let users = try file("u.user").map { try MovieLensLoader.load100KUsers(path: $0, options: options) }
            return Dataset(name: "ml-100k", interactions: log, itemFeatures: items, userFeatures: users, report: report)
        }
        if let ratings = file("ratings.dat") {
            let log = try MovieLensLoader.load1MRatings(path: ratings, options: options, report: &report)
            let items = try file("movies.dat").map { try MovieLensLoader.load1MItems(path: $0, options: options) }
            let users = try file("users.dat").map { try MovieLensLoader.load1MUsers(path: $0, options: options) }
            return Dataset(name: "ml-1m", interactions: log, itemFeatures: items, userFeatures: users, report: report)
        }
        throw DatasetError.unreadable(
            path: path, reason: "no .inter, u.data or ratings.dat file in this folder")
    }

    /// Fills missing feature values and records how many in ``report``.
    public mutating func fillMissingFeatures() {
        for (counts, prefix) in [(itemFeatures?.fillMissing(), "item"), (userFeatures?.fillMissing(), "user")] {
            for (column, count) in counts ?? [:] { report.filledMissing["\(prefix).\(column)"] = count }
        }
    }

    /// A readable title for an item: its title column with the release year when the data has
    /// one, else its identifier.
    public func title(ofItem item: Int32) -> String {
        let id = interactions.itemIDs[item]
        guard let table = itemFeatures else { return id }
        let row = Int(item)
        var title: String?
        for name in ["title", "movie_title", "name"] {
            switch table.column(named: name)?.values {
            case .token(let v): title = v[row]
            case .tokenSequence(let v): title = v[row]?.joined(separator: " ")
            default: continue
            }
            if title != nil { break }
        }
        guard var text = title, !text.isEmpty, text != "unknown" else { return id }
        if !text.hasSuffix(")") {
            switch table.column(named: "release_year")?.values {
            case .float(let v): if let year = v[row], year > 0 { text += " (\(Int(year)))" }
            case .token(let v): if let year = v[row], year != "unknown" { text += " (\(year))" }
            default: break
            }
        }
        return text
    }
}

/// Collects interaction columns while a loader reads rows.
struct InteractionBuilder {
    var users: [Int32] = []
    var items: [Int32] = []
    var ratings: [Float] = []
    var timestamps: [Double] = []
    var baskets: [Int32] = []
    var userIDs = IDMap()
    var itemIDs = IDMap()
    /// (user index, basket value) keys, so that two users' equal basket values stay apart.
    var basketIDs = IDMap()
    let hasRatings: Bool
    let hasTimestamps: Bool
    var hasBaskets = false

    /// Sizes the columns for `rows` events at once: growth by doubling would hold up to twice
    /// the columns (and a copy while it grows) on a log of 10^8 events.
    mutating func reserve(_ rows: Int) {
        users.reserveCapacity(rows)
        items.reserveCapacity(rows)
        if hasRatings { ratings.reserveCapacity(rows) }
        if hasTimestamps { timestamps.reserveCapacity(rows) }
        if hasBaskets { baskets.reserveCapacity(rows) }
    }

    mutating func append(user: String, item: String, rating: Double?, timestamp: Double?, basket: String? = nil) {
        let userIndex = userIDs.insert(user)
        if hasBaskets { baskets.append(basketIDs.insert("\(userIndex)\u{1F}\(basket ?? "")")) }
        users.append(userIndex)
        items.append(itemIDs.insert(item))
        if hasRatings { ratings.append(Float(rating ?? 0)) }
        if hasTimestamps { timestamps.append(timestamp ?? 0) }
    }

    func build(path: String) throws -> InteractionLog {
        guard !users.isEmpty else { throw DatasetError.noRows(path: path) }
        return InteractionLog(
            users: users, items: items, ratings: hasRatings ? ratings : nil,
            timestamps: hasTimestamps ? timestamps : nil, baskets: hasBaskets ? baskets : nil, userIDs: userIDs,
            itemIDs: itemIDs)
    }
}

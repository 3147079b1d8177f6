import Foundation
import RecData

/// Users, items, feedback and published models: the server's source of truth, behind one
/// interface with two backends, ``SQLiteEventStore`` (one file, the embedded default) and
/// ``PostgresEventStore`` (one database that several servers share). Both keep the same tables,
/// migrations and semantics: a write returns only after its transaction has committed, `POST`
/// keeps and `PUT` overwrites a (type, user, item) feedback row, cursors page in a stable order,
/// and deleting a user or an item deletes its feedback in the same transaction.
public protocol EventStore: Sendable {
    /// Answers once the database has answered a trivial query (the readiness probe).
    func ping() async throws
    /// Counts of users, items and feedback rows.
    func counts() async throws -> (users: Int, items: Int, feedback: Int)
    /// Releases the store's connections; it must not be used afterwards.
    func close() async

    /// Inserts or replaces users; returns how many rows changed.
    @discardableResult func upsertUsers(_ users: [StoredUser]) async throws -> Int
    func user(_ id: String) async throws -> StoredUser?
    /// Changes the given fields of a user; returns 1 if the user exists, else 0.
    func patchUser(_ id: String, labels: JSONValue?, comment: String?) async throws -> Int
    /// Deletes a user and all their feedback in one transaction; returns the user rows deleted.
    func deleteUser(_ id: String) async throws -> Int
    /// Up to `count` users after `cursor` in identifier order (bytes), and the cursor of the next
    /// page (empty at the end).
    func users(count: Int, after cursor: String) async throws -> (users: [StoredUser], cursor: String)

    /// Inserts or replaces items; returns how many rows changed.
    @discardableResult func upsertItems(_ items: [StoredItem]) async throws -> Int
    func item(_ id: String) async throws -> StoredItem?
    /// Changes the given fields of an item; returns 1 if it exists, else 0.
    func patchItem(
        _ id: String, isHidden: Bool?, categories: [String]?, timestamp: String?, labels: JSONValue?, comment: String?
    ) async throws -> Int
    /// Deletes an item and its feedback; returns the item rows deleted.
    func deleteItem(_ id: String) async throws -> Int
    func items(count: Int, after cursor: String) async throws -> (items: [StoredItem], cursor: String)
    /// Identifiers of hidden items.
    func hiddenItems() async throws -> Set<String>
    /// Identifiers of the items in `category` (whole categories only).
    func items(inCategory category: String) async throws -> Set<String>
    /// Up to `count` items whose title (the item's `comment`) contains `text`, ignoring ASCII
    /// case, in identifier order. `%`, `_` and `\` in `text` match themselves.
    func items(titleContaining text: String, count: Int) async throws -> [StoredItem]

    /// Inserts feedback, creating unknown users and items. With `overwrite` an existing
    /// (type, user, item) row is replaced (Gorse's `PUT`); without, it is left as it is (`POST`).
    /// A batch with an invalid row writes nothing.
    ///
    /// - Returns: The rows inserted or replaced.
    @discardableResult func insertFeedback(_ feedback: [StoredFeedback], overwrite: Bool) async throws -> Int
    /// ``insertFeedback(_:overwrite:)`` for concurrent callers (the server): writes that arrive
    /// while a commit runs share the next transaction (group commit); each caller resumes once the
    /// transaction holding its rows has committed.
    func commitFeedback(_ feedback: [StoredFeedback], overwrite: Bool) async throws -> Int
    /// A user's feedback, oldest first (by timestamp, then insertion), optionally of one type.
    func feedback(ofUser user: String, type: String?) async throws -> [StoredFeedback]
    /// What ranking needs for a user: the type, item and timestamp of each of their feedback rows
    /// in ``feedback(ofUser:type:)``'s order (rows with one timestamp form a basket) up to
    /// `cutoff` (a store-form time; later rows, written back with a delay, are left out), and the
    /// hidden items. Without `times` the times are not read (each is empty): the one-model server
    /// reads them only for models that read baskets.
    func rankingInputs(ofUser user: String, asOf cutoff: String, times: Bool) async throws -> (
        feedback: [(type: String, itemID: String, timestamp: String)], hidden: Set<String>
    )
    /// The type and user of each feedback row on an item, in no particular order: what placing a
    /// new item from the users who interacted with it needs.
    func feedbackOnItem(_ item: String) async throws -> [(type: String, userID: String)]
    /// Up to `count` feedback rows after `cursor`, in insertion order.
    func feedback(count: Int, after cursor: String) async throws -> (feedback: [StoredFeedback], cursor: String)
    /// Deletes every feedback row between a user and an item; returns how many.
    func deleteFeedback(user: String, item: String) async throws -> Int
    /// Items by number of feedback rows of `types` (every type if empty) timestamped at or after
    /// `since` (a store-form time; empty: all time), most first.
    func popularItems(types: [String], count: Int, since: String) async throws -> [(itemID: String, count: Int)]
    /// Items by timestamp, newest first.
    func latestItems(count: Int) async throws -> [(itemID: String, timestamp: String)]
    /// Feedback rows per type and UTC day over the `days` days that end on the newest row's day
    /// (rows without a timestamp are left out), by day then type (`+Stats.swift`).
    func feedbackPerDay(days: Int) async throws -> [(type: String, day: String, count: Int)]

    /// Stores impressions (each in one row with its items); one already stored (by request id)
    /// is kept as it is. Returns the impressions written (`+Impressions.swift`, issue 47).
    @discardableResult func insertImpressions(_ impressions: [StoredImpression]) async throws -> Int
    /// Deletes impressions shown before `time` (store form); returns how many.
    func deleteImpressions(before time: String) async throws -> Int
    /// An experiment's figures per arm, user and day, positive feedback of `clickTypes` (every
    /// type if empty) and `conversionTypes` attributed to the impressions at read time.
    func experimentOutcomes(experiment: String, clickTypes: [String], conversionTypes: [String]) async throws
        -> [ExperimentUserDay]
    /// Records experiments' definitions (replacing those with the same names) and lists them.
    func saveExperiments(_ experiments: [StoredExperiment]) async throws
    func experiments() async throws -> [StoredExperiment]

    /// Loads users, items and then the feedback batches of `rows` (`reckit db import`), each
    /// batch overwriting rows with the same (type, user, item); returns the feedback rows written.
    func load(_ rows: ImportRows, progress: ((String, Int, Int) -> Void)?) async throws -> Int
    /// Every feedback row of `types` (every type if empty) as an interaction log, for training
    /// from the store: the rows of users and items that were deleted are gone with them.
    func interactionLog(types: [String]) async throws -> InteractionLog

    /// Records a model directory (by name, under the servers' shared models folder) as the one
    /// to serve; returns its version, one more than the last.
    func publishModel(name: String, kind: String, report: String) async throws -> Int
    /// The newest published model, if any.
    func latestPublishedModel() async throws -> PublishedModel?
    /// Records a flow configuration's text (`reckit config publish`) as the one servers started
    /// with `--config` serve; returns its version, one more than the last.
    func publishConfiguration(_ text: String) async throws -> Int
    /// The newest published flow configuration, if any.
    func latestPublishedConfiguration() async throws -> PublishedConfiguration?

    // What the trainer reads to skip an unchanged store and to delete old models safely
    // (`EventStore+Versions.swift`).

    /// A mark that changes whenever a feedback row or an item is written or deleted, cheap at any
    /// size: equal marks mean the store holds the same feedback and items.
    func changeMark() async throws -> StoreChangeMark
    /// Every published model, newest first.
    func publishedModels() async throws -> [PublishedModel]
    /// Deletes a published model's row (not its directory); whether there was one.
    func deletePublishedModel(version: Int) async throws -> Bool
    /// Records that the server `replica` serves published `version` now (its heartbeat).
    func reportServedModel(replica: String, version: Int) async throws
    /// The versions servers reported within the last `seconds`, by the database's clock.
    func servedModels(reportedWithin seconds: Double) async throws -> [ServedModelReport]
}

extension EventStore {
    public func feedback(ofUser user: String) async throws -> [StoredFeedback] {
        try await feedback(ofUser: user, type: nil)
    }

    /// ``rankingInputs(ofUser:asOf:times:)`` of every row, with its time.
    public func rankingInputs(ofUser user: String) async throws -> (
        feedback: [(type: String, itemID: String, timestamp: String)], hidden: Set<String>
    ) {
        try await rankingInputs(ofUser: user, asOf: "9999-12-31T23:59:59Z", times: true)
    }

    /// Items by number of feedback rows of `types` over all time, most first.
    public func popularItems(types: [String], count: Int) async throws -> [(itemID: String, count: Int)] {
        try await popularItems(types: types, count: count, since: "")
    }
}

/// A flow configuration recorded by `reckit config publish`.
public struct PublishedConfiguration: Sendable, Equatable {
    /// 1 for the first configuration published to the store, then one more each time.
    public var version: Int
    /// The TOML text, as the file held it.
    public var text: String
    public var publishedAt: String

    public init(version: Int, text: String, publishedAt: String) {
        self.version = version
        self.text = text
        self.publishedAt = publishedAt
    }
}

/// A model version recorded by `reckit train --publish` or `reckit trainer`.
public struct PublishedModel: Sendable, Equatable {
    /// 1 for the first model published to the store, then one more each time.
    public var version: Int
    /// The model directory's name under the shared models folder.
    public var name: String
    public var kind: String
    /// ISO 8601 time of publication.
    public var publishedAt: String
    /// Why it was published (the trainer's evaluation), as JSON text; empty if none.
    public var report: String

    public init(version: Int, name: String, kind: String, publishedAt: String, report: String) {
        self.version = version
        self.name = name
        self.kind = kind
        self.publishedAt = publishedAt
        self.report = report
    }
}

/// What `reckit db import` writes: users and items first, then feedback batch by batch (made on
/// demand, so a log of 10^8 events is never held as records).
public struct ImportRows: Sendable {
    public var users: [StoredUser]
    public var items: [StoredItem]
    /// The feedback rows, which may still be in the making on another thread while the users
    /// and items are written: the first call waits for them, and throws what making them threw.
    public var feedback: @Sendable () throws -> FeedbackBatches

    public init(
        users: [StoredUser], items: [StoredItem], feedback: @escaping @Sendable () throws -> FeedbackBatches
    ) {
        self.users = users
        self.items = items
        self.feedback = feedback
    }
}

/// The feedback rows of an ``ImportRows``, made a batch at a time.
public struct FeedbackBatches: Sendable {
    /// Total feedback rows over all batches.
    public var count: Int
    public var batchCount: Int
    /// The rows of batch `index` (0 ..< batchCount); no two rows of all batches share a key.
    public var batch: @Sendable (Int) -> [StoredFeedback]

    public init(count: Int, batchCount: Int, batch: @escaping @Sendable (Int) -> [StoredFeedback]) {
        self.count = count
        self.batchCount = batchCount
        self.batch = batch
    }
}

/// Opening a store by location.
public enum EventStores {
    /// Whether `location` names a PostgreSQL database (`postgres://` or `postgresql://`).
    public static func isPostgres(_ location: String) -> Bool {
        location.hasPrefix("postgres://") || location.hasPrefix("postgresql://")
    }

    /// A PostgreSQL store for a `postgres://user[:password]@host[:port]/database` URL, else the
    /// SQLite file at the path (created if missing). The schema is brought up to date.
    public static func open(_ location: String) async throws -> any EventStore {
        if isPostgres(location) { return try await PostgresEventStore(url: location) }
        return try SQLiteEventStore(path: location)
    }
}

/// Rules both backends share.
enum StoreRules {
    /// The bulk import's check of feedback rows: ``FieldRules``, except that a timestamp must
    /// already be in the store's form (as ``StoreImport`` writes it) instead of being rewritten.
    static func validate(_ feedback: [StoredFeedback]) throws {
        for (index, entry) in feedback.enumerated() {
            try FieldRules.identifier(entry.feedbackType, at: "[\(index)].FeedbackType")
            try FieldRules.identifier(entry.userID, at: "[\(index)].UserId")
            try FieldRules.identifier(entry.itemID, at: "[\(index)].ItemId")
            guard entry.value.isFinite else {
                throw StoreError.invalid(field: "[\(index)].Value", reason: "must be a finite number")
            }
            guard entry.timestamp.isEmpty || StoreTimestamp.isStoreForm(entry.timestamp) else {
                throw StoreError.invalid(
                    field: "[\(index)].Timestamp",
                    reason: "\"\(entry.timestamp)\" is not in the form 2026-01-02T15:04:05Z")
            }
            try FieldRules.text(entry.comment, at: "[\(index)].Comment")
        }
    }

    static func validate(_ users: [StoredUser]) throws { _ = try FieldRules.checked(users) }

    static func validate(_ items: [StoredItem]) throws {
        for (index, item) in items.enumerated() where try FieldRules.checked(item, at: "[\(index)]") != item {
            throw StoreError.invalid(field: "[\(index)].Timestamp", reason: "is not in the form 2026-01-02T15:04:05Z")
        }
    }

    static func encodeCursor(_ value: String) -> String { Data(value.utf8).base64EncodedString() }

    static func decodeCursor(_ cursor: String) throws -> String {
        guard !cursor.isEmpty else { return "" }
        guard let data = Data(base64Encoded: cursor), let text = String(data: data, encoding: .utf8),
            !text.utf8.contains(0)
        else { throw StoreError.badCursor }
        return text
    }

    static func categoriesText(_ categories: [String]) -> String {
        JSONValue.array(categories.map(JSONValue.string)).text
    }

    static func categories(fromText text: String) -> [String] {
        guard case .array(let values) = JSONValue(text: text) else { return [] }
        return values.compactMap { if case .string(let s) = $0 { return s } else { return nil } }
    }

    /// The JSON text a category's items contain, for a substring prefilter; ``inCategory(_:_:)``
    /// then drops the rare false match (a quoted category inside another's escaped text).
    static func categoryNeedle(_ category: String) -> String { JSONValue.string(category).text }

    static func inCategory(_ categoriesText: String, _ category: String) -> Bool {
        guard case .array(let values) = JSONValue(text: categoriesText) else { return false }
        return values.contains(.string(category))
    }

    /// A LIKE pattern matching `text` anywhere, with `%`, `_` and `\` escaped by `\`.
    static func containsPattern(_ text: String) -> String {
        let escaped = text.replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
        return "%\(escaped)%"
    }

    /// `values` without any value that a later one with the same key replaces, in their order:
    /// what one statement may write when a later row overwrites an earlier one (PostgreSQL
    /// refuses a statement that touches one row twice). ``StoreImport`` keeps the last event of
    /// each pair in a sorted order instead, where equal keys are adjacent and no set is needed.
    static func lastOfEach<T, Key: Hashable>(_ values: [T], key: (T) -> Key) -> [T] {
        var seen = Set<Key>()
        var kept: [T] = []
        for value in values.reversed() where seen.insert(key(value)).inserted { kept.append(value) }
        return kept.reversed()
    }

    /// The feedback key: (type, user, item).
    static func key(_ entry: StoredFeedback) -> [String] { [entry.feedbackType, entry.userID, entry.itemID] }

    static func now() -> String { StoreTimestamp.text(unixSeconds: Date().timeIntervalSince1970) }
}

/// Builds an interaction log from feedback rows streamed out of a store.
struct InteractionLogBuilder {
    private var users: [Int32] = []
    private var items: [Int32] = []
    private var ratings: [Float] = []
    private var timestamps: [Double] = []
    private var userIDs = IDMap()
    private var itemIDs = IDMap()
    private var timed = true

    mutating func append(user: String, item: String, value: Double, timestamp: String) {
        users.append(userIDs.insert(user))
        items.append(itemIDs.insert(item))
        ratings.append(Float(value))
        if let seconds = StoreTimestamp.unixSeconds(timestamp) { timestamps.append(seconds) } else { timed = false }
    }

    /// The log, its events in time order (then insertion order); without timestamps if any row
    /// lacks one.
    func build() -> InteractionLog {
        guard timed else {
            return InteractionLog(users: users, items: items, ratings: ratings, userIDs: userIDs, itemIDs: itemIDs)
        }
        let order = timestamps.indices.sorted { (timestamps[$0], $0) < (timestamps[$1], $1) }
        return InteractionLog(
            users: order.map { users[$0] }, items: order.map { items[$0] }, ratings: order.map { ratings[$0] },
            timestamps: order.map { timestamps[$0] }, userIDs: userIDs, itemIDs: itemIDs)
    }
}

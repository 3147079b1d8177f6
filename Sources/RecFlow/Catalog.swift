import Foundation
import RecStore

/// A value read from the store at most once per `ttl`, served stale while a newer one is read:
/// a request never waits for a refresh once a first value exists, and concurrent requests share
/// one read.
public actor Refreshing<Value: Sendable> {
    let ttl: Duration
    let read: @Sendable () async throws -> Value
    private var value: (Value, ContinuousClock.Instant)?
    private var pending: Task<Value, any Error>?

    public init(ttl: Duration, read: @escaping @Sendable () async throws -> Value) {
        self.ttl = ttl
        self.read = read
    }

    /// The newest value read; the first call waits for the first read.
    public func get() async throws -> Value {
        if let (current, at) = value {
            if ContinuousClock.now - at >= ttl, pending == nil { start() }
            return current
        }
        return try await (pending ?? start()).value
    }

    @discardableResult
    private func start() -> Task<Value, any Error> {
        let started = ContinuousClock.now
        let task = Task { [read] in try await read() }
        pending = task
        Task {
            let result = await task.result
            finish(result, at: started)
        }
        return task
    }

    private func finish(_ result: Result<Value, any Error>, at started: ContinuousClock.Instant) {
        pending = nil
        if case .success(let fresh) = result { value = (fresh, started) }
    }
}

/// What the rules and some sources know of each item: its categories, the words of its labels,
/// its time, read from the store's items (the whole table, page by page).
public struct Catalog: Sendable {
    public struct Item: Sendable {
        public var categories: [String]
        /// Every string in the item's labels: array elements, object keys whose value is not
        /// `false` or `null`, and string values (`["out_of_stock"]`, `{"out_of_stock": true}`).
        public var labels: Set<String>
        /// Unix seconds; nil when the item has no time.
        public var time: Double?
    }

    public var items: [String: Item] = [:]
    /// The items of each category, in the store's order.
    public var byCategory: [String: [String]] = [:]
    /// The items holding each label word.
    public var byLabel: [String: [String]] = [:]

    public init() {}

    public subscript(item: String) -> Item? { items[item] }

    /// Every item of `store`, read in pages of `pageSize`.
    public static func read(from store: any EventStore, pageSize: Int = 10_000) async throws -> Catalog {
        var catalog = Catalog()
        var cursor = ""
        repeat {
            let (page, next) = try await store.items(count: pageSize, after: cursor)
            for item in page { catalog.add(item) }
            cursor = next
        } while !cursor.isEmpty
        return catalog
    }

    public mutating func add(_ stored: StoredItem) {
        let item = Item(
            categories: stored.categories, labels: Self.words(stored.labels),
            time: StoreTimestamp.unixSeconds(stored.timestamp))
        items[stored.itemID] = item
        for category in item.categories { byCategory[category, default: []].append(stored.itemID) }
        for word in item.labels { byLabel[word, default: []].append(stored.itemID) }
    }

    static func words(_ labels: JSONValue) -> Set<String> {
        switch labels {
        case .string(let word): return [word]
        case .array(let values): return values.reduce(into: Set<String>()) { $0.formUnion(words($1)) }
        case .object(let fields):
            var found = Set<String>()
            for (key, value) in fields {
                if value != .bool(false) && value != .null { found.insert(key) }
                found.formUnion(words(value))
            }
            return found
        case .null, .bool, .number: return []
        }
    }
}

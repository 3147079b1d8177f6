import Foundation
import RecStore

/// The most popular items, read from the store at most once per `ttl`.
///
/// Popularity is a count over every positive feedback row (a `GROUP BY` of the whole log: about
/// 700 ms at 10^6 rows), far too slow for every cold-start request. One read serves every request
/// for `ttl`; after that the first request starts a new read in the background and every request
/// is answered from the old one until it lands (only a request deeper than any read so far waits,
/// and concurrent ones share that read). A read that took `d` is not repeated for `20 d`, so that
/// counting costs at most a twentieth of a core however large the log grows. A `ttl` of zero
/// reads the store every time.
public actor PopularItems {
    public typealias Entry = (itemID: String, count: Int)

    let ttl: Duration
    /// Items read at once, so that requests for a few more than last time still hit; a request
    /// for more reads the store (a scan of the whole log).
    public let depth: Int

    private struct Cached {
        var items: [Entry]
        var asked: Int
        var at: ContinuousClock.Instant
        var cost: Duration
    }
    private var cached: Cached?
    private var refresh: (asked: Int, task: Task<[Entry], any Error>)?

    /// Reads the `count` most popular items from the store.
    let read: @Sendable (_ count: Int) async throws -> [Entry]

    public init(ttl: Duration, depth: Int = 1_000, read: @escaping @Sendable (_ count: Int) async throws -> [Entry]) {
        self.ttl = ttl
        self.depth = depth
        self.read = read
    }

    /// Popularity over every row of `types`, or over the last `window` seconds of them.
    public init(store: any EventStore, types: [String], ttl: Duration, depth: Int = 1_000, window: Double? = nil) {
        self.init(ttl: ttl, depth: depth) { count in
            let since = window.map { StoreTimestamp.text(unixSeconds: Date().timeIntervalSince1970 - $0) } ?? ""
            return try await store.popularItems(types: types, count: count, since: since)
        }
    }

    /// The `count` most popular items, by number of positive feedback rows.
    public func top(_ count: Int) async throws -> [Entry] {
        guard ttl > .zero else { return try await read(count) }
        // A read that returned fewer items than it asked for holds every item.
        if let cached, cached.asked >= count || cached.items.count < cached.asked {
            if ContinuousClock.now - cached.at >= max(ttl, cached.cost * 20), refresh == nil {
                start(asked: cached.asked)
            }
            return Array(cached.items.prefix(count))
        }
        if let refresh, refresh.asked >= count { return Array(try await refresh.task.value.prefix(count)) }
        let task = start(asked: max(count, depth))
        return Array(try await task.value.prefix(count))
    }

    /// Starts a read of `asked` items; it becomes the cached one when it lands.
    @discardableResult
    private func start(asked: Int) -> Task<[Entry], any Error> {
        let started = ContinuousClock.now
        let task = Task { [read] in try await read(asked) }
        refresh = (asked, task)
        Task {
            let result = await task.result
            finish(result, asked: asked, started: started, task: task)
        }
        return task
    }

    private func finish(
        _ result: Result<[Entry], any Error>, asked: Int, started: ContinuousClock.Instant,
        task: Task<[Entry], any Error>
    ) {
        if refresh?.task == task { refresh = nil }
        guard case .success(let items) = result, (cached?.at).map({ $0 < started }) ?? true else { return }
        cached = Cached(items: items, asked: asked, at: started, cost: ContinuousClock.now - started)
    }
}

import Foundation
import RecStore
import Synchronization

/// Stores impressions off the request path (issue 47): a request appends its row to a buffer
/// under a lock and returns; a background task writes the buffer in one batch every
/// ``interval`` (100 ms), or as soon as it holds ``batchSize`` (500) rows. A batch that fails is
/// kept and retried (up to ``capacity`` rows; beyond that the oldest batch is dropped and counted),
/// and ``close()`` writes whatever is left, so a clean shutdown loses nothing.
///
/// Old impressions are deleted once an hour when a retention is set (every replica does it;
/// the deletes are idempotent).
public final class ImpressionRecorder: Sendable {
    public static let interval: Duration = .milliseconds(100)
    public static let batchSize = 500
    public static let capacity = 1_000_000
    static let retentionCheck: Double = 3_600

    let store: any EventStore
    let log: @Sendable (String) -> Void
    private struct State {
        var buffer: [StoredImpression] = []
        var dropped = 0
        var written = 0
        var retention: Double?
        var lastRetention = Date.distantPast
        var closed = false
    }
    private let state: Mutex<State>
    private let wake: AsyncStream<Void>.Continuation
    private let wakes: AsyncStream<Void>
    private let worker: Mutex<Task<Void, Never>?> = Mutex(nil)

    public init(store: any EventStore, retention: Double? = nil, log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.store = store
        self.log = log
        var initial = State()
        initial.retention = retention
        state = Mutex(initial)
        (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let task = Task { [weak self] in
            guard let self else { return }
            await self.run()
        }
        worker.withLock { $0 = task }
    }

    /// Queues `impression`; never waits for the store.
    public func add(_ impression: StoredImpression) {
        let full = state.withLock { state -> Bool in
            guard !state.closed else { return false }
            if state.buffer.count >= Self.capacity {
                // A batch at a time, so that a long outage costs one copy per batch, not per row.
                state.buffer.removeFirst(Self.batchSize)
                state.dropped += Self.batchSize
            }
            state.buffer.append(impression)
            return state.buffer.count == Self.batchSize
        }
        if full { wake.yield() }
    }

    /// Impressions written, dropped (the buffer full while the store failed) and waiting.
    public var counts: (written: Int, dropped: Int, pending: Int) {
        state.withLock { ($0.written, $0.dropped, $0.buffer.count) }
    }

    public func setRetention(_ seconds: Double?) { state.withLock { $0.retention = seconds } }

    private func run() async {
        let ticker = Task { [wake] in
            while !Task.isCancelled {
                try? await Task.sleep(for: Self.interval)
                wake.yield()
            }
        }
        defer { ticker.cancel() }
        for await _ in wakes {
            await flush()
            await applyRetention()
            if state.withLock({ $0.closed }) { return }
        }
    }

    /// Writes every queued impression, in batches of ``batchSize``; returns whether all were.
    @discardableResult
    public func flush() async -> Bool {
        while true {
            let batch = state.withLock { state -> [StoredImpression] in
                let batch = Array(state.buffer.prefix(Self.batchSize))
                state.buffer.removeFirst(batch.count)
                return batch
            }
            if batch.isEmpty { return true }
            do {
                _ = try await store.insertImpressions(batch)
                state.withLock { $0.written += batch.count }
            } catch {
                // Back at the front, for the next round; a row stored before the failure is
                // kept once by its request id.
                state.withLock { $0.buffer.insert(contentsOf: batch, at: 0) }
                log("impressions: \(batch.count) not written yet: \(error)")
                return false
            }
        }
    }

    /// Deletes impressions older than the retention, at most once per ``retentionCheck``.
    func applyRetention() async {
        let now = Date()
        let retention = state.withLock { state -> Double? in
            guard let retention = state.retention, now.timeIntervalSince(state.lastRetention) >= Self.retentionCheck
            else { return nil }
            state.lastRetention = now
            return retention
        }
        guard let retention else { return }
        do {
            let cutoff = StoreTimestamp.text(unixSeconds: now.timeIntervalSince1970 - retention)
            let deleted = try await store.deleteImpressions(before: cutoff)
            if deleted > 0 { log("impressions: deleted \(deleted) shown before \(cutoff)") }
        } catch {
            log("impressions: retention failed: \(error)")
        }
    }

    /// Stops the background task after writing everything queued (three tries).
    public func close() async {
        state.withLock { $0.closed = true }
        wake.yield()
        let task = worker.withLock { $0 }
        await task?.value
        for _ in 0..<3 where !(await flush()) { try? await Task.sleep(for: .milliseconds(200)) }
        wake.finish()
    }
}

import Foundation
import GRDB
import Synchronization

/// Group commit: concurrent feedback writes share one transaction.
extension EventStore {
    /// ``insertFeedback(_:overwrite:)`` for concurrent callers (the server): writes that arrive
    /// while a commit is running are committed together in the next transaction (group commit),
    /// on a queue of their own, and each caller resumes once the transaction holding its rows has
    /// committed. A transaction that fails is retried write by write, so one failing write
    /// cannot fail the others.
    ///
    /// - Returns: The rows inserted or replaced by this caller's write.
    public func commitFeedback(_ feedback: [StoredFeedback], overwrite: Bool) async throws -> Int {
        try Self.validate(feedback)
        return try await withCheckedThrowingContinuation { continuation in
            let write = PendingWrite(feedback: feedback, overwrite: overwrite, continuation: continuation)
            let startsCommitting = pending.withLock { state in
                state.writes.append(write)
                defer { state.committing = true }
                return !state.committing
            }
            if startsCommitting { writeQueue.async { self.commitPending() } }
        }
    }

    /// Commits pending writes, a group per transaction, until none are left.
    func commitPending() {
        while true {
            let group = pending.withLock { state in
                defer { state.writes = [] }
                if state.writes.isEmpty { state.committing = false }
                return state.writes
            }
            if group.isEmpty { return }
            do {
                let changed = try database.write { db in
                    try group.map { try Self.insert($0.feedback, overwrite: $0.overwrite, db) }
                }
                for (write, count) in zip(group, changed) { write.continuation.resume(returning: count) }
            } catch {
                for write in group {
                    do {
                        let changed = try database.write { db in
                            try Self.insert(write.feedback, overwrite: write.overwrite, db)
                        }
                        write.continuation.resume(returning: changed)
                    } catch {
                        write.continuation.resume(throwing: error)
                    }
                }
            }
        }
    }

    struct PendingWrite: Sendable {
        var feedback: [StoredFeedback]
        var overwrite: Bool
        var continuation: CheckedContinuation<Int, any Error>
    }

    struct PendingWrites: Sendable {
        var writes: [PendingWrite] = []
        /// Whether `commitPending` is scheduled or running.
        var committing = false
    }
}

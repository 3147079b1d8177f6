import Foundation
import GRDB
import Synchronization

/// Feedback writes waiting for the next group commit, shared by both backends: a write that
/// arrives while a commit runs joins the next transaction, and its caller resumes once that
/// transaction has committed. A transaction that fails is retried write by write, so one
/// failing write cannot fail the others.
final class GroupCommitQueue: Sendable {
    struct Write: Sendable {
        var feedback: [StoredFeedback]
        var overwrite: Bool
        var continuation: CheckedContinuation<Int, any Error>
    }

    private struct State {
        var writes: [Write] = []
        /// Whether a committer is scheduled or running.
        var committing = false
    }

    private let state = Mutex(State())

    /// Queues `write`; returns true when the caller must start a committer (none is running).
    func enqueue(_ write: Write) -> Bool {
        state.withLock { state in
            state.writes.append(write)
            defer { state.committing = true }
            return !state.committing
        }
    }

    /// The writes queued since the last call; empty (and the committer marked stopped) when none.
    func takeGroup() -> [Write] {
        state.withLock { state in
            defer { state.writes = [] }
            if state.writes.isEmpty { state.committing = false }
            return state.writes
        }
    }
}

/// Group commit on SQLite: a serial queue of its own commits the groups.
extension SQLiteEventStore {
    public func commitFeedback(_ feedback: [StoredFeedback], overwrite: Bool) async throws -> Int {
        let feedback = try FieldRules.checked(feedback)
        return try await withCheckedThrowingContinuation { continuation in
            let write = GroupCommitQueue.Write(feedback: feedback, overwrite: overwrite, continuation: continuation)
            if pending.enqueue(write) { writeQueue.async { self.commitPending() } }
        }
    }

    /// Commits pending writes, a group per transaction, until none are left.
    func commitPending() {
        while true {
            let group = pending.takeGroup()
            if group.isEmpty { return }
            do {
                let changed = try database.write { db in
                    try group.map { try Self.insert($0.feedback, overwrite: $0.overwrite, db) }
                }
                for (write, count) in zip(group, changed) { write.continuation.resume(returning: count) }
            } catch {
                for write in group {
                    write.continuation.resume(
                        with: Result {
                            try database.write { db in try Self.insert(write.feedback, overwrite: write.overwrite, db) }
                        })
                }
            }
        }
    }
}

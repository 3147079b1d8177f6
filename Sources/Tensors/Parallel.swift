import Dispatch
import Foundation

/// Splits loops across the machine's cores.
public enum Parallel {
    /// Number of worker threads; the machine's active cores unless `RECKIT_THREADS` says otherwise.
    public static let threadCount: Int = {
        if let text = ProcessInfo.processInfo.environment["RECKIT_THREADS"], let value = Int(text), value > 0 {
            return value
        }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// Calls `body` on disjoint chunks that together cover `range`, concurrently when the
    /// range is longer than `minimumChunk`.
    ///
    /// - Parameters:
    ///   - range: The indices to cover.
    ///   - minimumChunk: The fewest indices worth a thread of their own.
    ///   - body: Work on one chunk; called from several threads at once, so it must only write
    ///     to memory that belongs to its chunk.
    public static func forEachChunk(
        of range: Range<Int>, minimumChunk: Int = 1, _ body: (Range<Int>) -> Void
    ) {
        let count = range.count
        guard count > 0 else { return }
        let chunks = min(threadCount * 4, max(1, count / max(1, minimumChunk)))
        if chunks == 1 || threadCount == 1 {
            body(range)
            return
        }
        withoutActuallyEscaping(body) { body in
            // The caller promises chunks touch disjoint memory (see above), which is what makes
            // handing a non-Sendable closure to several threads sound here.
            nonisolated(unsafe) let work = body
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                let start = range.lowerBound + count * chunk / chunks
                let end = range.lowerBound + count * (chunk + 1) / chunks
                if start < end { work(start..<end) }
            }
        }
    }
}

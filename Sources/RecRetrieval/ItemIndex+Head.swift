import Foundation
import RecModels
import Synchronization
import Tensors

/// The items with the largest norms, scored exactly on every search.
///
/// Factor models trained on long-tail logs give a few thousand items norms hundreds of times the
/// median (ALS on a 3M-event log: median 0.01, largest 47), and those items fill most users' top
/// 10. A graph built by inner product links each item to a handful of them and prunes the rest
/// (hnswlib's neighbour heuristic keeps one of several long, mutually close items), so some of
/// them are out of reach of any search width. Scored exactly, they cannot be missed. And no item
/// outside the head scores above `|q| · bound` (Cauchy–Schwarz), so when the head's `count`-th
/// best already does, the head's answer is the exact one and the graph is not searched at all.
struct ExactHead: Sendable {
    /// Head items, largest norm first.
    let labels: [Int32]
    /// Their vectors, row after row.
    let vectors: [Float]
    let columns: Int
    /// The largest norm outside the head (0 when the head holds every item).
    let bound: Float
    /// Whether the head holds every item the index was built with.
    let complete: Bool

    init(items: Matrix<Float>, norms: [Float], size: Int) {
        let chosen = TopK.select(min(size, items.rows) + 1, from: norms)
        let head = chosen.prefix(min(size, items.rows))
        labels = head.map(\.item)
        var vectors = [Float]()
        vectors.reserveCapacity(head.count * items.columns)
        for entry in head { vectors.append(contentsOf: items.row(Int(entry.item))) }
        self.vectors = vectors
        columns = items.columns
        complete = head.count == items.rows
        bound = complete ? 0 : (chosen.last?.score ?? 0)
    }

    /// The best `count` head items for `query` that are not `removed` and that `isAllowed` accepts,
    /// scored exactly, best first.
    func best(
        _ query: ArraySlice<Float>, count: Int, removed: Set<Int32>, where isAllowed: (Int32) -> Bool
    ) -> [ScoredItem] {
        guard !labels.isEmpty, count > 0 else { return [] }
        var scores = [Float](repeating: 0, count: labels.count)
        query.withUnsafeBufferPointer { q in
            vectors.withUnsafeBufferPointer { v in
                guard let q = q.baseAddress, let v = v.baseAddress else { return }
                for row in 0..<labels.count { scores[row] = FactorKernels.dot(q, v + row * columns, columns) }
            }
        }
        // The filter is called for the leading rows only: a user's seen items are few beside the head.
        var wanted = 4 * count + 16
        while true {
            let leading = TopK.select(wanted, from: scores)
            let kept = leading.filter { row in
                let label = labels[Int(row.item)]
                return (removed.isEmpty || !removed.contains(label)) && isAllowed(label)
            }.prefix(count)
            if kept.count == count || wanted >= labels.count {
                return kept.map { ScoredItem(item: labels[Int($0.item)], score: $0.score) }
            }
            wanted *= 4
        }
    }
}

/// The labels taken out of results (``ItemIndex/setRemoved(_:_:)``), for the head's exact scoring.
final class RemovedLabels: Sendable {
    private let labels = Mutex<Set<Int32>>([])

    func set(_ label: Int32, _ removed: Bool) {
        labels.withLock { labels in
            if removed {
                labels.insert(label)
            } else {
                labels.remove(label)
            }
        }
    }

    var current: Set<Int32> { labels.withLock { $0 } }
}

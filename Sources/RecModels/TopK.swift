import HeapModule

/// Partial selection of the best items, without sorting every score.
public enum TopK {
    private struct Entry: Comparable {
        let score: Float
        let item: Int32
        // The heap's minimum is the entry to evict: the lowest score, and among equal scores the
        // highest index, so that ties resolve to lower indices first (a stable, documented order).
        static func < (a: Entry, b: Entry) -> Bool { a.score != b.score ? a.score < b.score : a.item > b.item }
    }

    /// The `count` highest-scoring items, best first; ties go to the lower index. NaN scores are
    /// never selected.
    ///
    /// - Parameters:
    ///   - count: How many to return (fewer if fewer items qualify).
    ///   - scores: One score per item.
    ///   - isAllowed: Filters items (masking); called once per item.
    /// - Complexity: O(n log count)
    public static func select(_ count: Int, from scores: [Float], where isAllowed: (Int32) -> Bool = { _ in true })
        -> [ScoredItem]
    {
        scores.withUnsafeBufferPointer { select(count, from: $0, where: isAllowed) }
    }

    /// ``select(_:from:where:)`` among the `candidates` of a row of `scores`: the same result as
    /// over the whole row when every other item scores below the selected ones.
    ///
    /// - Complexity: O(candidates log count)
    static func select(
        _ count: Int, among candidates: UnsafeBufferPointer<Int32>, scores: UnsafeBufferPointer<Float>
    ) -> [ScoredItem] {
        guard count > 0 else { return [] }
        var heap = Heap<Entry>()
        heap.reserveCapacity(count + 1)
        for item in candidates {
            let entry = Entry(score: scores[Int(item)], item: item)
            guard !entry.score.isNaN else { continue }
            if heap.count == count, let worst = heap.min, !(worst < entry) { continue }
            heap.insert(entry)
            if heap.count > count { heap.removeMin() }
        }
        var result: [ScoredItem] = []
        result.reserveCapacity(heap.count)
        while let best = heap.popMax() { result.append(ScoredItem(item: best.item, score: best.score)) }
        return result
    }

    /// ``select(_:from:where:)`` over a buffer.
    public static func select(
        _ count: Int, from scores: UnsafeBufferPointer<Float>, where isAllowed: (Int32) -> Bool = { _ in true }
    ) -> [ScoredItem] {
        guard count > 0 else { return [] }
        var heap = Heap<Entry>()
        heap.reserveCapacity(count + 1)
        for index in 0..<scores.count {
            let score = scores[index]
            guard !score.isNaN else { continue }
            if heap.count == count, let worst = heap.min, !(worst < Entry(score: score, item: Int32(index))) {
                continue
            }
            guard isAllowed(Int32(index)) else { continue }
            heap.insert(Entry(score: score, item: Int32(index)))
            if heap.count > count { heap.removeMin() }
        }
        var result: [ScoredItem] = []
        result.reserveCapacity(heap.count)
        while let best = heap.popMax() { result.append(ScoredItem(item: best.item, score: best.score)) }
        return result
    }

    /// The `count` best of items already scored, best first, in ``select(_:from:where:)``'s
    /// order (ties to the lower index; NaN scores never selected): for candidate lists, such as
    /// an ANN index's, that are not one score per item.
    ///
    /// - Complexity: O(items log count)
    public static func best(_ count: Int, of items: [ScoredItem]) -> [ScoredItem] {
        guard count > 0 else { return [] }
        var heap = Heap<Entry>()
        heap.reserveCapacity(count + 1)
        for item in items where !item.score.isNaN {
            let entry = Entry(score: item.score, item: item.item)
            if heap.count == count, let worst = heap.min, !(worst < entry) { continue }
            heap.insert(entry)
            if heap.count > count { heap.removeMin() }
        }
        var result: [ScoredItem] = []
        result.reserveCapacity(heap.count)
        while let best = heap.popMax() { result.append(ScoredItem(item: best.item, score: best.score)) }
        return result
    }
}

/// Baskets: the orders (or sessions) a user's events come in, for the next-basket protocol and
/// the repeat-aware models.
extension InteractionLog {
    /// Each user's baskets, oldest first, each a list of event indices in time then file order.
    ///
    /// A basket is the events of one user with one basket value (``baskets``) or, without basket
    /// values, with one timestamp; without either, each event is a basket of its own. Baskets
    /// are ordered by their earliest timestamp, ties by the file position of their first event.
    /// - Complexity: O(events · log events).
    public func basketsByUser() -> [[[Int]]] {
        chronologicalEventsByUser().map { events in
            var basketOfKey: [Int64: Int] = [:]
            var grouped: [[Int]] = []
            for index in events {
                let key: Int64
                if let baskets {
                    key = Int64(baskets[index])
                } else if let timestamps {
                    key = Int64(bitPattern: timestamps[index].bitPattern)
                } else {
                    key = Int64(index)
                }
                if let position = basketOfKey[key] {
                    grouped[position].append(index)
                } else {
                    basketOfKey[key] = grouped.count
                    grouped.append([index])
                }
            }
            return grouped
        }
    }

    /// For each event, the number of its basket among its user's baskets (0 for the oldest):
    /// what a model needs to decay by baskets.
    public func basketNumbers() -> [Int32] {
        var numbers = [Int32](repeating: 0, count: count)
        for baskets in basketsByUser() {
            for (number, basket) in baskets.enumerated() {
                for index in basket { numbers[index] = Int32(number) }
            }
        }
        return numbers
    }
}

/// How much of a log is buying again: what `data stats` reports for repeat-aware models.
extension DataStatistics {
    /// Repeat figures of a log, each user's events in time order.
    public struct Repeats: Sendable, Equatable, Codable {
        /// Events whose item the user had already interacted with before.
        public var repeatEvents: Int
        /// Users with at least two events, and those whose last event repeats an earlier item
        /// (the `seq-loo` target).
        public var usersWithTwoEvents: Int
        public var repeatLastEvents: Int
        /// Baskets in all (``InteractionLog/basketsByUser()``); users with at least two baskets,
        /// and the mean share of their last basket's distinct items bought in an earlier basket
        /// (the `next-basket` target).
        public var baskets: Int
        public var usersWithTwoBaskets: Int
        public var lastBasketRepeatShare: Double
    }

    /// The repeat figures of `log`.
    /// - Complexity: O(events · log events) time; one user's items in memory at a time.
    public static func repeats(_ log: InteractionLog) -> Repeats {
        var result = Repeats(
            repeatEvents: 0, usersWithTwoEvents: 0, repeatLastEvents: 0, baskets: 0, usersWithTwoBaskets: 0,
            lastBasketRepeatShare: 0)
        var shareSum = 0.0
        for baskets in log.basketsByUser() {
            result.baskets += baskets.count
            var seen = Set<Int32>()
            var events = 0
            var lastEventRepeats = false
            for (number, basket) in baskets.enumerated() {
                let before = seen
                for index in basket {
                    let item = log.items[index]
                    lastEventRepeats = seen.contains(item)
                    if lastEventRepeats { result.repeatEvents += 1 }
                    seen.insert(item)
                    events += 1
                }
                if number == baskets.count - 1 && number > 0 {
                    let distinct = Set(basket.map { log.items[$0] })
                    shareSum += Double(distinct.filter { before.contains($0) }.count) / Double(distinct.count)
                    result.usersWithTwoBaskets += 1
                }
            }
            if events >= 2 {
                result.usersWithTwoEvents += 1
                if lastEventRepeats { result.repeatLastEvents += 1 }
            }
        }
        result.lastBasketRepeatShare =
            result.usersWithTwoBaskets > 0 ? shareSum / Double(result.usersWithTwoBaskets) : 0
        return result
    }
}

/// Merging the sources' proposals into one list (`[recommend.ranker] merge`), each item once,
/// with every source that proposed it.
public enum Merge {
    /// One source's proposals, best first.
    public struct Proposals: Sendable {
        public var source: String
        public var proposals: [Proposal]

        public init(source: String, proposals: [Proposal]) {
            self.source = source
            self.proposals = proposals
        }
    }

    /// Every proposed item once, in the order first proposed, with its origins in the sources'
    /// order (scores 0), and each list's proposals as positions in that array.
    static func merged(_ lists: [Proposals]) -> (items: [FlowItem], positions: [[Int]]) {
        var items: [FlowItem] = []
        var position: [String: Int] = [:]
        position.reserveCapacity(lists.reduce(0) { $0 + $1.proposals.count })
        let positions = lists.map { list in
            list.proposals.enumerated().map { rank, proposal in
                let origin = FlowItem.Origin(
                    source: list.source, score: proposal.score, rank: rank, reason: proposal.reason)
                if let at = position[proposal.itemID] {
                    items[at].origins.append(origin)
                    return at
                }
                position[proposal.itemID] = items.count
                items.append(FlowItem(itemID: proposal.itemID, score: 0, origins: [origin]))
                return items.count - 1
            }
        }
        return (items, positions)
    }

    /// Weighted score fusion: each source's scores are scaled to [0, 1] by their minimum and
    /// maximum in this request (all 1 when they are equal), and an item's score is the sum over
    /// the sources that proposed it of weight × scaled score. Best first; ties keep the order in
    /// which the sources proposed them.
    public static func fusion(_ lists: [Proposals], weights: [String: Double]) -> [FlowItem] {
        var (items, positions) = merged(lists)
        for (list, positions) in zip(lists, positions) {
            let scores = list.proposals.map(\.score)
            guard let low = scores.min(), let high = scores.max() else { continue }
            let weight = Float(weights[list.source] ?? 1)
            for (score, at) in zip(scores, positions) {
                items[at].score += weight * (high > low ? (score - low) / (high - low) : 1)
            }
        }
        return stableSorted(items)
    }

    /// Round robin: the sources take turns in the configuration's order, each placing its best
    /// item not yet placed, until every source is out of items or has placed its quota
    /// (unlimited without one). Scores count down from the list's length, so later stages keep
    /// the order unless they change it.
    public static func roundRobin(_ lists: [Proposals], quotas: [String: Int]) -> [FlowItem] {
        let (items, positions) = merged(lists)
        var placed = [Bool](repeating: false, count: items.count)
        var order: [Int] = []
        var next = [Int](repeating: 0, count: lists.count)
        var used = [Int](repeating: 0, count: lists.count)
        var progress = true
        while progress {
            progress = false
            for (index, list) in lists.enumerated() where used[index] < (quotas[list.source] ?? .max) {
                while next[index] < positions[index].count {
                    let at = positions[index][next[index]]
                    next[index] += 1
                    if !placed[at] {
                        placed[at] = true
                        order.append(at)
                        used[index] += 1
                        progress = true
                        break
                    }
                }
            }
        }
        return order.enumerated().map { rank, at in
            var item = items[at]
            item.score = Float(order.count - rank)
            return item
        }
    }

    /// `items` best first by score; equal scores keep their order.
    static func stableSorted(_ items: [FlowItem]) -> [FlowItem] {
        items.enumerated().sorted { ($0.element.score, -$0.offset) > ($1.element.score, -$1.offset) }.map(\.element)
    }
}

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

    /// Every proposed item once, with its origins in the sources' order.
    static func origins(_ lists: [Proposals]) -> (order: [String], origins: [String: [FlowItem.Origin]]) {
        var order: [String] = []
        var origins: [String: [FlowItem.Origin]] = [:]
        for list in lists {
            for (rank, proposal) in list.proposals.enumerated() {
                let origin = FlowItem.Origin(
                    source: list.source, score: proposal.score, rank: rank, reason: proposal.reason)
                if origins[proposal.itemID] == nil { order.append(proposal.itemID) }
                origins[proposal.itemID, default: []].append(origin)
            }
        }
        return (order, origins)
    }

    /// Weighted score fusion: each source's scores are scaled to [0, 1] by their minimum and
    /// maximum in this request (all 1 when they are equal), and an item's score is the sum over
    /// the sources that proposed it of weight × scaled score. Best first; ties keep the order in
    /// which the sources proposed them.
    public static func fusion(_ lists: [Proposals], weights: [String: Double]) -> [FlowItem] {
        let (order, origins) = origins(lists)
        var scaled: [String: Float] = [:]
        for list in lists {
            let scores = list.proposals.map(\.score)
            guard let low = scores.min(), let high = scores.max() else { continue }
            let weight = Float(weights[list.source] ?? 1)
            for proposal in list.proposals {
                let unit = high > low ? (proposal.score - low) / (high - low) : 1
                scaled[proposal.itemID, default: 0] += weight * unit
            }
        }
        let items = order.map { FlowItem(itemID: $0, score: scaled[$0] ?? 0, origins: origins[$0] ?? []) }
        return stableSorted(items)
    }

    /// Round robin: the sources take turns in the configuration's order, each placing its best
    /// item not yet placed, until every source is out of items or has placed its quota
    /// (unlimited without one). Scores count down from the list's length, so later stages keep
    /// the order unless they change it.
    public static func roundRobin(_ lists: [Proposals], quotas: [String: Int]) -> [FlowItem] {
        let (_, origins) = origins(lists)
        var placed = Set<String>()
        var order: [String] = []
        var next = [Int](repeating: 0, count: lists.count)
        var used = [Int](repeating: 0, count: lists.count)
        var progress = true
        while progress {
            progress = false
            for (index, list) in lists.enumerated() where used[index] < (quotas[list.source] ?? .max) {
                while next[index] < list.proposals.count {
                    let item = list.proposals[next[index]].itemID
                    next[index] += 1
                    if placed.insert(item).inserted {
                        order.append(item)
                        used[index] += 1
                        progress = true
                        break
                    }
                }
            }
        }
        return order.enumerated().map { position, item in
            FlowItem(itemID: item, score: Float(order.count - position), origins: origins[item] ?? [])
        }
    }

    /// `items` best first by score; equal scores keep their order.
    static func stableSorted(_ items: [FlowItem]) -> [FlowItem] {
        items.enumerated().sorted { ($0.element.score, -$0.offset) > ($1.element.score, -$1.offset) }.map(\.element)
    }
}

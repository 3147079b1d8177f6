import Foundation
import RecStore

/// One recommendation request as the flow sees it: the user's state, read once from the store,
/// and what the caller asked for.
public struct FlowRequest: Sendable {
    /// The user, or nil for an anonymous session.
    public var user: String?
    /// The user's positive items, oldest first (repeats allowed).
    public var history: [String]
    /// The basket of each history item, numbered from the oldest: rows with one timestamp share
    /// a basket.
    public var baskets: [Int32]
    /// Every item the user touched, and whether any of that feedback was positive: these are
    /// not shown again, or with replacement shown with a decayed score.
    public var touched: [String: Bool]
    /// Items no one is shown.
    public var hidden: Set<String>
    /// With a category in the request, the items of that category (nothing else is shown).
    public var allowed: Set<String>?
    /// The request's category, if any.
    public var category: String?
    public var count: Int
    public var offset: Int
    /// The request's time.
    public var now: Date

    public init(
        user: String?, history: [String], baskets: [Int32], touched: [String: Bool], hidden: Set<String>,
        allowed: Set<String>? = nil, category: String? = nil, count: Int, offset: Int = 0, now: Date = Date()
    ) {
        self.user = user
        self.history = history
        self.baskets = baskets
        self.touched = touched
        self.hidden = hidden
        self.allowed = allowed
        self.category = category
        self.count = count
        self.offset = offset
        self.now = now
    }

    /// How many items the flow must produce before the offset is dropped.
    public var wanted: Int { count + offset }

    /// A request from a user's feedback rows (oldest first, as the store gives them): rows of
    /// `isPositive` types form the history; rows timestamped after `now` (an impression written
    /// back with a delay) do not count yet.
    public static func from(
        feedback: [(type: String, itemID: String, timestamp: String)], user: String?, hidden: Set<String>,
        isPositive: (String) -> Bool, count: Int, offset: Int = 0, now: Date = Date()
    ) -> FlowRequest {
        var history: [String] = []
        var times: [String] = []
        var touched: [String: Bool] = [:]
        for row in current(feedback, now: now) {
            let positive = isPositive(row.type)
            touched[row.itemID] = (touched[row.itemID] ?? false) || positive
            guard positive else { continue }
            history.append(row.itemID)
            times.append(row.timestamp)
        }
        return FlowRequest(
            user: user, history: history, baskets: basketNumbers(times), touched: touched, hidden: hidden,
            count: count, offset: offset, now: now)
    }

    /// The rows (in time order) timestamped at or before `now`: a row written back with a delay
    /// (an impression) counts from its time on. Only the newest rows are compared.
    public static func current(_ rows: [(type: String, itemID: String, timestamp: String)], now: Date = Date())
        -> ArraySlice<(type: String, itemID: String, timestamp: String)>
    {
        let cutoff = StoreTimestamp.text(unixSeconds: now.timeIntervalSince1970)
        var end = rows.count
        while end > 0 && rows[end - 1].timestamp > cutoff { end -= 1 }
        return rows[..<end]
    }

    /// Basket numbers of rows in time order: a row starts a new basket when its timestamp differs
    /// from the previous row's, or is empty (unknown).
    public static func basketNumbers(_ timestamps: [String]) -> [Int32] {
        var numbers: [Int32] = []
        numbers.reserveCapacity(timestamps.count)
        for (index, time) in timestamps.enumerated() {
            let same = index > 0 && !time.isEmpty && time == timestamps[index - 1]
            numbers.append(index == 0 ? 0 : numbers[index - 1] + (same ? 0 : 1))
        }
        return numbers
    }

    /// The user's newest `count` distinct positive items, newest first.
    public func recentItems(_ count: Int) -> [String] {
        var seen = Set<String>()
        var recent: [String] = []
        for item in history.reversed() where seen.insert(item).inserted {
            recent.append(item)
            if recent.count == count { break }
        }
        return recent
    }

    /// Whether `item` may be shown at all: not hidden, inside the request's category.
    public func isShowable(_ item: String) -> Bool {
        !hidden.contains(item) && (allowed?.contains(item) ?? true)
    }
}

/// Why a source proposed an item, kept as its parts and written out (``text``) only for the
/// items an answer shows: formatting a sentence for each of a few hundred candidates cost more
/// than ranking them.
public enum Reason: Sendable, Equatable {
    /// A model's score.
    case score(source: String, score: Float)
    /// A neighbour of a history item (its title).
    case like(String)
    /// Items of the most similar users.
    case similarUsers(users: Int, of: Int)
    /// Popular: the count, where (`" in Drama"` or empty) and over which time.
    case popular(count: Int, scope: String, window: String)
    /// New: the item's time.
    case new(String)
    /// Bought before: how often, and how many baskets ago the last time.
    case bought(times: Int, basketsAgo: Int)
    /// An outside recommender's answer.
    case external(String)
    /// Any other sentence.
    case text(String)

    /// A short sentence a person can read: `like Toy Story (1995), which you liked`.
    public var text: String {
        switch self {
        case .score(let source, let score): return "\(source) scores it \(String(format: "%.3g", Double(score)))"
        case .like(let title): return "like \(title), which you liked"
        case .similarUsers(let users, let of): return "liked by \(users) of the \(of) users most like you"
        case .popular(let count, let scope, let window): return "popular\(scope): \(count) \(window)"
        case .new(let time): return "new: \(time)"
        case .bought(let times, let ago):
            let when = ago == 0 ? "in the last basket" : "last \(ago) basket\(ago == 1 ? "" : "s") ago"
            return "bought \(times) time\(times == 1 ? "" : "s"), \(when)"
        case .external(let source): return "from \(source)"
        case .text(let text): return text
        }
    }
}

/// What one source proposes: an item, the source's own score for it and why.
public struct Proposal: Sendable, Equatable {
    public var itemID: String
    public var score: Float
    public var reason: Reason

    public init(itemID: String, score: Float, reason: Reason) {
        self.itemID = itemID
        self.score = score
        self.reason = reason
    }
}

/// One recommended item, with where it came from.
public struct FlowItem: Sendable, Equatable {
    /// A source that proposed the item: its name, its score and rank (0: its best) in that
    /// source, and its reason.
    public struct Origin: Sendable, Equatable {
        public var source: String
        public var score: Float
        public var rank: Int
        public var reason: Reason
    }

    public var itemID: String
    /// The flow's score: the merge's, then changed by the ranker and the rules.
    public var score: Float
    /// Every source that proposed it, in the configuration's order.
    public var origins: [Origin]

    public init(itemID: String, score: Float, origins: [Origin]) {
        self.itemID = itemID
        self.score = score
        self.origins = origins
    }
}

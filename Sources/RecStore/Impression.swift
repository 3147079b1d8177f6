import Foundation

/// One answer the server gave (issue 47): which request, experiment and arm, for which user,
/// the items in their positions, and when. Positive feedback on a shown item from `time` up to
/// (not including) `until` counts for the impression's arm, once: for the newest impression
/// that showed the item before it.
public struct StoredImpression: Sendable, Equatable {
    /// The answer's `X-Request-Id`; unique, so a batch written twice stores each row once.
    public var requestID: String
    /// Empty outside an experiment (impressions recorded with `record = "always"`).
    public var experiment: String
    public var arm: String
    /// Empty for an anonymous session or a neighbours answer.
    public var userID: String
    /// `recommend`, `neighbors` or `session`.
    public var route: String
    /// The items in the order shown.
    public var items: [String]
    /// The position of `items[0]` (1 for the top; `offset + 1` for a later page).
    public var firstPosition: Int
    /// Store-form times (`2026-12-01T10:00:00Z`): shown at `time`, attributed until `until`.
    public var time: String
    public var until: String

    public init(
        requestID: String, experiment: String, arm: String, userID: String, route: String, items: [String],
        firstPosition: Int = 1, time: String, until: String
    ) {
        self.requestID = requestID
        self.experiment = experiment
        self.arm = arm
        self.userID = userID
        self.route = route
        self.items = items
        self.firstPosition = firstPosition
        self.time = time
        self.until = until
    }

    /// The gain of a click at `position` (1 for the top): `1 / log2(position + 1)`, NDCG's
    /// discount, stored with each shown item so that SQL sums it without a logarithm.
    public static func gain(atPosition position: Int) -> Double { 1 / Foundation.log2(Double(position) + 1) }
}

/// One user's figures in one arm on one UTC day (the impression's day), attributed at read
/// time: what the experiment's results are made from.
public struct ExperimentUserDay: Sendable, Equatable {
    public var arm: String
    public var userID: String
    /// `2026-12-01`.
    public var day: String
    public var impressions: Int
    /// Shown items with positive feedback of a click type within the window (each shown item
    /// of each impression once).
    public var clicks: Int
    /// Likewise for the conversion types.
    public var conversions: Int
    /// `Σ 1 / log2(position + 1)` over the clicked items.
    public var gain: Double

    public init(
        arm: String, userID: String, day: String, impressions: Int, clicks: Int, conversions: Int, gain: Double
    ) {
        self.arm = arm
        self.userID = userID
        self.day = day
        self.impressions = impressions
        self.clicks = clicks
        self.conversions = conversions
        self.gain = gain
    }
}

/// An experiment's definition as servers record it (JSON text), so that a report needs only
/// the store.
public struct StoredExperiment: Sendable, Equatable {
    public var name: String
    public var definition: String
    /// Store-form time of the last server start or reload that recorded it.
    public var updatedAt: String

    public init(name: String, definition: String, updatedAt: String = "") {
        self.name = name
        self.definition = definition
        self.updatedAt = updatedAt
    }
}

/// The SQL both backends share.
enum ImpressionSQL {
    /// An impression's items as SQLite's `impressions.items` holds them: a JSON array of strings.
    static func itemsText(_ items: [String]) -> String { JSONValue.array(items.map(JSONValue.string)).text }

    /// A row of an attribution read: with `kind` 0, the impressions of one arm, user and day;
    /// with `kind` 1, the attributed clicks and conversions at one position of those impressions.
    struct OutcomeRow {
        var day: String
        var arm: String
        var userID: String
        var kind: Int
        var position: Int
        var impressions: Int
        var clicks: Int
        var conversions: Int
    }

    /// The figures of `rows` ordered by day, arm, user and kind: a kind-0 row opens an arm, user
    /// and day, and the kind-1 rows after it add their clicks, conversions and the clicks' gains
    /// (``StoredImpression/gain(atPosition:)``, computed here so that neither backend needs a
    /// logarithm in SQL).
    static func outcomes(_ rows: [OutcomeRow]) -> [ExperimentUserDay] {
        var figures: [ExperimentUserDay] = []
        for row in rows {
            if row.kind == 0 {
                figures.append(
                    ExperimentUserDay(
                        arm: row.arm, userID: row.userID, day: row.day, impressions: row.impressions, clicks: 0,
                        conversions: 0, gain: 0))
                continue
            }
            guard var last = figures.last, last.arm == row.arm, last.userID == row.userID, last.day == row.day else {
                continue
            }
            last.clicks += row.clicks
            last.conversions += row.conversions
            last.gain += Double(row.clicks) * StoredImpression.gain(atPosition: row.position)
            figures[figures.count - 1] = last
        }
        return figures
    }
}

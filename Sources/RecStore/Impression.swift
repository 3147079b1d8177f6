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
    /// The rows impressions are stored in, with the positions and gains of their items.
    static func itemRows(_ impressions: [StoredImpression]) -> [(
        request: String, position: Int, item: String, gain: Double
    )] {
        impressions.flatMap { impression in
            impression.items.enumerated().map { offset, item in
                let position = impression.firstPosition + offset
                return (impression.requestID, position, item, StoredImpression.gain(atPosition: position))
            }
        }
    }
}

import RecData

/// A reason for a recommendation, in the data's own identifiers.
public struct ExplainedReason: Sendable, Equatable, Codable {
    /// The history item behind the reason, if it is an item.
    public var itemID: String?
    public var title: String?
    /// A reason that is not an item.
    public var feature: String?
    public var weight: Float

    public init(itemID: String?, title: String?, feature: String?, weight: Float) {
        self.itemID = itemID
        self.title = title
        self.feature = feature
        self.weight = weight
    }
}

/// A recommended item with its score and the reasons for it.
public struct ExplainedRecommendation: Sendable, Equatable, Codable {
    public var itemID: String
    public var title: String
    public var score: Float
    public var reasons: [ExplainedReason]

    public init(itemID: String, title: String, score: Float, reasons: [ExplainedReason]) {
        self.itemID = itemID
        self.title = title
        self.score = score
        self.reasons = reasons
    }
}

extension ModelBundle {
    /// Recommendations in external identifiers, each with its explanation.
    ///
    /// - Parameters:
    ///   - user: A user the model knows; their training history is the context.
    ///   - history: Items to use as (or add to) the history; unknown items are ignored.
    ///   - count: How many to return.
    ///   - reasons: How many reasons to give per item (0 for none).
    ///   - retrieve: Top-k retrieval (context, count, seen items) instead of scoring every item.
    /// - Returns: The best items the user has not interacted with, best first.
    public func recommendations(
        user: UserID?, history: [ItemID] = [], count: Int, reasons: Int = 3,
        retrieve: ((ScoringContext, Int, Set<Int32>) throws -> [ScoredItem])? = nil
    ) throws -> [ExplainedRecommendation] {
        var context = user.flatMap { self.context(forUser: $0) } ?? ScoringContext(history: [])
        context.history += history.compactMap { itemIndex($0) }
        let seen = Set(context.history)
        let top = try retrieve?(context, count, seen) ?? model.recommend(context, count: count, excluding: seen)
        return try top.map { scored in
            try explained(scored, context: context, reasons: reasons)
        }
    }

    /// The items most similar to `item`, in external identifiers; `retrieve` (item, count)
    /// replaces the model's own search (an ANN index).
    public func similarItems(
        to item: ItemID, count: Int, retrieve: ((Int32, Int) throws -> [ScoredItem])? = nil
    ) throws -> [ExplainedRecommendation]? {
        guard let index = itemIndex(item) else { return nil }
        return try (retrieve?(index, count) ?? model.similarItems(to: index, count: count)).map {
            ExplainedRecommendation(
                itemID: itemIDs[$0.item], title: itemTitles[Int($0.item)], score: $0.score, reasons: [])
        }
    }

    /// Catalogue items closest to an item described only by its fields (no retraining), or
    /// `nil` when the model cannot read item content.
    public func similarItems(toFields fields: [String: String], count: Int) throws -> [ExplainedRecommendation]? {
        guard let encoder = model as? any ContentDescribing else { return nil }
        return try encoder.similarItems(toFields: fields, count: count).map {
            ExplainedRecommendation(
                itemID: itemIDs[$0.item], title: itemTitles[Int($0.item)], score: $0.score, reasons: [])
        }
    }

    /// A known user's score for an item described only by its fields, or `nil` when the model
    /// cannot read item content or the user is unknown.
    public func contentScore(fields: [String: String], user: UserID) throws -> Float? {
        guard let encoder = model as? any ContentDescribing, let context = context(forUser: user) else { return nil }
        return try encoder.contentScore(fields: fields, context: context)
    }

    private func explained(_ scored: ScoredItem, context: ScoringContext, reasons: Int) throws
        -> ExplainedRecommendation
    {
        let contributions = reasons > 0 ? try model.explain(context, item: scored.item, count: reasons) : []
        return ExplainedRecommendation(
            itemID: itemIDs[scored.item], title: itemTitles[Int(scored.item)], score: scored.score,
            reasons: contributions.map { contribution in
                ExplainedReason(
                    itemID: contribution.item.map { itemIDs[$0] },
                    title: contribution.item.map { itemTitles[Int($0)] }, feature: contribution.feature,
                    weight: contribution.weight)
            })
    }
}

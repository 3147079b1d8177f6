import RecData

/// A model that places an item from its description alone: an item added a minute ago, with
/// only a title and genres, gets similar items and a score for a user.
public protocol ContentDescribing: Recommender {
    /// Catalogue items closest to the described item; `fields` maps item columns to text.
    func similarItems(toFields fields: [String: String], count: Int) throws -> [ScoredItem]
    /// The user's score for the described item.
    func contentScore(fields: [String: String], context: ScoringContext) throws -> Float

    /// The vector a new item, known only by its title and categories, is scored with (its inner
    /// product with a user's query is its score): for placing it in an ANN index while serving.
    func scoringVector(title: String, categories: [String]) throws -> [Float]
}

/// A factor model that places a new item from the users who interacted with it, as training
/// would: for an item added while serving, once a user the model knows gives it feedback.
public protocol InteractionPlacing: Recommender {
    /// The scoring vector of an item the model was not trained with, from `users` (the model's
    /// user indices, each with its number of events on the item); `nil` when none of them is a
    /// user the model was trained with.
    func itemVector(fromUsers users: [(user: Int32, count: Float)]) throws -> [Float]?
}

/// Explanation by similarity, for models whose score is no sum over the history (BPR, the hybrid).
extension Contribution {
    /// Each history item weighted by its similarity to the recommended item, largest first.
    ///
    /// - Parameters:
    ///   - context: Whose history explains the item.
    ///   - items: The model's item count (history items outside it are an error).
    ///   - similarity: Similarity of every item to the recommended one, `(items)`.
    ///   - count: The most contributions returned.
    /// - Throws: ``ModelError/unknownItem(_:)`` for a history item outside the model.
    static func bySimilarity(of context: ScoringContext, items: Int, similarity: [Float], count: Int) throws
        -> [Contribution]
    {
        let history = try context.historyCounts(items: items)
        return Array(
            history.map { Contribution(item: $0.item, weight: similarity[Int($0.item)]) }
                .sorted { $0.weight > $1.weight }.prefix(count))
    }
}

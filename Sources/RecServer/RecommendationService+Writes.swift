import Logging
import RecModels
import RecStore

/// Writes that change what the model in use can serve: each goes to the store first, then to
/// the model's index (a new item placed, a hidden or deleted one kept out). The routes and the
/// recommendation flow call these, never the two steps apart.
extension RecommendationService {
    /// Inserts or replaces `items` (checked by ``FieldRules``) and places those the model has
    /// never seen in its index when it can read their content. Returns the rows changed.
    public func addItems(_ items: [StoredItem]) async throws -> Int {
        let affected = try await store.upsertItems(items)
        try await place(items)
        return affected
    }

    /// Changes the given fields of an item; hiding or showing it also updates the index.
    /// Returns 1 if the item exists, else 0.
    public func patchItem(
        _ id: String, isHidden: Bool?, categories: [String]?, timestamp: String?, labels: JSONValue?, comment: String?
    ) async throws -> Int {
        let affected = try await store.patchItem(
            id, isHidden: isHidden, categories: categories, timestamp: timestamp, labels: labels, comment: comment)
        if affected > 0, let isHidden { try await setRemoved(id, isHidden) }
        return affected
    }

    /// Deletes an item and its feedback, and keeps it out of the index's results.
    public func deleteItem(_ id: String) async throws -> Int {
        let affected = try await store.deleteItem(id)
        if affected > 0 { try await setRemoved(id, true) }
        return affected
    }

    /// Commits feedback (group commit: it returns once the transaction holding it committed),
    /// then places the items it makes placeable (``placeFromFeedback(_:)``). The feedback is
    /// committed by then, so a placement failure is logged, not thrown. Returns the rows changed.
    public func commitFeedback(_ feedback: [StoredFeedback], overwrite: Bool, logger: Logger) async throws -> Int {
        let changed = try await store.commitFeedback(feedback, overwrite: overwrite)
        do {
            try await placeFromFeedback(feedback)
        } catch {
            logger.warning("placing new items from feedback failed: \(error)")
        }
        return changed
    }
}

import Foundation
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

extension RecommendationService {
    /// Records what was shown (Gorse's `write-back-type`): one feedback row of `type` per item,
    /// timestamped `delay` seconds from now; until then the row is not part of the user's history
    /// and the item is not yet seen. An existing (type, user, item) row is kept.
    public func writeBack(user: String, items: [String], type: String, delay: Double) async throws {
        guard !items.isEmpty else { return }
        let time = StoreTimestamp.text(unixSeconds: Date().timeIntervalSince1970 + delay)
        _ = try await store.commitFeedback(
            items.map { StoredFeedback(feedbackType: type, userID: user, itemID: $0, timestamp: time) },
            overwrite: false)
    }
}

/// Go's duration text (`time.ParseDuration`), as Gorse reads `write-back-delay`: a sequence of
/// decimal numbers with units `ns`, `us`, `µs`, `ms`, `s`, `m`, `h` (`10m`, `1h30m`, `1.5s`).
enum GoDuration {
    static let units: [(String, Double)] = [
        ("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3_600),
    ]

    /// Seconds; nil when `text` is not a duration (or is negative).
    static func seconds(_ text: String) -> Double? {
        if text == "0" { return 0 }
        var rest = Substring(text)
        var total = 0.0
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            guard let unit = units.filter({ rest.hasPrefix($0.0) }).max(by: { $0.0.count < $1.0.count }) else {
                return nil
            }
            rest = rest.dropFirst(unit.0.count)
            total += value * unit.1
        }
        return total
    }
}

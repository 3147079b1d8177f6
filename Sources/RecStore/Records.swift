import Foundation
import GRDB

/// A user as the store keeps it (Gorse's `User`).
public struct StoredUser: Sendable, Equatable, Codable {
    public var userID: String
    public var labels: JSONValue
    public var comment: String

    public init(userID: String, labels: JSONValue = .null, comment: String = "") {
        self.userID = userID
        self.labels = labels
        self.comment = comment
    }
}

/// An item as the store keeps it (Gorse's `Item`).
public struct StoredItem: Sendable, Equatable, Codable {
    public var itemID: String
    public var isHidden: Bool
    public var categories: [String]
    /// ISO 8601 time of the item (publication); empty if unknown.
    public var timestamp: String
    public var labels: JSONValue
    public var comment: String

    public init(
        itemID: String, isHidden: Bool = false, categories: [String] = [], timestamp: String = "",
        labels: JSONValue = .null, comment: String = ""
    ) {
        self.itemID = itemID
        self.isHidden = isHidden
        self.categories = categories
        self.timestamp = timestamp
        self.labels = labels
        self.comment = comment
    }
}

/// One feedback event (Gorse's `Feedback`): a typed, valued interaction of a user with an item.
public struct StoredFeedback: Sendable, Equatable, Codable {
    public var feedbackType: String
    public var userID: String
    public var itemID: String
    public var value: Double
    /// ISO 8601 time of the event.
    public var timestamp: String
    public var comment: String

    public init(
        feedbackType: String, userID: String, itemID: String, value: Double = 1, timestamp: String = "",
        comment: String = ""
    ) {
        self.feedbackType = feedbackType
        self.userID = userID
        self.itemID = itemID
        self.value = value
        self.timestamp = timestamp
        self.comment = comment
    }
}

/// Failures of the store: those a client caused, and the database being unreachable.
public enum StoreError: Error, Equatable, CustomStringConvertible {
    /// A field breaks a limit or is empty.
    case invalid(field: String, reason: String)
    /// A cursor that this store did not hand out.
    case badCursor
    /// The database could not be reached or refused the operation (the store's own failure).
    case unavailable(String)

    /// The store's error for a database failure that is not the caller's bug: an SQLite file
    /// that another process kept locked past the busy timeout. Nil for any other error.
    public static func mapped(_ error: any Error) -> StoreError? {
        if let error = error as? StoreError { return error }
        guard let error = error as? DatabaseError,
            error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED
        else { return nil }
        return .unavailable(
            "the SQLite file stayed locked by another process (a bulk import, a training run or another "
                + "server writing) for longer than the busy timeout; one SQLite file has one writer at a time: "
                + "for several servers use PostgreSQL (--db postgres://...)")
    }

    public var description: String {
        switch self {
        case .invalid(let field, let reason): return "\(field): \(reason)"
        case .badCursor: return "the cursor is not one this server returned"
        case .unavailable(let reason): return "the store is unavailable: \(reason)"
        }
    }
}

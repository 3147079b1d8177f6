/// A user's external identifier, as it appears in the data (`"196"`, `"1m_1"`).
public struct UserID: Hashable, Sendable, Codable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }
}

/// An item's external identifier, as it appears in the data (`"242"`, `"Toy Story (1995)"`).
public struct ItemID: Hashable, Sendable, Codable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }
}

/// A dense map between external string identifiers and indices `0..<count`.
///
/// Models work on the dense `Int32` indices; every output is translated back through the
/// map, which is saved with each model, so that results speak the data's own identifiers.
public struct IDMap: Sendable, Equatable, Codable {
    /// External identifiers in index order.
    public private(set) var externalIDs: [String]
    private var indices: [String: Int32]

    /// A map over `ids`, in that order. Duplicates keep their first index.
    public init(_ ids: [String] = []) {
        externalIDs = []
        indices = [:]
        externalIDs.reserveCapacity(ids.count)
        for id in ids { insert(id) }
    }

    /// Number of identifiers.
    public var count: Int { externalIDs.count }

    /// The index of `id`, or `nil` if it is unknown.
    public func index(of id: String) -> Int32? { indices[id] }

    /// The external identifier at `index`.
    public subscript(index: Int32) -> String {
        checkArgument(index >= 0 && Int(index) < externalIDs.count, "id map: index \(index) out of 0..<\(count)")
        return externalIDs[Int(index)]
    }

    /// Adds `id` if it is new and returns its index.
    @discardableResult
    public mutating func insert(_ id: String) -> Int32 {
        if let existing = indices[id] { return existing }
        let index = Int32(externalIDs.count)
        indices[id] = index
        externalIDs.append(id)
        return index
    }

    public init(from decoder: Decoder) throws {
        self.init(try [String](from: decoder))
    }

    public func encode(to encoder: Encoder) throws {
        try externalIDs.encode(to: encoder)
    }

    public static func == (lhs: IDMap, rhs: IDMap) -> Bool { lhs.externalIDs == rhs.externalIDs }
}

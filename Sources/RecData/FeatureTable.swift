/// The type of a feature column, as RecBole's atomic files name it in the header.
public enum FeatureType: String, Sendable, Codable, CaseIterable {
    case token
    case tokenSequence = "token_seq"
    case float
    case floatSequence = "float_seq"
}

/// The values of one feature column; `nil` marks a missing value.
public enum FeatureValues: Sendable, Equatable {
    case token([String?])
    case tokenSequence([[String]?])
    case float([Double?])
    case floatSequence([[Double]?])

    /// Number of rows.
    public var count: Int {
        switch self {
        case .token(let v): return v.count
        case .tokenSequence(let v): return v.count
        case .float(let v): return v.count
        case .floatSequence(let v): return v.count
        }
    }

    /// Number of missing values.
    public var missingCount: Int {
        switch self {
        case .token(let v): return v.lazy.filter { $0 == nil }.count
        case .tokenSequence(let v): return v.lazy.filter { $0 == nil }.count
        case .float(let v): return v.lazy.filter { $0 == nil }.count
        case .floatSequence(let v): return v.lazy.filter { $0 == nil }.count
        }
    }

    /// The rows at `indices` (`nil` index gives a missing value).
    func reordered(_ indices: [Int?]) -> FeatureValues {
        switch self {
        case .token(let v): return .token(indices.map { $0.flatMap { v[$0] } })
        case .tokenSequence(let v): return .tokenSequence(indices.map { $0.flatMap { v[$0] } })
        case .float(let v): return .float(indices.map { $0.flatMap { v[$0] } })
        case .floatSequence(let v): return .floatSequence(indices.map { $0.flatMap { v[$0] } })
        }
    }
}

/// One named feature column.
public struct FeatureColumn: Sendable, Equatable {
    public var name: String
    public var type: FeatureType
    public var values: FeatureValues

    public init(name: String, type: FeatureType, values: FeatureValues) {
        self.name = name
        self.type = type
        self.values = values
    }
}

/// Side information about users or items: one row per key, typed columns.
public struct FeatureTable: Sendable, Equatable {
    /// Name of the key column (`item_id`, `user_id`).
    public var keyField: String
    /// External identifier of each row.
    public var keys: [String]
    /// The feature columns, each with one value per row.
    public var columns: [FeatureColumn]

    public init(keyField: String, keys: [String], columns: [FeatureColumn]) {
        for column in columns {
            checkArgument(
                column.values.count == keys.count,
                "features: \(column.name) has \(column.values.count) rows, keys \(keys.count)")
        }
        self.keyField = keyField
        self.keys = keys
        self.columns = columns
    }

    /// The column called `name`, if any.
    public func column(named name: String) -> FeatureColumn? { columns.first { $0.name == name } }

    /// The table with one row per identifier of `ids`, in its index order; identifiers the
    /// table lacks get missing values.
    public func aligned(to ids: IDMap) -> FeatureTable {
        var rowOf: [String: Int] = [:]
        for (row, key) in keys.enumerated() where rowOf[key] == nil { rowOf[key] = row }
        let order = ids.externalIDs.map { rowOf[$0] }
        return FeatureTable(
            keyField: keyField, keys: ids.externalIDs,
            columns: columns.map { FeatureColumn(name: $0.name, type: $0.type, values: $0.values.reordered(order)) })
    }

    /// Fills missing values: categorical ones with `"unknown"`, numeric ones with the column's
    /// median (0 if every value is missing), sequences with an empty sequence.
    ///
    /// - Returns: The number of values filled in each column that had any.
    @discardableResult
    public mutating func fillMissing() -> [String: Int] {
        var filled: [String: Int] = [:]
        for index in columns.indices {
            let missing = columns[index].values.missingCount
            guard missing > 0 else { continue }
            filled[columns[index].name] = missing
            switch columns[index].values {
            case .token(let v): columns[index].values = .token(v.map { $0 ?? "unknown" })
            case .tokenSequence(let v): columns[index].values = .tokenSequence(v.map { $0 ?? ["unknown"] })
            case .float(let v):
                let present = v.compactMap { $0 }.sorted()
                let median: Double
                if present.isEmpty {
                    median = 0
                } else if present.count % 2 == 1 {
                    median = present[present.count / 2]
                } else {
                    median = (present[present.count / 2 - 1] + present[present.count / 2]) / 2
                }
                columns[index].values = .float(v.map { $0 ?? median })
            case .floatSequence(let v): columns[index].values = .floatSequence(v.map { $0 ?? [] })
            }
        }
        return filled
    }
}

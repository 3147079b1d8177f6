/// Reads RecBole's atomic files: tab-separated, with a header of `name:type` columns
/// (`token`, `token_seq`, `float`, `float_seq`). Sequences are separated by spaces.
enum AtomicFileLoader {
    struct Column {
        let name: String
        let type: FeatureType
    }

    static func parseHeader(_ names: [String], path: String) throws -> [Column] {
        try names.map { field in
            let parts = field.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2, let type = FeatureType(rawValue: parts[1]) else {
                throw DatasetError.malformedLine(
                    path: path, line: 1, column: field,
                    reason: "header fields must be name:type with type token, token_seq, float or float_seq")
            }
            return Column(name: parts[0], type: type)
        }
    }

    static func loadInteractions(path: String, options: LoadOptions, report: inout LoadReport) throws -> InteractionLog
    {
        try DelimitedLoader.loadInteractions(path: path, options: options, report: &report, atomicHeader: true)
    }

    static func loadFeatures(path: String, keyField: String, options: LoadOptions) throws -> FeatureTable {
        var columns: [Column] = []
        var keyIndex = 0
        var keys: [String] = []
        var tokens: [Int: [String?]] = [:]
        var tokenSequences: [Int: [[String]?]] = [:]
        var floats: [Int: [Double?]] = [:]
        var floatSequences: [Int: [[Double]?]] = [:]
        var noReport: LoadReport? = nil
        let reader = TableReader(path: path, separator: "\t", encoding: options.encoding ?? .utf8)
        try reader.read(
            skipBadRows: false, report: &noReport,
            header: { names in
                columns = try parseHeader(names, path: path)
                guard let index = columns.firstIndex(where: { $0.name == keyField }) else {
                    throw DatasetError.missingColumn(path: path, column: keyField, available: columns.map(\.name))
                }
                keyIndex = index
            },
            row: { fields in
                keys.append(try fields.identifier(keyIndex))
                for (index, column) in columns.enumerated() where index != keyIndex {
                    let empty = fields.isEmpty(index)
                    switch column.type {
                    case .token:
                        tokens[index, default: []].append(empty ? nil : try fields.string(index))
                    case .tokenSequence:
                        tokenSequences[index, default: []].append(
                            empty ? nil : try fields.string(index).split(separator: " ").map(String.init))
                    case .float:
                        floats[index, default: []].append(try fields.optionalNumber(index))
                    case .floatSequence:
                        if empty {
                            floatSequences[index, default: []].append(nil)
                        } else {
                            let parts = try fields.string(index).split(separator: " ")
                            let values = try parts.map { part -> Double in
                                guard let value = Double(part), value.isFinite else {
                                    throw fields.error(index, "'\(part)' is not a finite number")
                                }
                                return value
                            }
                            floatSequences[index, default: []].append(values)
                        }
                    }
                }
            })
        var result: [FeatureColumn] = []
        for (index, column) in columns.enumerated() where index != keyIndex {
            let values: FeatureValues
            switch column.type {
            case .token: values = .token(tokens[index] ?? [])
            case .tokenSequence: values = .tokenSequence(tokenSequences[index] ?? [])
            case .float: values = .float(floats[index] ?? [])
            case .floatSequence: values = .floatSequence(floatSequences[index] ?? [])
            }
            result.append(FeatureColumn(name: column.name, type: column.type, values: values))
        }
        return FeatureTable(keyField: keyField, keys: keys, columns: result)
    }
}

/// Reads any CSV or TSV file whose header names its columns; the user and item columns are
/// required, rating and timestamp are used when present, the basket column when named (names
/// from ``LoadOptions``).
/// CSV fields may be quoted as in RFC 4180 (on one line).
enum DelimitedLoader {
    /// - Parameter atomicHeader: The header must be RecBole's `name:type` fields (a `.inter` file).
    static func loadInteractions(
        path: String, options: LoadOptions, report: inout LoadReport, atomicHeader: Bool = false
    ) throws -> InteractionLog {
        let separator = atomicHeader ? "\t" : options.separator ?? (path.lowercased().hasSuffix(".csv") ? "," : "\t")
        guard !separator.isEmpty, separator.utf8.count <= 2 else {
            throw DatasetError.invalidOption("separator must be one or two characters, got '\(separator)'")
        }
        var userIndex = 0
        var itemIndex = 0
        var ratingIndex: Int?
        var timeIndex: Int?
        var basketIndex: Int?
        var builder: InteractionBuilder?
        var maybeReport: LoadReport? = report
        let reader = TableReader(
            path: path, separator: separator, quotes: separator == ",", encoding: options.encoding ?? .utf8)
        try reader.read(
            skipBadRows: options.skipBadRows, report: &maybeReport,
            header: { names in
                // RecBole-style "name:type" headers are accepted in any delimited file.
                let plain =
                    atomicHeader
                    ? try AtomicFileLoader.parseHeader(names, path: path).map(\.name)
                    : names.map { String($0.split(separator: ":").first ?? Substring($0)) }
                func find(_ name: String) throws -> Int {
                    guard let index = plain.firstIndex(of: name) else {
                        throw DatasetError.missingColumn(path: path, column: name, available: plain)
                    }
                    return index
                }
                userIndex = try find(options.userField)
                itemIndex = try find(options.itemField)
                ratingIndex = plain.firstIndex(of: options.ratingField)
                timeIndex = plain.firstIndex(of: options.timestampField)
                basketIndex = try options.basketField.map(find)
                builder = InteractionBuilder(hasRatings: ratingIndex != nil, hasTimestamps: timeIndex != nil)
                builder?.hasBaskets = basketIndex != nil
                builder?.reserve(try LineReader.countLines(path: path))
            },
            row: { fields in
                let user = try fields.identifier(userIndex)
                let item = try fields.identifier(itemIndex)
                let rating = try ratingIndex.map { try fields.number($0) }
                let time = try timeIndex.map { try fields.time($0) }
                let basket = try basketIndex.map { try fields.identifier($0) }
                builder?.append(user: user, item: item, rating: rating, timestamp: time, basket: basket)
            })
        report = maybeReport ?? report
        guard let builder else { throw DatasetError.emptyFile(path: path) }
        return try builder.build(path: path)
    }
}

/// A categorical field of the `ctr` protocol.
///
/// The first nine take one value per example; ``genres`` and ``titleTokens`` are multi-hot bags.
/// The behaviour sequence is a bag of ``item`` values (``CTRFeatureSpace/historyLimit`` wide).
public enum CTRField: String, Sendable, Codable, CaseIterable {
    case user = "user_id"
    case item = "item_id"
    case gender
    case age
    case occupation
    case zipPrefix = "zip_prefix"
    case year = "release_year"
    case hour
    case weekday
    case genres
    case titleTokens = "title_tokens"

    /// The fields with one value per example, in the order of ``CTRBatch/fields``' columns.
    public static let single: [CTRField] = [
        .user, .item, .gender, .age, .occupation, .zipPrefix, .year, .hour, .weekday,
    ]
    /// The multi-hot fields, in the order of ``CTRBatch/bags`` (the history bag follows them).
    public static let multi: [CTRField] = [.genres, .titleTokens]
}

/// The tokens of one field: index 0 is the unknown token, `1...` the tokens in first-seen order.
public struct CTRVocabulary: Sendable, Codable, Equatable {
    /// The known tokens; token `tokens[i]` has index `i + 1`.
    public private(set) var tokens: [String] = []
    private var indices: [String: Int32] = [:]

    public init(_ tokens: [String] = []) {
        for token in tokens { insert(token) }
    }

    /// Number of indices, the unknown one included.
    public var count: Int { tokens.count + 1 }

    /// The index of `token`; 0 for an unknown or empty one.
    public func index(of token: String) -> Int32 { indices[token] ?? 0 }

    mutating func insert(_ token: String) {
        guard !token.isEmpty, indices[token] == nil else { return }
        tokens.append(token)
        indices[token] = Int32(tokens.count)
    }

    public init(from decoder: Decoder) throws { self.init(try [String](from: decoder)) }
    public func encode(to encoder: Encoder) throws { try tokens.encode(to: encoder) }
    public static func == (a: CTRVocabulary, b: CTRVocabulary) -> Bool { a.tokens == b.tokens }
}

/// Examples encoded as rows of one embedding table shared by every field.
///
/// Row 0 is padding (zero, no gradient); field `f` owns rows `offset[f] ..< offset[f] + vocabulary
/// count`, its unknown token first. Shapes, `N` examples: ``fields`` `(N, 9)` in
/// ``CTRField/single`` order; ``bags`` genres `(N, 6)`, title tokens `(N, 8)` and the behaviour
/// sequence `(N, historyLimit)` (item rows, oldest first, right-padded with 0).
public struct CTRBatch: Sendable, Equatable {
    public var count: Int
    public var fields: [Int32]
    public var bags: [[Int32]]
    /// 0 or 1 per example (0 where unknown, at serving).
    public var labels: [Float]
    /// The user of each example (an index of the data set's users), for GAUC.
    public var users: [Int32]

    public init(count: Int, fields: [Int32], bags: [[Int32]], labels: [Float], users: [Int32]) {
        (self.count, self.fields, self.bags, self.labels, self.users) = (count, fields, bags, labels, users)
    }
}

/// The vocabularies of the `ctr` fields, built from training events, and the table layout.
public struct CTRFeatureSpace: Sendable, Codable, Equatable {
    /// One vocabulary per ``CTRField``, in `allCases` order.
    public let vocabularies: [CTRVocabulary]
    /// The width of the behaviour-sequence bag.
    public let historyLimit: Int

    /// The vocabularies of the users, items and features that occur in `events` of `dataset`
    /// (the training part: a validation or test value never seen in training is unknown).
    public init(training events: [Int], of dataset: CTRDataset, historyLimit: Int = CTRDataset.historyLimit) {
        var vocabularies = [CTRVocabulary](repeating: CTRVocabulary(), count: CTRField.allCases.count)
        func add(_ field: CTRField, _ token: String) {
            vocabularies[CTRField.allCases.firstIndex(of: field) ?? 0].insert(token)
        }
        for event in events {
            let (user, item) = (Int(dataset.log.users[event]), Int(dataset.log.items[event]))
            let u = dataset.userFeatures[user]
            let i = dataset.itemFeatures[item]
            let values: [(CTRField, String)] = [
                (.user, dataset.log.userIDs.externalIDs[user]), (.item, dataset.log.itemIDs.externalIDs[item]),
                (.gender, u.gender), (.age, u.age), (.occupation, u.occupation), (.zipPrefix, u.zipPrefix),
                (.year, i.year), (.hour, String(dataset.hour(of: event))),
                (.weekday, String(dataset.weekday(of: event))),
            ]
            for (field, token) in values { add(field, token) }
            for genre in i.genres { add(.genres, genre) }
            for token in i.titleTokens { add(.titleTokens, token) }
        }
        self.vocabularies = vocabularies
        self.historyLimit = historyLimit
    }

    /// The first table row of each field, in `allCases` order.
    public var offsets: [Int] {
        var next = 1
        return vocabularies.map { vocabulary in
            defer { next += vocabulary.count }
            return next
        }
    }

    /// Rows of the shared table: padding plus every field's vocabulary.
    public var rowCount: Int { 1 + vocabularies.reduce(0) { $0 + $1.count } }

    /// The widths of ``CTRBatch/bags``: genres, title tokens, behaviour sequence.
    public var bagWidths: [Int] { [CTRItemFeatures.genreLimit, CTRItemFeatures.titleLimit, historyLimit] }

    /// The table row of `token` in `field` (the field's unknown row when it is not known).
    public func row(_ field: CTRField, _ token: String) -> Int32 {
        let index = CTRField.allCases.firstIndex(of: field) ?? 0
        return Int32(offsets[index]) + vocabularies[index].index(of: token)
    }

    /// Encodes raw examples; see ``CTRBatch`` for the layout.
    public func encode(_ examples: [CTRExample]) -> CTRBatch {
        let offsets = offsets
        func row(_ field: CTRField, _ token: String) -> Int32 {
            let index = CTRField.allCases.firstIndex(of: field) ?? 0
            return Int32(offsets[index]) + vocabularies[index].index(of: token)
        }
        var fields: [Int32] = []
        fields.reserveCapacity(examples.count * CTRField.single.count)
        var bags = bagWidths.map { [Int32](repeating: 0, count: examples.count * $0) }
        for (n, example) in examples.enumerated() {
            let (u, i) = (example.userFeatures, example.itemFeatures)
            fields += [
                row(.user, example.user), row(.item, example.item), row(.gender, u.gender), row(.age, u.age),
                row(.occupation, u.occupation), row(.zipPrefix, u.zipPrefix), row(.year, i.year),
                row(.hour, String(example.hour)), row(.weekday, String(example.weekday)),
            ]
            let lists = [
                i.genres.map { row(.genres, $0) }, i.titleTokens.map { row(.titleTokens, $0) },
                example.history.suffix(historyLimit).map { row(.item, $0) },
            ]
            for (b, list) in lists.enumerated() {
                let width = bagWidths[b]
                for (position, value) in list.prefix(width).enumerated() { bags[b][n * width + position] = value }
            }
        }
        return CTRBatch(
            count: examples.count, fields: fields, bags: bags, labels: examples.map(\.label),
            users: examples.map(\.userIndex))
    }
}

/// One example with raw values: what the server knows about a (user, candidate item, moment).
public struct CTRExample: Sendable, Equatable {
    public var user: String
    public var userFeatures: CTRUserFeatures
    public var item: String
    public var itemFeatures: CTRItemFeatures
    /// UTC hour 0...23 and weekday 0 (Monday)...6 of the request or event.
    public var hour: Int
    public var weekday: Int
    /// The user's earlier items (external ids), oldest first; only the newest `historyLimit` count.
    public var history: [String]
    public var label: Float
    /// A user index for grouping (GAUC); 0 at serving.
    public var userIndex: Int32

    public init(
        user: String, userFeatures: CTRUserFeatures, item: String, itemFeatures: CTRItemFeatures, hour: Int,
        weekday: Int, history: [String], label: Float = 0, userIndex: Int32 = 0
    ) {
        (self.user, self.userFeatures, self.item, self.itemFeatures) = (user, userFeatures, item, itemFeatures)
        (self.hour, self.weekday, self.history, self.label, self.userIndex) = (hour, weekday, history, label, userIndex)
    }
}

extension CTRDataset {
    /// Event `event` as a raw example.
    public func example(_ event: Int) -> CTRExample {
        let (user, item) = (log.users[event], log.items[event])
        return CTRExample(
            user: log.userIDs[user], userFeatures: userFeatures[Int(user)], item: log.itemIDs[item],
            itemFeatures: itemFeatures[Int(item)], hour: hour(of: event), weekday: weekday(of: event),
            history: history(of: event).map { log.itemIDs[$0] }, label: labels[event], userIndex: user)
    }

    /// Events `events` encoded in `space`: the same rows as `space.encode(events.map(example))`.
    ///
    /// Each user's, item's and moment's rows are looked up once, so an event costs array reads
    /// rather than hashing its strings (ml-1m's behaviour sequences alone hold 40 million).
    public func batch(_ events: some Collection<Int>, in space: CTRFeatureSpace) -> CTRBatch {
        let item = log.itemIDs.externalIDs.map { space.row(.item, $0) }
        let userRows = userFeatures.indices.map { u -> [Int32] in
            let f = userFeatures[u]
            return [
                space.row(.user, log.userIDs.externalIDs[u]), space.row(.gender, f.gender), space.row(.age, f.age),
                space.row(.occupation, f.occupation), space.row(.zipPrefix, f.zipPrefix),
            ]
        }
        let years = itemFeatures.map { space.row(.year, $0.year) }
        let genres = itemFeatures.map { $0.genres.map { space.row(.genres, $0) } }
        let titles = itemFeatures.map { $0.titleTokens.map { space.row(.titleTokens, $0) } }
        let hours = (0..<24).map { space.row(.hour, String($0)) }
        let weekdays = (0..<7).map { space.row(.weekday, String($0)) }
        let widths = space.bagWidths
        var fields: [Int32] = []
        fields.reserveCapacity(events.count * CTRField.single.count)
        var bags = widths.map { [Int32](repeating: 0, count: events.count * $0) }
        for (n, event) in events.enumerated() {
            let (u, i) = (Int(log.users[event]), Int(log.items[event]))
            let user = userRows[u]
            fields += [user[0], item[i], user[1], user[2], user[3], user[4], years[i]]
            fields += [hours[hour(of: event)], weekdays[weekday(of: event)]]
            let lists = [genres[i], titles[i], history(of: event, limit: space.historyLimit).map { item[Int($0)] }]
            for (b, list) in lists.enumerated() {
                for (position, value) in list.prefix(widths[b]).enumerated() {
                    bags[b][n * widths[b] + position] = value
                }
            }
        }
        return CTRBatch(
            count: events.count, fields: fields, bags: bags, labels: events.map { labels[$0] },
            users: events.map { log.users[$0] })
    }
}

extension CTRBatch {
    /// The examples at `indices` (positions in this batch), in that order.
    public func rows(_ indices: some Collection<Int>) -> CTRBatch {
        let width = count > 0 ? fields.count / count : 0
        var picked = CTRBatch(
            count: indices.count, fields: [], bags: [], labels: indices.map { labels[$0] },
            users: indices.map { users[$0] })
        picked.fields.reserveCapacity(indices.count * width)
        for index in indices { picked.fields += fields[(index * width)..<((index + 1) * width)] }
        picked.bags = bags.map { bag in
            let bagWidth = count > 0 ? bag.count / count : 0
            var rows: [Int32] = []
            rows.reserveCapacity(indices.count * bagWidth)
            for index in indices { rows += bag[(index * bagWidth)..<((index + 1) * bagWidth)] }
            return rows
        }
        return picked
    }
}

import NeuralNet
import RecData
import Tensors

/// The rows of one ranking request in a ranker's shared embedding table: the fields every
/// candidate shares, once, and each candidate's own.
///
/// A request's user, context and behaviour sequence are the same for all its candidates; only
/// the item, its release year, its genres and its title words differ. The layout follows
/// ``CTRBatch``: rows are those `CTRFeatureSpace.encode` gives, unknown values on their field's
/// unknown row and 0 only for padding.
struct CTRRequestRows {
    /// The seven shared single fields, in ``sharedFields`` order.
    var shared: [Int32]
    /// The newest `historyLimit` items of the sequence, oldest first (no padding).
    var sequence: [Int32]
    /// Candidates.
    var count: Int
    /// `(count)` item rows and release-year rows.
    var items: [Int32]
    var years: [Int32]
    /// `(count, genreLimit)` and `(count, titleLimit)`, 0 for padding.
    var genres: [Int32]
    var titles: [Int32]

    /// The single fields a request shares, in ``CTRField/single`` order without item and year.
    static let sharedFields: [CTRField] = [.user, .gender, .age, .occupation, .zipPrefix, .hour, .weekday]
    static let genreWidth = CTRItemFeatures.genreLimit
    static let titleWidth = CTRItemFeatures.titleLimit

    /// The rows of `request`, its hour and weekday already checked; a candidate's rows come from
    /// `cache` (by item id) when it holds them, else from its features in `items`.
    init(
        _ request: RankingRequest, space: CTRFeatureSpace, users: [String: CTRUserFeatures],
        items features: [String: CTRItemFeatures], cache: [String: CTRItemRows] = [:]
    ) {
        let user = request.userFeatures ?? users[request.user] ?? .missing
        shared = [
            Self.row(.user, request.user, space), Self.row(.gender, user.gender, space),
            Self.row(.age, user.age, space), Self.row(.occupation, user.occupation, space),
            Self.row(.zipPrefix, user.zipPrefix, space), Self.row(.hour, String(request.hour), space),
            Self.row(.weekday, String(request.weekday), space),
        ]
        sequence = request.sequence.suffix(space.historyLimit).map { Self.row(.item, $0, space) }
        count = request.candidates.count
        (items, years) = ([], [])
        items.reserveCapacity(count)
        years.reserveCapacity(count)
        genres = [Int32](repeating: 0, count: count * Self.genreWidth)
        titles = [Int32](repeating: 0, count: count * Self.titleWidth)
        for (n, id) in request.candidates.enumerated() {
            let rows = cache[id] ?? CTRItemRows(id, features[id] ?? .missing, space: space)
            items.append(rows.item)
            years.append(rows.year)
            for (p, genre) in rows.genres.enumerated() { genres[n * Self.genreWidth + p] = genre }
            for (p, word) in rows.titles.enumerated() { titles[n * Self.titleWidth + p] = word }
        }
    }

    /// The row of `token` in `field`'s part of the shared table.
    static func row(_ field: CTRField, _ token: String, _ space: CTRFeatureSpace) -> Int32 {
        let index = position[field] ?? 0
        return Int32(space.offsets[index]) + space.vocabularies[index].index(of: token)
    }

    /// Each field's position in ``CTRField/allCases``, which orders the vocabularies.
    private static let position: [CTRField: Int] = Dictionary(
        uniqueKeysWithValues: CTRField.allCases.enumerated().map { ($0.element, $0.offset) })
}

/// One item's rows in a ranker's table, looked up by name once (when the ranker is built)
/// instead of on every request that proposes it.
struct CTRItemRows: Sendable {
    var item: Int32
    var year: Int32
    /// At most ``CTRRequestRows/genreWidth`` and ``CTRRequestRows/titleWidth``, no padding.
    var genres: [Int32]
    var titles: [Int32]

    init(_ id: String, _ features: CTRItemFeatures, space: CTRFeatureSpace) {
        item = CTRRequestRows.row(.item, id, space)
        year = CTRRequestRows.row(.year, features.year, space)
        genres = features.genres.prefix(CTRRequestRows.genreWidth).map { CTRRequestRows.row(.genres, $0, space) }
        titles = features.titleTokens.prefix(CTRRequestRows.titleWidth).map {
            CTRRequestRows.row(.titleTokens, $0, space)
        }
    }

    /// The rows of every item of `items`.
    static func table(_ items: [String: CTRItemFeatures], space: CTRFeatureSpace) -> [String: CTRItemRows] {
        items.reduce(into: [:]) { $0[$1.key] = CTRItemRows($1.key, $1.value, space: space) }
    }
}

/// A table's vectors for one request: the shared fields once and each candidate's own fields.
///
/// Legend: `N` candidates, `W` the table's width (the embedding dimension, or 1 for the
/// first-order weights). Bags are the mean of their rows, summed in position order with weight
/// `1 / entries` as the training graph pools them; an empty bag is zeros.
struct CTRPooledFields {
    /// `(8, W)`: the seven shared single fields in ``CTRRequestRows/sharedFields`` order, then the
    /// behaviour sequence's mean.
    var shared: [Float]
    /// `(N, 4, W)`: item, release year, the genres' mean, the title words' mean.
    var candidates: [Float]
    let width: Int

    static let sharedCount = 8
    static let candidateCount = 4

    /// Pools `rows` in `table`, `(rows, width)` row-major.
    init(_ rows: CTRRequestRows, table: [Float], width: Int) {
        self.width = width
        shared = [Float](repeating: 0, count: Self.sharedCount * width)
        candidates = [Float](repeating: 0, count: rows.count * Self.candidateCount * width)
        for (f, row) in rows.shared.enumerated() {
            Self.add(table, row, width, weight: 1, into: &shared, at: f * width)
        }
        Self.pool(table, rows.sequence[...], width, into: &shared, at: 7 * width)
        for n in 0..<rows.count {
            let base = n * Self.candidateCount * width
            Self.add(table, rows.items[n], width, weight: 1, into: &candidates, at: base)
            Self.add(table, rows.years[n], width, weight: 1, into: &candidates, at: base + width)
            let genres = rows.genres[(n * CTRRequestRows.genreWidth)..<((n + 1) * CTRRequestRows.genreWidth)]
            Self.pool(table, genres, width, into: &candidates, at: base + 2 * width)
            let titles = rows.titles[(n * CTRRequestRows.titleWidth)..<((n + 1) * CTRRequestRows.titleWidth)]
            Self.pool(table, titles, width, into: &candidates, at: base + 3 * width)
        }
    }

    /// Adds the mean of the nonzero rows of `bag` at `offset`.
    private static func pool(
        _ table: [Float], _ bag: ArraySlice<Int32>, _ width: Int, into out: inout [Float], at offset: Int
    ) {
        let present = bag.reduce(0) { $0 + ($1 == 0 ? 0 : 1) }
        guard present > 0 else { return }
        let weight = 1 / Float(present)
        for row in bag where row != 0 { add(table, row, width, weight: weight, into: &out, at: offset) }
    }

    /// Adds `weight ·` row `row` of `table` at `offset` (row 0, padding, is zeros in the table).
    private static func add(
        _ table: [Float], _ row: Int32, _ width: Int, weight: Float, into out: inout [Float], at offset: Int
    ) {
        let start = Int(row) * width
        for j in 0..<width { out[offset + j] += table[start + j] * weight }
    }
}

/// A fully connected layer's weights as plain arrays: `y = x · Wᵀ + b`.
struct CTRDenseLayer {
    /// `(outputs, inputs)`.
    let weight: [Float]
    /// `(outputs)`.
    let bias: [Float]
    let inputs: Int
    let outputs: Int
}

/// A ranker's trained weights as plain arrays, read from its parameters for the tape-free
/// forward passes of `CTRInference+Networks.swift`.
///
/// Reading a parameter's value shares its storage (arrays copy on write), so building this per
/// request costs a lookup per key, not a copy, and always sees the current weights: after
/// training, after loading, after any change to the parameters.
struct CTRInferenceWeights {
    let kind: CTRModelKind
    let dimension: Int
    /// `(rows, dimension)`, the shared field embedding.
    let table: [Float]
    /// `(rows)`, first-order weights (`fm`, `lr`, `deepfm`); empty otherwise.
    let linear: [Float]
    /// The FM bias (`fm`, `lr`, `deepfm`); 0 otherwise.
    let bias: Float
    /// The output MLP (`deepfm`, `dcnv2`, `din`): ReLU between layers, the last gives the logit.
    let mlp: [CTRDenseLayer]
    /// DCN-V2's cross layers, `x ← x₀ ⊙ (W x + b) + x`.
    let cross: [CTRDenseLayer]
    /// DIN's activation unit, `4D → hidden… → 1`.
    let attention: [CTRDenseLayer]

    /// The weights of `network`, a network of `kind`.
    ///
    /// - Throws: ``ModelError/unsuitableData(_:)`` when a key the kind needs is missing or has
    ///   another shape (weights built for another kind).
    init(kind: CTRModelKind, parameters: [(name: String, parameter: Parameter<Float>)]) throws {
        func value(_ name: String) -> Tensor<Float>? { parameters.first { $0.name == name }?.parameter.value }
        func require(_ name: String, rank: Int) throws -> Tensor<Float> {
            guard let tensor = value(name), tensor.shape.count == rank else {
                throw ModelError.unsuitableData("the \(kind.rawValue) ranker has no \(name) of rank \(rank)")
            }
            return tensor
        }
        /// Layers `prefix.0`, `prefix.<step>`, …: Linear layers, numbered as `nn.Sequential` numbers them.
        func layers(_ prefix: String, step: Int) throws -> [CTRDenseLayer] {
            var result: [CTRDenseLayer] = []
            while let weight = value("\(prefix).\(result.count * step).weight") {
                let bias = try require("\(prefix).\(result.count * step).bias", rank: 1)
                guard weight.shape.count == 2, bias.shape == [weight.shape[0]],
                    result.last.map({ $0.outputs == weight.shape[1] }) ?? true
                else { throw ModelError.unsuitableData("the \(kind.rawValue) ranker's \(prefix) layers do not chain") }
                result.append(
                    CTRDenseLayer(
                        weight: weight.scalars, bias: bias.scalars, inputs: weight.shape[1], outputs: weight.shape[0]))
            }
            return result
        }
        let fields = kind == .deepfm ? "fm.fields" : "fields"
        let embedding = try require("\(fields).embedding.weight", rank: 2)
        self.kind = kind
        dimension = embedding.shape[1]
        table = embedding.scalars
        switch kind {
        case .fm, .lr, .deepfm:
            linear = try require("\(fields).linear.weight", rank: 2).scalars
            bias = try require(kind == .deepfm ? "fm.bias" : "bias", rank: 1).scalars.first ?? 0
        case .dcnv2, .din:
            (linear, bias) = ([], 0)
        }
        mlp = kind == .fm || kind == .lr ? [] : try layers("mlp", step: 2)
        cross = kind == .dcnv2 ? try layers("cross", step: 1) : []
        attention = kind == .din ? try layers("attention.mlp", step: 2) : []
        let width = CTRInference.fieldCount * dimension
        guard linear.count == 0 || linear.count == table.count / dimension,
            mlp.isEmpty || (mlp[0].inputs == width && mlp[mlp.count - 1].outputs == 1),
            cross.allSatisfy({ $0.inputs == width && $0.outputs == width }),
            attention.isEmpty || (attention[0].inputs == 4 * dimension && attention[attention.count - 1].outputs == 1),
            (kind != .deepfm && kind != .dcnv2 && kind != .din) || !mlp.isEmpty, kind != .din || !attention.isEmpty
        else {
            throw ModelError.unsuitableData("the \(kind.rawValue) ranker's weights do not fit \(width) inputs")
        }
    }
}

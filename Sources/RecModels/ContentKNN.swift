import Foundation
import RecData
import Tensors

/// Content-based recommendation: TF-IDF vectors over each item's text and categorical fields
/// (title words, genres, year, any token or token_seq column), cosine similarity between items,
/// and a user profile that sums the vectors of the user's history.
///
/// `score(i) = Σ_{j ∈ history} cos(v_i, v_j)`, so an item's score splits exactly over the history
/// items (the explanation). Items with no interactions are found like any other: similarity
/// needs only their features.
///
/// Weights: `tf · idf` with `idf = ln((1 + N) / (1 + df)) + 1` (scikit-learn's smooth idf), each
/// item vector normalized to unit length.
///
/// Parameters (the item features are required):
/// - `text_weight` (default 0.3): scales the weights of words from title-like columns, so that a
///   shared rare word ("story") does not outweigh shared genres.
/// - `number_weight` (default 0.5): scales bucketed numbers (decade of release).
public struct ContentKNN: Recommender {
    public static let kind = ModelKind.content
    public let textWeight: Float
    public let numberWeight: Float
    /// Item × term weights, rows of unit length.
    public private(set) var vectors = CSRMatrix(rows: 0, columns: 0, rowPointers: [0], columnIndices: [], values: [])
    /// Term × item (the inverted index).
    private var postings = CSRMatrix(rows: 0, columns: 0, rowPointers: [0], columnIndices: [], values: [])
    /// The terms, in column order.
    public private(set) var vocabulary: [String] = []

    public init(parameters: [String: String] = [:]) throws {
        var reader = ParameterReader(model: Self.kind, parameters)
        textWeight = Float(try reader.double("text_weight", default: 0.3, in: 0...100))
        numberWeight = Float(try reader.double("number_weight", default: 0.5, in: 0...100))
        try reader.finish()
    }

    public var parameters: [String: String] {
        ["text_weight": String(textWeight), "number_weight": String(numberWeight)]
    }
    public var itemCount: Int { vectors.rows }

    /// The weight of a term's field.
    private func fieldWeight(_ term: String, table: FeatureTable) -> Float {
        let field = String(term.prefix { $0 != ":" })
        if FeatureTokens.isTextColumn(field) { return textWeight }
        if case .float = table.column(named: field)?.values { return numberWeight }
        return 1
    }

    public mutating func fit(_ data: TrainingData, progress: ProgressHandler? = nil) throws {
        guard let features = data.itemFeatures else {
            throw ModelError.unsuitableData("content needs item features (a .item file or u.item/movies.dat)")
        }
        let documents = FeatureTokens.tokens(of: features)
        var index: [String: Int32] = [:]
        var terms: [String] = []
        var documentFrequency: [Int] = []
        var rows: [[(Int32, Float)]] = []
        for document in documents {
            var counts: [Int32: Float] = [:]
            for token in document {
                let term: Int32
                if let existing = index[token] {
                    term = existing
                } else {
                    term = Int32(terms.count)
                    index[token] = term
                    terms.append(token)
                    documentFrequency.append(0)
                }
                if counts[term] == nil { documentFrequency[Int(term)] += 1 }
                counts[term, default: 0] += 1
            }
            rows.append(counts.sorted { $0.key < $1.key })
        }
        let n = Float(documents.count)
        let idf = zip(documentFrequency, terms).map { frequency, term in
            (Float(log((1 + Double(n)) / (1 + Double(frequency)))) + 1) * fieldWeight(term, table: features)
        }
        var pointers = [0]
        var columns: [Int32] = []
        var values: [Float] = []
        for row in rows {
            let weights = row.map { $0.1 * idf[Int($0.0)] }
            let norm = max(weights.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
            for ((term, _), weight) in zip(row, weights) {
                columns.append(term)
                values.append(weight / norm)
            }
            pointers.append(columns.count)
        }
        vocabulary = terms
        adopt(
            CSRMatrix(
                rows: rows.count, columns: terms.count, rowPointers: pointers, columnIndices: columns, values: values))
    }

    private mutating func adopt(_ matrix: CSRMatrix) {
        vectors = matrix
        postings = matrix.transposed()
    }

    /// `Σ_t profile_t · v_it` for every item, through the inverted index.
    private func scores(profile: [Int32: Float]) -> [Float] {
        var scores = [Float](repeating: 0, count: itemCount)
        // Terms in a fixed order, so that the same history always sums in the same order.
        for (term, weight) in profile.sorted(by: { $0.key < $1.key }) {
            for k in postings.rowPointers[Int(term)]..<postings.rowPointers[Int(term) + 1] {
                scores[Int(postings.columnIndices[k])] += weight * postings.values[k]
            }
        }
        return scores
    }

    private func profile(_ items: [(item: Int32, count: Float)]) -> [Int32: Float] {
        var profile: [Int32: Float] = [:]
        for (item, count) in items {
            for k in vectors.rowPointers[Int(item)]..<vectors.rowPointers[Int(item) + 1] {
                profile[vectors.columnIndices[k], default: 0] += count * vectors.values[k]
            }
        }
        return profile
    }

    public func score(_ context: ScoringContext, into scores: inout [Float]) throws {
        guard itemCount > 0 else { throw ModelError.notFitted }
        scores = self.scores(profile: profile(try context.historyCounts(items: itemCount)))
    }

    public func similarItems(to item: Int32, count: Int) throws -> [ScoredItem] {
        guard itemCount > 0 else { throw ModelError.notFitted }
        guard item >= 0 && Int(item) < itemCount else { throw ModelError.unknownItem(item) }
        return TopK.select(count, from: scores(profile: profile([(item, 1)]))) { $0 != item }.filter { $0.score > 0 }
    }

    public func explain(_ context: ScoringContext, item: Int32, count: Int) throws -> [Contribution] {
        guard itemCount > 0 else { throw ModelError.notFitted }
        guard item >= 0 && Int(item) < itemCount else { throw ModelError.unknownItem(item) }
        let target = profile([(item, 1)])
        let contributions = try context.historyCounts(items: itemCount).map { entry -> Contribution in
            var dot: Float = 0
            for k in vectors.rowPointers[Int(entry.item)]..<vectors.rowPointers[Int(entry.item) + 1] {
                dot += vectors.values[k] * (target[vectors.columnIndices[k]] ?? 0)
            }
            return Contribution(item: entry.item, weight: entry.count * dot)
        }
        return Array(contributions.filter { $0.weight != 0 }.sorted { $0.weight > $1.weight }.prefix(count))
    }

    /// The terms two items share, by the product of their weights, largest first.
    public func sharedTerms(_ a: Int32, _ b: Int32, count: Int = 5) -> [(term: String, weight: Float)] {
        let other = profile([(b, 1)])
        var shared: [(term: String, weight: Float)] = []
        for k in vectors.rowPointers[Int(a)]..<vectors.rowPointers[Int(a) + 1] {
            if let w = other[vectors.columnIndices[k]] {
                shared.append((vocabulary[Int(vectors.columnIndices[k])], w * vectors.values[k]))
            }
        }
        return Array(shared.sorted { $0.weight > $1.weight }.prefix(count))
    }

    public func weights() throws -> [String: SafeTensor] {
        guard itemCount > 0 else { throw ModelError.notFitted }
        return vectors.tensors(prefix: "vectors")
    }

    public mutating func load(weights: [String: SafeTensor]) throws {
        try SafeTensors.requireExactKeys(weights, expected: CSRMatrix.keys(prefix: "vectors"))
        adopt(try CSRMatrix(loading: weights, prefix: "vectors"))
        vocabulary = []
    }
}

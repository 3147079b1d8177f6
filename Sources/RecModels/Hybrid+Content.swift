import RecData

/// The hybrid places an item it never trained on from its attributes alone: an item's
/// representation is the mean embedding of its tokens (its identity among them once it has
/// events), so a new item's is the mean of the attribute tokens its description names, as for an
/// item that had no events at training time.
extension Hybrid: ContentDescribing {
    /// The described item's vector and bias, as `itemVectors` holds them (`factors + 1` wide);
    /// tokens the model never saw are skipped, and an item with none known is the zero vector.
    func describedVector(fields: [String: String]) throws -> [Float] {
        try describedVector(
            columns: fields.sorted { $0.key < $1.key }.map {
                FeatureColumn(name: $0.key, type: .token, values: .token([$0.value]))
            })
    }

    /// ``describedVector(fields:)`` from one-row feature columns.
    func describedVector(columns: [FeatureColumn]) throws -> [Float] {
        guard itemCount > 0 else { throw ModelError.notFitted }
        let table = FeatureTable(keyField: "item_id", keys: ["new"], columns: columns)
        let index = Dictionary(itemTokenNames.enumerated().map { ($1, $0) }) { first, _ in first }
        // Token ids in order, as a trained item's feature row holds them (a fixed summation order).
        let tokens = Set(FeatureTokens.tokens(of: table)[0]).compactMap { index[$0] }.map { Int32(itemCount + $0) }
            .filter { Int($0) < itemEmbeddings.rows }.sorted()
        let row = CSRMatrix(
            rows: 1, columns: itemEmbeddings.rows, rowPointers: [0, tokens.count], columnIndices: tokens,
            values: [Float](repeating: tokens.isEmpty ? 0 : 1 / Float(tokens.count), count: tokens.count))
        let (vector, bias) = Self.represent(0, features: row, embeddings: itemEmbeddings, biases: itemBiases)
        return vector + [bias]
    }

    /// Catalogue items whose representations point most in the described item's direction.
    public func similarItems(toFields fields: [String: String], count: Int) throws -> [ScoredItem] {
        let vector = try describedVector(fields: fields)
        // Directions, not biases: the first `factors` columns.
        let scores = itemVectors.cosineSimilarities(toVector: Array(vector.prefix(factors)))
        return TopK.select(count, from: scores)
    }

    /// The user's score for the described item: the same inner product a catalogue item gets.
    public func contentScore(fields: [String: String], context: ScoringContext) throws -> Float {
        zip(try userVector(context), try describedVector(fields: fields)).reduce(0) { $0 + $1.0 * $1.1 }
    }

    /// The title goes to the training data's first title-like item column and the categories to
    /// its first genre-like one (by the token names' prefixes; `title` and `genre` when none).
    public func scoringVector(title: String, categories: [String]) throws -> [Float] {
        let columns = itemTokenNames.compactMap { $0.split(separator: ":", maxSplits: 1).first.map(String.init) }
        let titleColumn = columns.first(where: FeatureTokens.isTextColumn) ?? "title"
        let listColumn = columns.first(where: FeatureTokens.isListColumn) ?? "genre"
        // Categories as a list, so that one named with a space stays one token, as the store's are.
        return try describedVector(columns: [
            FeatureColumn(name: titleColumn, type: .token, values: .token([title])),
            FeatureColumn(name: listColumn, type: .tokenSequence, values: .tokenSequence([categories])),
        ])
    }
}

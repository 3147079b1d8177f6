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
        let tokens = Set(FeatureTokens.tokens(of: table)[0]).compactMap { index[$0] }.map { itemCount + $0 }
            .filter { $0 < itemEmbeddings.rows }
        guard !tokens.isEmpty else { return [Float](repeating: 0, count: factors + 1) }
        let weight = 1 / Float(tokens.count)
        var vector = [Float](repeating: 0, count: factors + 1)
        for token in tokens {
            for d in 0..<factors { vector[d] += weight * itemEmbeddings[token, d] }
            vector[factors] += weight * itemBiases[token]
        }
        return vector
    }

    /// Catalogue items whose representations point most in the described item's direction.
    public func similarItems(toFields fields: [String: String], count: Int) throws -> [ScoredItem] {
        var vector = try describedVector(fields: fields)
        vector[factors] = 0  // compare directions, not biases
        let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
        var scores = [Float](repeating: 0, count: itemCount)
        for item in 0..<itemCount {
            var dot: Float = 0
            var other: Float = 0
            for k in 0..<factors {
                dot += vector[k] * itemVectors[item, k]
                other += itemVectors[item, k] * itemVectors[item, k]
            }
            scores[item] = norm > 0 && other > 0 ? dot / (norm * other.squareRoot()) : 0
        }
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

import RecData
import Tensors

/// Warm start: a new hybrid begins from a previous one's embeddings, matched by identifier and
/// token name.
extension Hybrid {
    /// The token names of `vocabulary` in token order; ids below `rows` are identity tokens.
    static func names(_ vocabulary: [String: Int32], after rows: Int) -> [String] {
        var names = [String](repeating: "", count: vocabulary.count)
        for (name, id) in vocabulary where Int(id) >= rows && Int(id) - rows < names.count {
            names[Int(id) - rows] = name
        }
        return names
    }

    /// Sets `state`'s embeddings and biases to a previous model's: identity tokens matched by
    /// user and item identifier, attribute tokens by name. Returns false, leaving `state`
    /// untouched, when the previous model is not a hybrid of the same width.
    func start(_ state: inout TrainingState, from warm: WarmStart, log: InteractionLog) -> Bool {
        let weights = warm.weights
        guard let users = try? Matrix(loading: weights["user_embeddings"], key: "user_embeddings", columns: factors),
            let items = try? Matrix(loading: weights["item_embeddings"], key: "item_embeddings", columns: factors),
            let biases = try? weights["item_biases"]?.floats(), biases.count == items.rows,
            let userRows = try? weights["user_features.shape"]?.int64s().first,
            let itemRows = try? weights["item_features.shape"]?.int64s().first
        else { return false }
        let previousBiases = Matrix(rows: biases.count, columns: 1, storage: biases)
        var nextBiases = Matrix(rows: state.itemBiases.count, columns: 1, storage: state.itemBiases)
        // Identity tokens: the previous model's user (item) r is its token r.
        WarmStart.copyRows(users, warm.userIDs, into: &state.userEmbeddings, log.userIDs)
        WarmStart.copyRows(items, warm.itemIDs, into: &state.itemEmbeddings, log.itemIDs)
        WarmStart.copyRows(previousBiases, warm.itemIDs, into: &nextBiases, log.itemIDs)
        // Attribute tokens follow the identity tokens (models saved before names were kept have
        // none to match).
        let userNames = (try? weights["user_tokens"]?.strings()) ?? []
        let itemNames = (try? weights["item_tokens"]?.strings()) ?? []
        Self.copyTokens(
            users, userNames, after: Int(userRows), into: &state.userEmbeddings, userTokenNames, after: log.userCount)
        Self.copyTokens(
            items, itemNames, after: Int(itemRows), into: &state.itemEmbeddings, itemTokenNames, after: log.itemCount)
        Self.copyTokens(
            previousBiases, itemNames, after: Int(itemRows), into: &nextBiases, itemTokenNames, after: log.itemCount)
        state.itemBiases = nextBiases.storage
        return true
    }

    /// Copies attribute-token rows by name: previous token `previousRows + k` is
    /// `previousNames[k]`, token `rows + k` of `target` is `names[k]`.
    static func copyTokens(
        _ previous: Matrix<Float>, _ previousNames: [String], after previousRows: Int, into target: inout Matrix<Float>,
        _ names: [String], after rows: Int
    ) {
        guard previous.columns == target.columns else { return }
        let index = Dictionary(previousNames.enumerated().map { ($1, $0) }) { first, _ in first }
        for (k, name) in names.enumerated() {
            guard let old = index[name], previousRows + old < previous.rows, rows + k < target.rows else { continue }
            for c in 0..<target.columns { target[rows + k, c] = previous[previousRows + old, c] }
        }
    }
}

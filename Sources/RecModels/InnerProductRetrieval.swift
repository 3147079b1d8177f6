import Tensors

/// A model whose score of item `i` for a context is an inner product, `q(context) · vᵢ`, with one
/// fixed vector per item: the models an approximate nearest-neighbour index can serve
/// (`RecRetrieval`). ALS, BPR, the hybrid, TextCNN and the sequence models conform.
public protocol InnerProductRetrieval: Recommender {
    /// One row per item: the vectors that scores are inner products with.
    func retrievalItems() throws -> Matrix<Float>

    /// One row per context, so that `queries[r] · items[i]` equals `score(contexts[r])[i]`.
    func retrievalQueries(_ contexts: [ScoringContext]) throws -> Matrix<Float>

    /// Whether `similarItems` ranks by the cosine of ``retrievalItems()`` rows (so an index can
    /// find its candidates). TextCNN's similarity reads its content vectors instead.
    var similarityIsCosineOfRetrievalItems: Bool { get }
}

extension InnerProductRetrieval {
    public var similarityIsCosineOfRetrievalItems: Bool { true }
}

extension FactorScoring {
    public func retrievalItems() throws -> Matrix<Float> {
        guard scoringItems.rows > 0 else { throw ModelError.notFitted }
        return scoringItems
    }

    public func retrievalQueries(_ contexts: [ScoringContext]) throws -> Matrix<Float> {
        try FactorState.rows(contexts, columns: scoringItems.columns, vector: userVector)
    }
}

extension ALS: InnerProductRetrieval {}
extension BPR: InnerProductRetrieval {}
extension Hybrid: InnerProductRetrieval {
    /// Its similarity compares directions without the bias column.
    public var similarityIsCosineOfRetrievalItems: Bool { false }
}

extension NeuralSequenceModel: InnerProductRetrieval {
    /// The output table without its padding row, with the output bias (if any) as a last column.
    public func retrievalItems() throws -> Matrix<Float> {
        guard let network else { throw ModelError.notFitted }
        let table = network.outputWeight.value
        let d = table.shape[1]
        let bias = network.outputBias?.value.scalars
        let columns = d + (bias == nil ? 0 : 1)
        var items = Matrix<Float>(rows: itemCount, columns: columns)
        for i in 0..<itemCount {
            for k in 0..<d { items[i, k] = table.scalars[(i + 1) * d + k] }
            if let bias { items[i, d] = bias[i + 1] }
        }
        return items
    }

    /// The network's last hidden state per context, with a 1 for the bias column.
    public func retrievalQueries(_ contexts: [ScoringContext]) throws -> Matrix<Float> {
        guard let network else { throw ModelError.notFitted }
        let checkedContexts = try contexts.map(checked)
        let hasBias = network.outputBias != nil
        var queries = Matrix<Float>(rows: 0, columns: 0)
        let blockRows = 256
        for blockStart in stride(from: 0, to: checkedContexts.count, by: blockRows) {
            let block = Array(checkedContexts[blockStart..<min(checkedContexts.count, blockStart + blockRows)])
            let hidden = Self.lastHidden(of: network, for: block, maxLength: options.maxLength)
            if queries.rows == 0 {
                queries = Matrix(rows: checkedContexts.count, columns: hidden.columns + (hasBias ? 1 : 0))
            }
            for r in 0..<block.count {
                for k in 0..<hidden.columns { queries[blockStart + r, k] = hidden[r, k] }
                if hasBias { queries[blockStart + r, hidden.columns] = 1 }
            }
        }
        return queries
    }
}

extension TextCNN: InnerProductRetrieval {
    public var similarityIsCosineOfRetrievalItems: Bool { false }

    public func retrievalItems() throws -> Matrix<Float> {
        guard itemCount > 0 else { throw ModelError.notFitted }
        return scoringVectors
    }

    public func retrievalQueries(_ contexts: [ScoringContext]) throws -> Matrix<Float> {
        try FactorState.rows(contexts, columns: scoringVectors.columns, vector: userVector)
    }
}

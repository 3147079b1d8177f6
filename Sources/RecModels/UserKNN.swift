import RecData
import Tensors

/// User-based k-nearest neighbours with cosine similarity (Resnick et al. 1994), as RecBole's
/// `UserKNN`: `sim(u, v) = x_u · x_v / (‖x_u‖ ‖x_v‖ + shrink + 1e-6)`, the `k` most similar
/// training users vote, `score(j) = Σ_v sim(u, v) x_vj`.
///
/// Similarities are computed at request time from the context's history, so a user the model
/// never saw is served too; a known user is never their own neighbour.
///
/// Parameters:
/// - `k` (default 100): neighbours that vote.
/// - `shrink` (default 0): added to the denominator.
public struct UserKNN: Recommender {
    public static let kind = ModelKind.userKNN
    public let neighbourCount: Int
    public let shrink: Double
    /// Training user × item matrix and its transpose.
    private var matrix: CSRMatrix?
    private var byItem: CSRMatrix?
    private var norms: [Float] = []

    public init(parameters: [String: String] = [:]) throws {
        var reader = ParameterReader(model: Self.kind, parameters)
        neighbourCount = try reader.int("k", default: 100, in: 1...1_000_000)
        shrink = try reader.double("shrink", default: 0, in: 0...1e12)
        try reader.finish()
    }

    public var parameters: [String: String] { ["k": String(neighbourCount), "shrink": String(shrink)] }
    public var itemCount: Int { matrix?.columns ?? 0 }

    public mutating func fit(_ data: TrainingData, progress: ProgressHandler? = nil) throws {
        guard data.itemCount > 0, data.userCount > 0 else {
            throw ModelError.unsuitableData("userknn needs users and items")
        }
        adopt(data.matrix)
    }

    private mutating func adopt(_ matrix: CSRMatrix) {
        self.matrix = matrix
        byItem = matrix.transposed()
        norms = (0..<matrix.rows).map { r in matrix.values(ofRow: r).reduce(0) { $0 + $1 * $1 }.squareRoot() }
    }

    /// The `k` nearest training users of `context` with their similarities.
    private func neighbours(_ context: ScoringContext) throws -> (
        history: [(item: Int32, count: Float)], users: [ScoredItem]
    ) {
        guard let byItem else { throw ModelError.notFitted }
        let history = try context.historyCounts(items: itemCount)
        var dots = [Float](repeating: 0, count: norms.count)
        var touched: [Int32] = []
        for (item, count) in history {
            for k in byItem.rowPointers[Int(item)]..<byItem.rowPointers[Int(item) + 1] {
                let v = Int(byItem.columnIndices[k])
                if dots[v] == 0 { touched.append(Int32(v)) }
                dots[v] += count * byItem.values[k]
            }
        }
        let norm = history.reduce(Float(0)) { $0 + $1.count * $1.count }.squareRoot()
        var similarity = [Float](repeating: 0, count: norms.count)
        for v in touched where Int32(v) != context.user {
            similarity[Int(v)] = dots[Int(v)] / (norm * norms[Int(v)] + Float(shrink) + 1e-6)
        }
        let users = TopK.select(neighbourCount, from: similarity).filter { $0.score > 0 }
        return (history, users)
    }

    public func score(_ context: ScoringContext, into scores: inout [Float]) throws {
        guard let matrix else { throw ModelError.notFitted }
        if scores.count != itemCount { scores = [Float](repeating: 0, count: itemCount) }
        for j in 0..<itemCount { scores[j] = 0 }
        for neighbour in try neighbours(context).users {
            let v = Int(neighbour.item)
            for k in matrix.rowPointers[v]..<matrix.rowPointers[v + 1] {
                scores[Int(matrix.columnIndices[k])] += neighbour.score * matrix.values[k]
            }
        }
    }

    /// Items that the same users interacted with, by cosine similarity of item columns.
    public func similarItems(to item: Int32, count: Int) throws -> [ScoredItem] {
        guard let matrix, let byItem else { throw ModelError.notFitted }
        guard item >= 0 && Int(item) < itemCount else { throw ModelError.unknownItem(item) }
        var dots = [Float](repeating: 0, count: itemCount)
        var itemNorms = [Float](repeating: 0, count: itemCount)
        for (c, v) in zip(matrix.columnIndices, matrix.values) { itemNorms[Int(c)] += v * v }
        for k in byItem.rowPointers[Int(item)]..<byItem.rowPointers[Int(item) + 1] {
            let u = Int(byItem.columnIndices[k])
            for p in matrix.rowPointers[u]..<matrix.rowPointers[u + 1] {
                dots[Int(matrix.columnIndices[p])] += byItem.values[k] * matrix.values[p]
            }
        }
        let own = itemNorms[Int(item)].squareRoot()
        for j in 0..<itemCount { dots[j] /= own * itemNorms[j].squareRoot() + Float(shrink) + 1e-6 }
        return TopK.select(count, from: dots) { $0 != item }.filter { $0.score > 0 }
    }

    /// Splits the score exactly over history items: item `i` earns
    /// `Σ_v x_ui x_vi x_vj / (‖x_u‖ ‖x_v‖ + shrink + 1e-6)` over the neighbours `v` who have `j`.
    public func explain(_ context: ScoringContext, item: Int32, count: Int) throws -> [Contribution] {
        guard let matrix else { throw ModelError.notFitted }
        guard item >= 0 && Int(item) < itemCount else { throw ModelError.unknownItem(item) }
        let (history, users) = try neighbours(context)
        let norm = history.reduce(Float(0)) { $0 + $1.count * $1.count }.squareRoot()
        var weights: [Int32: Float] = [:]
        for neighbour in users {
            let v = Int(neighbour.item)
            let row = matrix.indices(ofRow: v)
            let values = matrix.values(ofRow: v)
            guard let target = row.firstIndex(of: item) else { continue }
            let denominator = norm * norms[v] + Float(shrink) + 1e-6
            for (source, times) in history {
                if let p = row.firstIndex(of: source) {
                    weights[source, default: 0] += times * values[p] * values[target] / denominator
                }
            }
        }
        return Array(
            weights.map { Contribution(item: $0.key, weight: $0.value) }
                .sorted { $0.weight != $1.weight ? $0.weight > $1.weight : $0.item ?? 0 < $1.item ?? 0 }.prefix(count))
    }

    public func weights() throws -> [String: SafeTensor] {
        guard let matrix else { throw ModelError.notFitted }
        return [
            "interactions.indptr": SafeTensor(matrix.rowPointers.map(Int64.init)),
            "interactions.indices": SafeTensor(matrix.columnIndices),
            "interactions.values": SafeTensor(matrix.values),
            "interactions.shape": SafeTensor([Int64(matrix.rows), Int64(matrix.columns)]),
        ]
    }

    public mutating func load(weights: [String: SafeTensor]) throws {
        let keys: Set<String> = [
            "interactions.indptr", "interactions.indices", "interactions.values", "interactions.shape",
        ]
        try SafeTensors.requireExactKeys(weights, expected: keys)
        adopt(try CSRMatrix(loading: weights, prefix: "interactions"))
    }
}

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
    private var itemNorms: [Float] = []

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
        var squares = [Float](repeating: 0, count: matrix.columns)
        for (c, v) in zip(matrix.columnIndices, matrix.values) { squares[Int(c)] += v * v }
        itemNorms = squares.map { $0.squareRoot() }
    }

    /// The `k` nearest training users of `context` with their similarities. Only the users who
    /// share an item with the history are visited: the work is the history's item popularities,
    /// plus one pass to clear an array of users.
    private func neighbours(_ context: ScoringContext) throws -> (
        history: [(item: Int32, count: Float)], users: [ScoredItem]
    ) {
        guard let byItem else { throw ModelError.notFitted }
        let history = try context.historyCounts(items: itemCount)
        let norm = history.reduce(Float(0)) { $0 + $1.count * $1.count }.squareRoot()
        var (similarity, touched) = Self.accumulate(history, through: byItem, size: norms.count, skip: context.user)
        for v in touched { similarity[Int(v)] /= norm * norms[Int(v)] + Float(shrink) + 1e-6 }
        let users = similarity.withUnsafeBufferPointer { similarity in
            touched.withUnsafeBufferPointer { TopK.select(neighbourCount, among: $0, scores: similarity) }
        }
        return (history, users.filter { $0.score > 0 })
    }

    /// `Σ_(i, w) w · transpose[i, ·]` over `rows`, with the columns it reached, each once, never
    /// `skip`.
    private static func accumulate(
        _ rows: [(item: Int32, count: Float)], through transpose: CSRMatrix, size: Int, skip: Int32?
    ) -> (sums: [Float], touched: [Int32]) {
        var sums = [Float](repeating: 0, count: size)
        var reached = [Bool](repeating: false, count: size)
        var touched: [Int32] = []
        for (row, weight) in rows {
            for k in transpose.rowPointers[Int(row)]..<transpose.rowPointers[Int(row) + 1] {
                let column = transpose.columnIndices[k]
                guard column != skip else { continue }
                if !reached[Int(column)] {
                    reached[Int(column)] = true
                    touched.append(column)
                }
                sums[Int(column)] += weight * transpose.values[k]
            }
        }
        return (sums, touched)
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

    /// Items that the same users interacted with, by cosine similarity of item columns. Only the
    /// items those users reached are scored.
    public func similarItems(to item: Int32, count: Int) throws -> [ScoredItem] {
        guard let matrix, let byItem else { throw ModelError.notFitted }
        guard item >= 0 && Int(item) < itemCount else { throw ModelError.unknownItem(item) }
        let users = (byItem.rowPointers[Int(item)]..<byItem.rowPointers[Int(item) + 1]).map {
            (item: byItem.columnIndices[$0], count: byItem.values[$0])
        }
        var (dots, touched) = Self.accumulate(users, through: matrix, size: itemCount, skip: item)
        let own = itemNorms[Int(item)]
        for j in touched { dots[Int(j)] /= own * itemNorms[Int(j)] + Float(shrink) + 1e-6 }
        let best = dots.withUnsafeBufferPointer { dots in
            touched.withUnsafeBufferPointer { TopK.select(count, among: $0, scores: dots) }
        }
        return best.filter { $0.score > 0 }
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
        return matrix.tensors(prefix: "interactions")
    }

    public mutating func load(weights: [String: SafeTensor]) throws {
        try SafeTensors.requireExactKeys(weights, expected: CSRMatrix.keys(prefix: "interactions"))
        adopt(try CSRMatrix(loading: weights, prefix: "interactions"))
    }
}

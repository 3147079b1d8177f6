import Foundation
import RecData
import Tensors

/// TIFU-KNN (Hu, He, Gao & Zhang, "Modeling Personalized Item Frequency Information for
/// Next-basket Recommendation", SIGIR 2020): a user is a time-decayed, grouped frequency vector
/// of their baskets, and the prediction mixes it with the mean vector of their nearest users.
///
/// As the authors' `TIFUKNN.py` computes it (`benchmarks/tifuknn_reference.py` is an independent
/// NumPy copy that the tests' figures are checked against):
/// - the `n` history baskets (oldest first, each its set of items) are cut into `groups` (`m`)
///   consecutive groups: with `n < m` each basket is a group; otherwise the `m − (n mod m)`
///   oldest groups hold `⌊n/m⌋` baskets and the rest one more;
/// - basket `i` (1-based) weighs `within_decay^(n − i)`, over the whole history; a group's vector
///   is the mean of its baskets' weighted 0/1 vectors;
/// - the user's vector is `(1/G) Σ_j group_decay^(m − 1 − j) · group_j` over its `G` groups,
///   oldest `j = 0`;
/// - the `neighbors` users nearest by Euclidean distance (ties to the smaller index; never the
///   user itself) are averaged, and the score is `alpha · user + (1 − alpha) · mean(neighbors)`.
///
/// Parameters and defaults (the settings for Instacart of Li et al.'s reproduction,
/// "A Next Basket Recommendation Reality Check", TOIS 2023): `neighbors` 900, `within_decay`
/// 0.9, `group_decay` 0.7, `alpha` 0.9, `groups` 3. The neighbours are the training users, each
/// described by its training baskets.
public struct TIFUKNN: Recommender {
    public static let kind = ModelKind.tifuKNN
    public let neighbors: Int
    public let withinDecay: Double
    public let groupDecay: Double
    public let alpha: Double
    public let groups: Int
    /// The training users' vectors, `(users, items)`; a user without training events has an
    /// empty row and is nobody's neighbour.
    public private(set) var vectors = CSRMatrix(rows: 0, columns: 0, rowPointers: [0], columnIndices: [], values: [])
    /// ``vectors`` by item: the users whose vector holds each item.
    private var byItem = CSRMatrix(rows: 0, columns: 0, rowPointers: [0], columnIndices: [], values: [])
    /// Squared norm of each user's vector.
    private var squaredNorms: [Double] = []

    public init(parameters: [String: String] = [:]) throws {
        var reader = ParameterReader(model: Self.kind, parameters)
        neighbors = try reader.int("neighbors", default: 900, in: 1...1_000_000)
        withinDecay = try reader.double("within_decay", default: 0.9, in: 0...1)
        groupDecay = try reader.double("group_decay", default: 0.7, in: 0...1)
        alpha = try reader.double("alpha", default: 0.9, in: 0...1)
        groups = try reader.int("groups", default: 3, in: 1...10_000)
        try reader.finish()
    }

    public var parameters: [String: String] {
        [
            "neighbors": String(neighbors), "within_decay": String(withinDecay), "group_decay": String(groupDecay),
            "alpha": String(alpha), "groups": String(groups),
        ]
    }

    public var itemCount: Int { vectors.columns }

    public mutating func fit(_ data: TrainingData, progress: ProgressHandler? = nil) throws {
        let log = data.log
        var pointers = [0]
        var columns: [Int32] = []
        var values: [Float] = []
        for events in log.basketsByUser() {
            let baskets = events.map { basket in basket.map { log.items[$0] } }
            for (item, weight) in userVector(baskets).sorted(by: { $0.key < $1.key }) {
                columns.append(item)
                values.append(Float(weight))
            }
            pointers.append(columns.count)
        }
        install(
            CSRMatrix(
                rows: log.userCount, columns: log.itemCount, rowPointers: pointers, columnIndices: columns,
                values: values))
    }

    private mutating func install(_ matrix: CSRMatrix) {
        vectors = matrix
        byItem = matrix.transposed()
        squaredNorms = (0..<matrix.rows).map { row in matrix.values(ofRow: row).reduce(0) { $0 + Double($1 * $1) } }
    }

    /// A user's vector from their baskets, oldest first (items repeated in a basket count once).
    func userVector(_ baskets: [[Int32]]) -> [Int32: Double] {
        let n = baskets.count
        guard n > 0 else { return [:] }
        // Group sizes, oldest first.
        var sizes: [Int]
        if n < groups {
            sizes = [Int](repeating: 1, count: n)
        } else {
            let (base, extra) = (n / groups, n % groups)
            sizes = [Int](repeating: base, count: groups - extra) + [Int](repeating: base + 1, count: extra)
        }
        var vector: [Int32: Double] = [:]
        var basket = 0
        for (group, size) in sizes.enumerated() {
            let groupWeight = pow(groupDecay, Double(groups - 1 - group)) / Double(size) / Double(sizes.count)
            for _ in 0..<size {
                let weight = pow(withinDecay, Double(n - 1 - basket)) * groupWeight
                for item in Set(baskets[basket]) { vector[item, default: 0] += weight }
                basket += 1
            }
        }
        return vector
    }

    /// The `neighbors` training users nearest to `vector` (Euclidean), without `user`.
    func nearestUsers(to vector: [Int32: Double], excluding user: Int32?) -> [Int] {
        let users = vectors.rows
        var dot = [Double](repeating: 0, count: users)
        for (item, weight) in vector where Int(item) < byItem.rows {
            for k in byItem.rowPointers[Int(item)]..<byItem.rowPointers[Int(item) + 1] {
                dot[Int(byItem.columnIndices[k])] += weight * Double(byItem.values[k])
            }
        }
        let norm = vector.values.reduce(0) { $0 + $1 * $1 }
        var pool: [(distance: Double, user: Int)] = []
        pool.reserveCapacity(users)
        for u in 0..<users where u != user.map(Int.init) && vectors.rowPointers[u] < vectors.rowPointers[u + 1] {
            pool.append((norm + squaredNorms[u] - 2 * dot[u], u))
        }
        let count = min(neighbors, pool.count)
        guard count < pool.count else { return pool.map(\.user) }
        pool.sort { ($0.distance, $0.user) < ($1.distance, $1.user) }
        return pool.prefix(count).map(\.user)
    }

    public func score(_ context: ScoringContext, into scores: inout [Float]) throws {
        guard vectors.columns > 0 else { throw ModelError.notFitted }
        let own = userVector(context.historyBaskets)
        let near = nearestUsers(to: own, excluding: context.user)
        var mixed = [Double](repeating: 0, count: vectors.columns)
        for (item, weight) in own where Int(item) < mixed.count { mixed[Int(item)] += alpha * weight }
        let share = near.isEmpty ? 0 : (1 - alpha) / Double(near.count)
        for u in near {
            for k in vectors.rowPointers[u]..<vectors.rowPointers[u + 1] {
                mixed[Int(vectors.columnIndices[k])] += share * Double(vectors.values[k])
            }
        }
        scores = mixed.map { Float($0) }
    }

    /// Items most bought together with `item`: the sum, over the training users who hold it, of
    /// their vectors (each scaled by its weight on `item`).
    public func similarItems(to item: Int32, count: Int) throws -> [ScoredItem] {
        guard vectors.columns > 0 else { throw ModelError.notFitted }
        guard item >= 0 && Int(item) < vectors.columns else { throw ModelError.unknownItem(item) }
        var scores = [Float](repeating: 0, count: vectors.columns)
        for k in byItem.rowPointers[Int(item)]..<byItem.rowPointers[Int(item) + 1] {
            let u = Int(byItem.columnIndices[k])
            for j in vectors.rowPointers[u]..<vectors.rowPointers[u + 1] {
                scores[Int(vectors.columnIndices[j])] += byItem.values[k] * vectors.values[j]
            }
        }
        return TopK.select(count, from: scores) { $0 != item }
    }

    /// Two reasons at most: the user's own purchases of the item (`bought 3 times, last 1
    /// basket ago`) and the neighbours who bought it, each with its share of the score.
    public func explain(_ context: ScoringContext, item: Int32, count: Int) throws -> [Contribution] {
        guard vectors.columns > 0 else { throw ModelError.notFitted }
        guard item >= 0 && Int(item) < vectors.columns else { throw ModelError.unknownItem(item) }
        let own = userVector(context.historyBaskets)
        var reasons: [Contribution] = []
        if let weight = own[item], weight > 0 {
            let baskets = context.historyBaskets
            let bought = baskets.filter { $0.contains(item) }.count
            let last = baskets.count - 1 - (baskets.lastIndex { $0.contains(item) } ?? 0)
            let ago = last == 0 ? "in the last basket" : "last \(last) basket\(last == 1 ? "" : "s") ago"
            reasons.append(
                Contribution(
                    item: item, feature: "bought \(bought == 1 ? "once" : "\(bought) times"), \(ago)",
                    weight: Float(alpha * weight)))
        }
        let near = nearestUsers(to: own, excluding: context.user)
        var fromNeighbours = 0.0
        var buyers = 0
        for u in near {
            let row = vectors.indices(ofRow: u)
            if let position = row.firstIndex(of: item) {
                fromNeighbours += Double(vectors.values[position])
                buyers += 1
            }
        }
        if buyers > 0 {
            let weight = (1 - alpha) / Double(near.count) * fromNeighbours
            reasons.append(
                Contribution(feature: "bought by \(buyers) of \(near.count) similar shoppers", weight: Float(weight)))
        }
        return Array(reasons.sorted { $0.weight > $1.weight }.prefix(max(1, count)))
    }

    public func weights() throws -> [String: SafeTensor] {
        guard vectors.columns > 0 else { throw ModelError.notFitted }
        return vectors.tensors(prefix: "user_vectors")
    }

    public mutating func load(weights: [String: SafeTensor]) throws {
        try SafeTensors.requireExactKeys(weights, expected: CSRMatrix.keys(prefix: "user_vectors"))
        install(try CSRMatrix(loading: weights, prefix: "user_vectors"))
    }
}

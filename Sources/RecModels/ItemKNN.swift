import Foundation
import RecData
import Tensors

/// Item-based k-nearest neighbours with cosine similarity (Sarwar et al. 2001), as RecBole's
/// `ItemKNN`: `sim(i, j) = Σ_u x_ui x_uj / (‖x_i‖ ‖x_j‖ + shrink + 1e-6)`, each item keeps its
/// `k` most similar items as neighbours, and a user's score for item `i` sums `x_uj · sim(i, j)`
/// over the neighbours `j` of `i` in the user's history.
///
/// Parameters:
/// - `k` (default 100, RecBole's): neighbours kept per item.
/// - `shrink` (default 0): added to the denominator, damping similarities built on few users.
public struct ItemKNN: Recommender {
    public static let kind = ModelKind.itemKNN
    public let neighbourCount: Int
    public let shrink: Double

    /// Item `i`'s neighbours are `neighbours[rowPointers[i]..<rowPointers[i+1]]`, most similar first.
    public private(set) var rowPointers: [Int] = []
    public private(set) var neighbours: [Int32] = []
    public private(set) var similarities: [Float] = []
    /// The transpose, for scoring: row `j` lists the items that have `j` as a neighbour.
    private var reverse = CSRMatrix(rows: 0, columns: 0, rowPointers: [0], columnIndices: [], values: [])

    public init(parameters: [String: String] = [:]) throws {
        var reader = ParameterReader(model: Self.kind, parameters)
        neighbourCount = try reader.int("k", default: 100, in: 1...100_000)
        shrink = try reader.double("shrink", default: 0, in: 0...1e12)
        try reader.finish()
    }

    public var parameters: [String: String] { ["k": String(neighbourCount), "shrink": String(shrink)] }
    public var itemCount: Int { max(0, rowPointers.count - 1) }

    public mutating func fit(_ data: TrainingData, progress: ProgressHandler? = nil) throws {
        let items = data.itemCount
        guard items > 0 else { throw ModelError.unsuitableData("itemknn needs at least one item") }
        var norms = [Float](repeating: 0, count: items)
        for (c, v) in zip(data.matrix.columnIndices, data.matrix.values) { norms[Int(c)] += v * v }
        norms = norms.map { $0.squareRoot() }
        let k = min(neighbourCount, items)
        let shrink = Float(self.shrink)
        var lists = [Int32](repeating: -1, count: items * k)
        var weights = [Float](repeating: 0, count: items * k)
        lists.withUnsafeMutableBufferPointer { lists in
            weights.withUnsafeMutableBufferPointer { weights in
                norms.withUnsafeBufferPointer { norms in
                    // Only the items that share a user with i can have a similarity: the work is
                    // Σ_u n_u², never items², and the memory items × k.
                    Cooccurrence.forEachRow(of: data.matrix, progress: progress, step: "itemknn: similarities") {
                        i, row, touched in
                        row[i] = 0
                        for j in touched {
                            let j = Int(j)
                            row[j] /= norms[i] * norms[j] + shrink + 1e-6
                        }
                        let best = TopK.select(k, among: touched, scores: UnsafeBufferPointer(row))
                        for (slot, entry) in best.enumerated() where entry.score > 0 {
                            lists[i * k + slot] = entry.item
                            weights[i * k + slot] = entry.score
                        }
                    }
                }
            }
        }
        var pointers = [0]
        var outNeighbours: [Int32] = []
        var outWeights: [Float] = []
        for i in 0..<items {
            for slot in 0..<k where lists[i * k + slot] >= 0 {
                outNeighbours.append(lists[i * k + slot])
                outWeights.append(weights[i * k + slot])
            }
            pointers.append(outNeighbours.count)
        }
        guard outWeights.allSatisfy(\.isFinite) else { throw ModelError.nonFinite("in item similarities") }
        adopt(pointers: pointers, neighbours: outNeighbours, similarities: outWeights)
    }

    private mutating func adopt(pointers: [Int], neighbours: [Int32], similarities: [Float]) {
        rowPointers = pointers
        self.neighbours = neighbours
        self.similarities = similarities
        let items = pointers.count - 1
        reverse = CSRMatrix(
            rows: items, columns: items, rowPointers: pointers, columnIndices: neighbours, values: similarities
        ).transposed()
    }

    public func score(_ context: ScoringContext, into scores: inout [Float]) throws {
        let items = itemCount
        guard items > 0 else { throw ModelError.notFitted }
        if scores.count != items { scores = [Float](repeating: 0, count: items) }
        for j in 0..<items { scores[j] = 0 }
        for (item, count) in try context.historyCounts(items: items) {
            for k in reverse.rowPointers[Int(item)]..<reverse.rowPointers[Int(item) + 1] {
                scores[Int(reverse.columnIndices[k])] += count * reverse.values[k]
            }
        }
    }

    public func similarItems(to item: Int32, count: Int) throws -> [ScoredItem] {
        guard itemCount > 0 else { throw ModelError.notFitted }
        guard item >= 0 && Int(item) < itemCount else { throw ModelError.unknownItem(item) }
        let range = rowPointers[Int(item)]..<rowPointers[Int(item) + 1]
        return range.prefix(count).map { ScoredItem(item: neighbours[$0], score: similarities[$0]) }
    }

    public func explain(_ context: ScoringContext, item: Int32, count: Int) throws -> [Contribution] {
        guard itemCount > 0 else { throw ModelError.notFitted }
        guard item >= 0 && Int(item) < itemCount else { throw ModelError.unknownItem(item) }
        let history = Dictionary(try context.historyCounts(items: itemCount).map { ($0.item, $0.count) }) { $0 + $1 }
        var result: [Contribution] = []
        for k in rowPointers[Int(item)]..<rowPointers[Int(item) + 1] {
            if let times = history[neighbours[k]] {
                result.append(Contribution(item: neighbours[k], weight: times * similarities[k]))
            }
        }
        return Array(result.sorted { $0.weight > $1.weight }.prefix(count))
    }

    public func weights() throws -> [String: SafeTensor] {
        guard itemCount > 0 else { throw ModelError.notFitted }
        return [
            "neighbours.indptr": SafeTensor(rowPointers.map(Int64.init)),
            "neighbours.indices": SafeTensor(neighbours),
            "neighbours.values": SafeTensor(similarities),
        ]
    }

    public mutating func load(weights: [String: SafeTensor]) throws {
        try SafeTensors.requireExactKeys(
            weights, expected: ["neighbours.indptr", "neighbours.indices", "neighbours.values"])
        let pointers = try weights["neighbours.indptr"]?.int64s(key: "neighbours.indptr").map(Int.init) ?? []
        let indices = try weights["neighbours.indices"]?.int32s(key: "neighbours.indices") ?? []
        let values = try weights["neighbours.values"]?.floats(key: "neighbours.values") ?? []
        let items = pointers.count - 1
        guard items > 0, pointers.first == 0, pointers.last == indices.count, indices.count == values.count,
            zip(pointers, pointers.dropFirst()).allSatisfy({ $0 <= $1 }),
            indices.allSatisfy({ $0 >= 0 && Int($0) < items })
        else {
            throw CheckpointError.mismatch(
                key: "neighbours", expected: "a valid CSR item–item matrix", found: "inconsistent arrays")
        }
        adopt(pointers: pointers, neighbours: indices, similarities: values)
    }
}

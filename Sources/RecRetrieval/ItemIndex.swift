import Foundation
import RecData
import RecModels
import Synchronization
import Tensors

/// How an item index is built and searched.
public struct ANNSettings: Sendable, Equatable, Codable {
    /// The graph's distance. `ip` (the default) builds the graph on hnswlib's inner-product
    /// space (`1 − q·x`), a non-metric similarity graph (Morozov & Babenko 2018). `mips` is the
    /// classic reduction to nearest neighbours (Bachrach et al. 2014): each item gets one more
    /// coordinate, `√(M² − |x|²)` with `M` the largest item norm, and the query a 0, so the L2
    /// order is the inner-product order. On ALS factors of 10^6 items it puts almost every item
    /// near a sphere around the query and the search loses its way: recall@10 0.11 against 0.87
    /// for `ip` at the same width (docs/scale.md).
    public enum Space: String, Sendable, Codable, CaseIterable {
        case ip
        case mips

        var metric: HNSWGraph.Metric { self == .mips ? .l2 : .innerProduct }

        /// Floats per point in the graph: the vector, plus the reduction's coordinate (`mips`).
        func graphDimension(_ columns: Int) -> Int { columns + (self == .mips ? 1 : 0) }
    }

    public var space = Space.ip
    /// Links per node (hnswlib's `M`; twice as many in the base layer).
    public var m = 16
    /// Candidates explored per insertion.
    public var efConstruction = 200
    /// Candidates explored per search (at least the number asked for). ``Retriever`` sets it to
    /// the narrowest width of a ladder that reached the target recall on sampled users
    /// (``IndexCalibration``); what a width gives depends on the log (docs/scale.md).
    public var ef = 256
    public var seed = 100
    /// Items of the largest norms scored exactly on every search (``ExactHead``), a search
    /// setting like `ef`; 0 searches the graph alone.
    public var exactHead = 4_096

    public init() {}

    enum CodingKeys: String, CodingKey {
        case space, m, efConstruction, ef, seed
    }

    /// For reports: `hnswlib ip M 16 efC 200 ef 256, exact head 4096`.
    public var summary: String {
        "hnswlib \(space.rawValue) M \(m) efC \(efConstruction) ef \(ef)"
            + (exactHead > 0 ? ", exact head \(exactHead)" : "")
    }
}

/// An HNSW index over a model's item vectors, answering "the items with the highest inner
/// product with this query" approximately, with filters, and the exact scores of what it returns.
public struct ItemIndex: Sendable {
    /// How the index was built, and the search width in use (`ef`).
    public internal(set) var settings: ANNSettings
    /// What the build measured of its recall (``calibrate(_:request:)``), if it was measured.
    public internal(set) var calibration: IndexCalibration?
    /// The model's item vectors: returned items are scored exactly against them.
    let items: Matrix<Float>
    /// The reduction's `M` (0 for `ip`).
    let maxNorm: Float
    let graph: HNSWGraph
    /// Vectors of items inserted after the build (labels from `items.rows` on), shared by copies.
    let added = AddedVectors()
    /// The items of the largest norms, scored exactly.
    let head: ExactHead
    /// Labels taken out of results, shared by copies.
    let removed = RemovedLabels()

    /// Items the index was built with; labels from here on are items added with ``add(_:)``.
    public var itemCount: Int { items.rows }

    /// Builds the index on `threads` threads; `progress` gets (items done, items).
    public init(
        items: Matrix<Float>, settings: ANNSettings = ANNSettings(), threads: Int = Parallel.threadCount,
        progress: ((Int, Int) -> Void)? = nil
    ) throws {
        self.settings = settings
        self.items = items
        let norms = Self.norms(items)
        head = ExactHead(items: items, norms: norms, size: settings.exactHead)
        maxNorm = settings.space == .mips ? (norms.max() ?? 0) : 0
        graph = try HNSWGraph(
            metric: settings.space.metric, dimension: settings.space.graphDimension(items.columns),
            capacity: items.rows,
            m: settings.m, efConstruction: settings.efConstruction, seed: settings.seed)
        let (order, levels) = Self.insertionOrder(count: items.rows, m: settings.m, seed: settings.seed)
        let block = 16_384
        for start in stride(from: 0, to: items.rows, by: block) {
            let end = min(items.rows, start + block)
            let rows = order[start..<end].flatMap { graphVector(items.row($0), norm: norms[$0]) }
            try rows.withUnsafeBufferPointer {
                try graph.add(
                    $0, labels: Array(order[start..<end]), levels: Array(levels[start..<end]), threads: threads)
            }
            progress?(end, items.rows)
        }
    }

    /// The order in which a build inserts items, with each item's top layer: FAISS's
    /// (`hnsw_add_vertices`). Layers are drawn as hnswlib draws them (`⌊−ln u / ln M⌋`); items go
    /// in from the highest layer down, in a seeded random order within a layer. In item order the
    /// graph would be built most popular first (the order most logs number items in), and its
    /// hubs would link before the rest of the catalogue exists.
    static func insertionOrder(count: Int, m: Int, seed: Int) -> (order: [Int], levels: [Int32]) {
        var generator = SeededGenerator(seed: UInt64(truncatingIfNeeded: seed))
        let scale = 1 / Foundation.log(Double(max(m, 2)))
        let drawn = (0..<count).map { _ in
            Int32(min(-Foundation.log(Double.random(in: Double.ulpOfOne...1, using: &generator)) * scale, 64))
        }
        var order = Array(0..<count)
        order.shuffle(using: &generator)
        // A stable sort keeps the shuffled order within a layer.
        order = order.enumerated().sorted { a, b in
            drawn[a.element] != drawn[b.element] ? drawn[a.element] > drawn[b.element] : a.offset < b.offset
        }.map(\.element)
        return (order, order.map { drawn[$0] })
    }

    init(settings: ANNSettings, items: Matrix<Float>, maxNorm: Float, graph: HNSWGraph) {
        self.settings = settings
        self.items = items
        self.maxNorm = maxNorm
        self.graph = graph
        head = ExactHead(items: items, norms: Self.norms(items), size: settings.exactHead)
    }

    /// The vector the graph holds for an item's vector of length `norm`: the vector itself, or
    /// under `mips` the reduction's `[x, √(M² − |x|²)]`, a vector longer than `M` (an item added
    /// after the build) first shortened to `M` with its direction kept.
    func graphVector(_ vector: ArraySlice<Float>, norm: Float) -> [Float] {
        guard settings.space == .mips else { return Array(vector) }
        var reduced = norm > maxNorm && norm > 0 ? vector.map { $0 * maxNorm / norm } : Array(vector)
        let length = min(norm, maxNorm)
        reduced.append(max(0, maxNorm * maxNorm - length * length).squareRoot())
        return reduced
    }

    static func norms(_ items: Matrix<Float>) -> [Float] {
        items.storage.withUnsafeBufferPointer { s in
            (0..<items.rows).map { r in
                guard let base = s.baseAddress else { return 0 }
                let row = base + r * items.columns
                return FactorKernels.dot(row, row, items.columns).squareRoot()
            }
        }
    }

    /// The `count` items with the highest inner product with `query` among those `isAllowed`
    /// accepts, best first, scored exactly; ties go to the lower index, as in exact ranking.
    ///
    /// `excluded` items (a user's seen and hidden items; only items `isAllowed` refuses) are
    /// skipped inside the graph search: it walks through them but keeps `ef` of the others, so a
    /// long history costs no wider search, and `count` candidates are enough when `isAllowed`
    /// refuses nothing else. Without `excluded` the search keeps all `ef`. While `isAllowed`
    /// leaves fewer than `count`, the search is repeated for four times as many. Only the kept
    /// candidates are scored exactly. Returns `nil` when even `limit` candidates leave fewer than
    /// `count`: the caller then ranks exactly.
    public func search(
        _ query: ArraySlice<Float>, count: Int, ef: Int? = nil, excluding excluded: Set<Int32>? = nil,
        limit: Int? = nil, where isAllowed: (Int32) -> Bool = { _ in true }
    ) throws -> [ScoredItem]? {
        guard count > 0 else { return [] }
        let headBest = head.best(query, count: count, removed: removed.current, where: isAllowed)
        if headBest.count == count, let last = headBest.last {
            // Nothing outside the head can score above |q| · (its largest norm).
            let outside = max(head.complete ? 0 : head.bound, added.maxNorm)
            if head.complete && added.count == 0 || last.score > Self.norm(of: query) * outside { return headBest }
        }
        let width = ef ?? settings.ef
        let ceiling = min(items.rows + added.count, limit ?? max(4_096, 16 * count))
        var wanted = min(ceiling, excluded == nil ? max(width, count) : count)
        let skipped = (excluded ?? []).compactMap { $0 >= 0 ? UInt64($0) : nil }
        var vector = Array(query)
        if settings.space == .mips { vector.append(0) }
        while true {
            let found = try vector.withUnsafeBufferPointer { q -> [(label: Int, distance: Float)] in
                guard let base = q.baseAddress else { return [] }
                return try graph.search(base, k: wanted, ef: max(width, wanted), excluded: skipped)
            }
            var kept = headBest
            let fromHead = Set(headBest.map(\.item))
            for candidate in found where !fromHead.contains(Int32(candidate.label)) && isAllowed(Int32(candidate.label))
            {
                kept.append(ScoredItem(item: Int32(candidate.label), score: score(query, candidate.label)))
            }
            if kept.count >= count { return TopK.best(count, of: kept) }
            if wanted >= ceiling { return nil }
            wanted = min(ceiling, wanted * 4)
        }
    }

    static func norm(of vector: ArraySlice<Float>) -> Float {
        vector.withUnsafeBufferPointer { v in
            guard let base = v.baseAddress else { return 0 }
            return FactorKernels.dot(base, base, v.count).squareRoot()
        }
    }

    /// `query · items[row]` (or the added item's vector).
    func score(_ query: ArraySlice<Float>, _ row: Int) -> Float {
        if row >= items.rows {
            guard let vector = added.vector(row - items.rows), vector.count == query.count else { return -.infinity }
            return zip(query, vector).reduce(0) { $0 + $1.0 * $1.1 }
        }
        return query.withUnsafeBufferPointer { q in
            items.storage.withUnsafeBufferPointer { y in
                guard let q = q.baseAddress, let y = y.baseAddress else { return 0 }
                return FactorKernels.dot(q, y + row * items.columns, items.columns)
            }
        }
    }

    /// Inserts an item that arrived after the build, without a rebuild, and returns its label
    /// (`itemCount` for the first, then counting up). Searches see it at once.
    public func add(_ vector: [Float]) throws -> Int32 {
        guard vector.count == items.columns else {
            throw RetrievalError.library("an added item has \(vector.count) values, the index holds \(items.columns)")
        }
        let stored = graphVector(vector[...], norm: Self.norm(of: vector[...]))
        let label = added.append(vector, base: items.rows, norm: Self.norm(of: vector[...]))
        try stored.withUnsafeBufferPointer { try graph.add($0, firstLabel: Int(label), threads: 1) }
        return label
    }

    /// Takes an item out of results (hidden or deleted) or brings it back; `false` when the
    /// index does not hold it.
    @discardableResult
    public func setRemoved(_ item: Int32, _ removed: Bool) throws -> Bool {
        guard try graph.setDeleted(Int(item), removed) else { return false }
        self.removed.set(item, removed)
        return true
    }

    /// The items added after the build that `isAllowed` accepts, scored exactly: exact ranking
    /// merges them with the model's own items.
    public func scoredAdditions(_ query: ArraySlice<Float>, where isAllowed: (Int32) -> Bool) -> [ScoredItem] {
        (0..<added.count).compactMap { position in
            let label = Int32(items.rows + position)
            guard isAllowed(label), !graph.isDeleted(Int(label)) else { return nil }
            return ScoredItem(item: label, score: score(query, Int(label)))
        }
    }

    /// Items currently taken out of results.
    public var removedCount: Int { graph.deletedCount }
}

/// The vectors of items added to an index while serving, behind a lock.
final class AddedVectors: Sendable {
    private let vectors = Mutex<(rows: [[Float]], maxNorm: Float)>(([], 0))

    /// Stores `vector` (of length `norm`) and returns its label, `base` plus its position.
    func append(_ vector: [Float], base: Int, norm: Float) -> Int32 {
        vectors.withLock { vectors in
            vectors.rows.append(vector)
            vectors.maxNorm = max(vectors.maxNorm, norm)
            return Int32(base + vectors.rows.count - 1)
        }
    }

    /// The largest norm of an added vector (0 without any).
    var maxNorm: Float { vectors.withLock { $0.maxNorm } }

    func vector(_ position: Int) -> [Float]? {
        vectors.withLock { position >= 0 && position < $0.rows.count ? $0.rows[position] : nil }
    }

    var count: Int { vectors.withLock { $0.rows.count } }
}

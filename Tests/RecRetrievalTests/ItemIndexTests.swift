import Foundation
import RecData
import RecModels
import Tensors
import Testing
import _RecTestSupport

@testable import RecRetrieval

/// The HNSW index against exact inner-product ranking on planted catalogues.
struct ItemIndexTests {
    /// `rows` random vectors whose norms spread over a factor of 10, as factor models' do.
    static func catalogue(rows: Int, columns: Int, seed: UInt64) -> Matrix<Float> {
        var generator = SeededGenerator(seed: seed)
        var items = Matrix<Float>(rows: rows, columns: columns)
        for r in 0..<rows {
            let scale = Float.random(in: 0.2...2, using: &generator)
            for c in 0..<columns { items[r, c] = scale * Float.random(in: -1...1, using: &generator) }
        }
        return items
    }

    static func exactTop(
        _ query: [Float], _ items: Matrix<Float>, count: Int, where allowed: (Int32) -> Bool = { _ in true }
    )
        -> [ScoredItem]
    {
        let scores = (0..<items.rows).map { r in zip(query, items.row(r)).reduce(Float(0)) { $0 + $1.0 * $1.1 } }
        return TopK.select(count, from: scores, where: allowed)
    }

    static func queries(_ count: Int, columns: Int, seed: UInt64) -> [[Float]] {
        var generator = SeededGenerator(seed: seed)
        return (0..<count).map { _ in (0..<columns).map { _ in Float.random(in: -1...1, using: &generator) } }
    }

    @Test(arguments: ANNSettings.Space.allCases)
    func recallOfTheTopTenOnAPlantedCatalogue(space: ANNSettings.Space) throws {
        let items = Self.catalogue(rows: 3_000, columns: 16, seed: 1)
        var settings = ANNSettings()
        settings.space = space
        // The graph alone (a head of 4,096 would hold every item and answer exactly).
        settings.exactHead = 0
        let index = try ItemIndex(items: items, settings: settings)
        var hits = 0
        let queries = Self.queries(100, columns: 16, seed: 2)
        for query in queries {
            let exact = Set(Self.exactTop(query, items, count: 10).map(\.item))
            let found = try #require(try index.search(query[...], count: 10))
            #expect(found.count == 10)
            hits += found.filter { exact.contains($0.item) }.count
            // Returned scores are exact inner products, best first.
            for entry in found {
                let dot = zip(query, items.row(Int(entry.item))).reduce(Float(0)) { $0 + $1.0 * $1.1 }
                #expect(abs(entry.score - dot) < 1e-4)
            }
            #expect(zip(found, found.dropFirst()).allSatisfy { $0.score >= $1.score })
        }
        let recall = Double(hits) / Double(10 * queries.count)
        #expect(recall >= 0.95, "recall@10 \(recall) with \(space)")
    }

    @Test func aBuildInsertsItemsFromTheHighestLayerDownInASeededShuffle() throws {
        let count = 20_000
        let (order, levels) = ItemIndex.insertionOrder(count: count, m: 16, seed: 3)
        // Every item once, layers never rising, the same order for the same seed.
        #expect(order.sorted() == Array(0..<count))
        #expect(zip(levels, levels.dropFirst()).allSatisfy { $0 >= $1 })
        #expect(ItemIndex.insertionOrder(count: count, m: 16, seed: 3).order == order)
        #expect(ItemIndex.insertionOrder(count: count, m: 16, seed: 4).order != order)
        // hnswlib's layer law: P(layer ≥ 1) = 1/M, so 1,250 expected here; ±120 is 3.5 standard
        // deviations.
        let upper = levels.filter { $0 >= 1 }.count
        #expect((1_130...1_370).contains(upper), "\(upper) items above layer 0")
        // Within layer 0 the items are shuffled, not in item order: about half of the
        // neighbouring pairs rise.
        let bottom = order[upper...]
        let rising = zip(bottom, bottom.dropFirst()).filter { $0 < $1 }.count
        #expect(abs(Double(rising) / Double(bottom.count - 1) - 0.5) < 0.02)
    }

    @Test func aSavedIndexLoadsWithoutARebuildAndAnswersTheSame() throws {
        let items = Self.catalogue(rows: 1_500, columns: 8, seed: 3)
        let index = try ItemIndex(items: items)
        let folder = temporaryDirectory("ann-save")
        try index.save(to: folder)
        let loaded = try ItemIndex.load(from: folder, items: items, settings: ANNSettings())
        #expect(loaded.removedCount == 0)
        for query in Self.queries(30, columns: 8, seed: 4) {
            #expect(try index.search(query[...], count: 10) == loaded.search(query[...], count: 10))
        }
        // Other vectors, other build settings or a damaged graph file are refused, not used.
        var other = items
        other[7, 3] += 0.5
        #expect(throws: RetrievalError.self) { try ItemIndex.load(from: folder, items: other, settings: ANNSettings()) }
        var wider = ANNSettings()
        wider.m = 48
        #expect(throws: RetrievalError.self) { try ItemIndex.load(from: folder, items: items, settings: wider) }
        var searchOnly = ANNSettings()
        searchOnly.ef = 300
        #expect(try ItemIndex.load(from: folder, items: items, settings: searchOnly).settings.ef == 300)
        // A graph of an earlier format (built in item order) is rebuilt rather than served.
        let manifestURL = folder.appendingPathComponent("ann.json")
        let manifest = try String(contentsOf: manifestURL, encoding: .utf8)
        #expect(manifest.contains("\"format\" : 2"))
        try manifest.replacingOccurrences(of: "\"format\" : 2", with: "\"format\" : 1")
            .write(to: manifestURL, atomically: true, encoding: .utf8)
        #expect(throws: RetrievalError.self) { try ItemIndex.load(from: folder, items: items, settings: ANNSettings()) }
        try manifest.write(to: manifestURL, atomically: true, encoding: .utf8)
        #expect(try ItemIndex.load(from: folder, items: items, settings: ANNSettings()).itemCount == items.rows)
        try Data("broken".utf8).write(to: folder.appendingPathComponent("ann.hnsw"))
        #expect(throws: RetrievalError.self) { try ItemIndex.load(from: folder, items: items, settings: ANNSettings()) }
    }

    @Test func theShimsSearchIsHnswlibsSearch() throws {
        // Without exclusions the shim's base-layer walk is hnswlib's `searchKnn` step for step:
        // the same labels and distances, before and after points are marked deleted.
        let items = Self.catalogue(rows: 3_000, columns: 16, seed: 8)
        let index = try ItemIndex(items: items)
        for round in 0..<2 {
            if round == 1 {
                for label in stride(from: 0, to: 3_000, by: 7) { _ = try index.setRemoved(Int32(label), true) }
            }
            for query in Self.queries(40, columns: 16, seed: 10) {
                try query.withUnsafeBufferPointer { q in
                    let base = try #require(q.baseAddress)
                    for (k, ef) in [(10, 64), (50, 128), (200, 32)] {
                        let ours = try index.graph.search(base, k: k, ef: ef)
                        let library = try index.graph.librarySearch(base, k: k, ef: ef)
                        #expect(ours.map(\.label) == library.map(\.label))
                        #expect(ours.map(\.distance) == library.map(\.distance))
                        #expect(ours.count == k)
                    }
                }
            }
        }
    }

    @Test func seenItemsAreSkippedInsideTheSearchSoALongHistoryNeedsNoWiderSearch() throws {
        let items = Self.catalogue(rows: 3_000, columns: 16, seed: 8)
        var graphOnly = ANNSettings()
        graphOnly.exactHead = 0
        let index = try ItemIndex(items: items, settings: graphOnly)
        var hits = 0
        let queries = Self.queries(50, columns: 16, seed: 10)
        for query in queries {
            // The query's own 200 best items seen, as a long history would be: more than the
            // search's width of 64.
            let seen = Set(Self.exactTop(query, items, count: 200).map(\.item))
            let exact = Set(Self.exactTop(query, items, count: 10) { !seen.contains($0) }.map(\.item))
            let found = try #require(
                try index.search(query[...], count: 10, ef: 64, excluding: seen, limit: 64) { !seen.contains($0) })
            #expect(found.count == 10)
            #expect(found.allSatisfy { !seen.contains($0.item) })
            hits += found.filter { exact.contains($0.item) }.count
            // Filtering after the search instead finds none of them at that width.
            #expect(try index.search(query[...], count: 10, ef: 64, limit: 64) { !seen.contains($0) } == nil)
        }
        let recall = Double(hits) / Double(10 * queries.count)
        #expect(recall >= 0.95, "recall@10 \(recall) past 200 seen items")
    }

    @Test func filtersNeverLeakAndAFilterThatRemovesAlmostEverythingFallsBackToExact() throws {
        let items = Self.catalogue(rows: 2_000, columns: 8, seed: 5)
        let retriever = Retriever(model: try PlantedFactors(items: items), index: try ItemIndex(items: items))
        var generator = SeededGenerator(seed: 6)
        for (n, query) in Self.queries(40, columns: 8, seed: 7).enumerated() {
            // Half the catalogue blocked at random, or all but 5 items.
            let blocked = Set((0..<2_000).filter { _ in Bool.random(using: &generator) }.map(Int32.init))
            let few = Set((0..<5).map { _ in Int32.random(in: 0..<2_000, using: &generator) })
            let allowed: (Int32) -> Bool = n.isMultiple(of: 2) ? { !blocked.contains($0) } : { few.contains($0) }
            let context = ScoringContext(user: Int32(n), history: [])
            let found = try retriever.recommend(
                context, count: 10, excluding: n.isMultiple(of: 2) ? blocked : nil, where: allowed)
            #expect(found.allSatisfy { allowed($0.item) })
            if !n.isMultiple(of: 2) {
                #expect(found == Self.exactTop(query, items, count: 10, where: allowed))
                #expect(found.count == few.count)
            }
        }
    }

    @Test(arguments: ANNSettings.Space.allCases)
    func anItemAddedAfterTheBuildIsRetrievableAtOnce(space: ANNSettings.Space) throws {
        let items = Self.catalogue(rows: 1_000, columns: 8, seed: 10)
        var settings = ANNSettings()
        settings.space = space
        let index = try ItemIndex(items: items, settings: settings)
        let query = Self.queries(1, columns: 8, seed: 11)[0]
        let before = try #require(try index.search(query[...], count: 5))
        // A new item pointing along the query, longer than any other: it must come first.
        let vector = query.map { $0 * 4 }
        let label = try index.add(vector)
        #expect(label == 1_000)
        #expect(try index.add(Array(repeating: 0, count: 8)) == 1_001)
        let after = try #require(try index.search(query[...], count: 5))
        let expected = query.reduce(Float(0)) { $0 + $1 * $1 * 4 }
        #expect(after.first?.item == label)
        #expect(abs((after.first?.score ?? 0) - expected) < 1e-4)
        #expect(Array(after.dropFirst()) == Array(before.prefix(4)))
        // Filters and removal apply to it as to any item.
        #expect(try index.search(query[...], count: 5) { $0 != label } == before)
        #expect(try index.setRemoved(label, true))
        #expect(try index.search(query[...], count: 5) == before)
        #expect(throws: RetrievalError.self) { try index.add([1, 2]) }
    }

    @Test func removedItemsLeaveResultsAndComeBack() throws {
        let items = Self.catalogue(rows: 800, columns: 8, seed: 8)
        let index = try ItemIndex(items: items)
        let query = Self.queries(1, columns: 8, seed: 9)[0]
        let best = try #require(try index.search(query[...], count: 3))
        #expect(try index.setRemoved(best[0].item, true))
        #expect(index.removedCount == 1)
        let without = try #require(try index.search(query[...], count: 3))
        #expect(!without.contains { $0.item == best[0].item })
        #expect(without.first == best[1])
        #expect(try index.setRemoved(best[0].item, false))
        #expect(try index.search(query[...], count: 3) == best)
        #expect(try !index.setRemoved(99_999, true))
    }
}

/// A model whose user `u` has query `queries[u]` (set from outside) and whose items are given:
/// the smallest `InnerProductRetrieval`.
struct PlantedFactors: InnerProductRetrieval {
    static var kind: ModelKind { .als }
    let items: Matrix<Float>
    var parameters: [String: String] { [:] }
    var itemCount: Int { items.rows }

    init(items: Matrix<Float>) throws { self.items = items }
    init(parameters: [String: String]) throws { items = Matrix(rows: 0, columns: 0) }

    /// User `u`'s query: `ItemIndexTests.queries(…, seed: 7)[u]`.
    func query(_ context: ScoringContext) -> [Float] {
        ItemIndexTests.queries(Int(context.user ?? 0) + 1, columns: items.columns, seed: 7)[Int(context.user ?? 0)]
    }

    mutating func fit(_ data: TrainingData, progress: ProgressHandler?) throws {}

    func score(_ context: ScoringContext, into scores: inout [Float]) throws {
        let q = query(context)
        scores = (0..<items.rows).map { r in zip(q, items.row(r)).reduce(Float(0)) { $0 + $1.0 * $1.1 } }
    }

    func similarItems(to item: Int32, count: Int) throws -> [ScoredItem] { [] }
    func explain(_ context: ScoringContext, item: Int32, count: Int) throws -> [Contribution] { [] }
    func weights() throws -> [String: SafeTensor] { [:] }
    mutating func load(weights: [String: SafeTensor]) throws {}

    func retrievalItems() throws -> Matrix<Float> { items }

    func retrievalQueries(_ contexts: [ScoringContext]) throws -> Matrix<Float> {
        Matrix(rows: contexts.count, columns: items.columns, storage: contexts.flatMap(query))
    }
}

import Foundation
import RecData
import RecModels
import Tensors
import Testing
import _RecTestSupport

@testable import RecRetrieval

/// Every build measures its recall against exact scoring on sampled users and chooses the
/// narrowest search width that reaches the target, or says it cannot.
struct IndexCalibrationTests {
    static let items = ItemIndexTests.catalogue(rows: 3_000, columns: 16, seed: 1)

    /// Users `0..<count` of ``PlantedFactors`` with empty histories.
    static func sample(_ count: Int, users: Int = 100) -> (any InnerProductRetrieval) throws -> CalibrationSample {
        { source in
            try CalibrationSample.draw(from: source, userCount: users, users: count, seed: 1) {
                ScoringContext(user: $0, history: [])
            }
        }
    }

    static func recall(_ index: ItemIndex, _ sample: CalibrationSample, ef: Int) throws -> Double {
        var hits = 0
        for r in 0..<sample.queries.rows {
            let query = Array(sample.queries.row(r))
            let exact = Set(ItemIndexTests.exactTop(query, index.items, count: 10).map(\.item))
            let found = try #require(try index.search(query[...], count: 10, ef: ef))
            hits += found.filter { exact.contains($0.item) }.count
        }
        return Double(hits) / Double(10 * sample.queries.rows)
    }

    @Test func theLadderChoosesTheNarrowestWidthThatReachesTheTarget() throws {
        var settings = ANNSettings()
        settings.m = 4
        settings.exactHead = 0
        let index = try ItemIndex(items: Self.items, settings: settings)
        let sample = try Self.sample(60)(try PlantedFactors(items: Self.items))
        let request = CalibrationRequest(users: 60, target: 0.97, ladder: [10, 20, 40, 80, 160, 320, 640])
        let calibration = try index.calibrate(sample, request: request)
        let chosen = try #require(calibration.ef)
        // The ladder climbed: the narrowest width fell short, the chosen one is the first to reach.
        #expect(calibration.rungs.count >= 2)
        #expect(calibration.rungs.dropLast().allSatisfy { $0.recall < 0.97 })
        #expect(calibration.rungs.last?.ef == chosen)
        #expect(calibration.recall >= 0.97)
        #expect(calibration.users == 60)
        // The recorded figures are recall@10 against exact scoring, measured again here.
        for rung in calibration.rungs {
            #expect(abs(try Self.recall(index, sample, ef: rung.ef) - rung.recall) < 1e-9, "ef \(rung.ef)")
        }
    }

    @Test func anIndexThatCannotReachTheTargetIsNotUsedByAuto() throws {
        let model = try PlantedFactors(items: Self.items)
        var options = RetrievalOptions(mode: .auto, threshold: 1)
        // Two links per item and a search 10 wide: far from recall 0.999.
        options.settings.m = 2
        options.settings.efConstruction = 10
        options.settings.exactHead = 0
        options.calibration = CalibrationRequest(users: 40, target: 0.999, ladder: [10])
        var lines: [String] = []
        let auto = try Retriever.prepare(
            model: model, options: options, directory: nil, sample: Self.sample(40), log: { lines.append($0) })
        let calibration = try #require(auto.calibration)
        #expect(auto.index == nil)
        #expect(!calibration.reachedTarget)
        #expect(calibration.recall < 0.999)
        #expect(auto.decision.hasPrefix("exact: the index reached recall@10"))
        #expect(lines.contains { $0.hasPrefix("retrieval: exact") })
        // Served exactly: the exact top 10.
        let context = ScoringContext(user: 3, history: [])
        let query = model.query(context)
        #expect(try auto.recommend(context, count: 10) == ItemIndexTests.exactTop(query, Self.items, count: 10))
        // `ann` asks for the index whatever its recall, and says so.
        options.mode = .ann
        let ann = try Retriever.prepare(model: model, options: options, directory: nil, sample: Self.sample(40))
        #expect(ann.index?.settings.ef == 10)
        #expect(ann.decision.contains("below the target"))
        // A reachable target keeps the index under `auto`, searched at the width chosen.
        options.mode = .auto
        options.settings = ANNSettings()
        options.settings.exactHead = 0
        options.calibration = CalibrationRequest(users: 40, target: 0.9, ladder: [16, 64, 256])
        let good = try Retriever.prepare(model: model, options: options, directory: nil, sample: Self.sample(40))
        let chosen = try #require(good.calibration?.ef)
        #expect(good.index?.settings.ef == chosen)
        #expect(good.decision.hasPrefix("ann: hnswlib ip M 16 efC 200 ef \(chosen), recall@10"))
    }

    @Test func theMeasurementIsSavedInTheManifestAndLoadedWithTheIndex() throws {
        let model = try PlantedFactors(items: Self.items)
        let folder = temporaryDirectory("ann-calibration")
        var options = RetrievalOptions(mode: .auto, threshold: 1)
        options.calibration = CalibrationRequest(users: 30, target: 0.9, ladder: [16, 64, 256])
        var lines: [String] = []
        let built = try Retriever.prepare(
            model: model, options: options, directory: folder, sample: Self.sample(30), log: { lines.append($0) })
        let calibration = try #require(built.calibration)
        #expect(lines.contains { $0.hasPrefix("measured the index's recall on 30 users") })
        let manifest = try String(contentsOf: folder.appendingPathComponent("ann.json"), encoding: .utf8)
        #expect(manifest.contains("\"calibration\""))
        #expect(manifest.contains("\"target\" : 0.9"))
        let loaded = try ItemIndex.load(from: folder, items: Self.items, settings: options.settings)
        #expect(loaded.calibration == calibration)
        // Served again from the folder: loaded with its measurement, not measured again.
        lines = []
        let again = try Retriever.prepare(
            model: model, options: options, directory: folder, sample: Self.sample(30), log: { lines.append($0) })
        #expect(again.calibration == calibration)
        #expect(again.index?.settings.ef == calibration.ef)
        #expect(!lines.contains { $0.hasPrefix("measured") || $0.hasPrefix("built") })
        // Another target is a question the record does not answer: measured again, not rebuilt.
        options.calibration.target = 0.99
        lines = []
        let stricter = try Retriever.prepare(
            model: model, options: options, directory: folder, sample: Self.sample(30), log: { lines.append($0) })
        #expect(stricter.calibration?.target == 0.99)
        #expect(lines.contains { $0.hasPrefix("measured") } && !lines.contains { $0.hasPrefix("built") })
    }
}

/// The items of the largest norms are scored exactly, so a search cannot miss them, and their
/// scores prove when nothing outside them can do better.
struct ExactHeadTests {
    /// 2,952 items of norm about 0.02 and 72 of norm 10 to 50 in random directions: a long tail
    /// under a few long items, as ALS factors of a long-tail log are.
    static func longTail() -> Matrix<Float> {
        var items = ItemIndexTests.catalogue(rows: 3_024, columns: 16, seed: 21)
        var generator = SeededGenerator(seed: 22)
        for r in 0..<items.rows {
            let scale: Float = r % 42 == 0 ? Float.random(in: 10...50, using: &generator) : 0.02
            for c in 0..<items.columns { items[r, c] *= scale }
        }
        return items
    }

    @Test func theHeadAnswersExactlyWhereAPoorGraphCannot() throws {
        let items = Self.longTail()
        var settings = ANNSettings()
        // A graph barely linked and searched 10 wide, with a head of 128 items.
        settings.m = 2
        settings.efConstruction = 10
        settings.exactHead = 128
        let index = try ItemIndex(items: items, settings: settings)
        settings.exactHead = 0
        let graphOnly = try ItemIndex(items: items, settings: settings)
        var graphHits = 0
        let queries = ItemIndexTests.queries(100, columns: 16, seed: 23)
        for query in queries {
            let exact = ItemIndexTests.exactTop(query, items, count: 5)
            // The same items in the same order (scores differ in the last bits: a SIMD dot here).
            #expect(try index.search(query[...], count: 5, ef: 10)?.map(\.item) == exact.map(\.item))
            let found = try #require(try graphOnly.search(query[...], count: 5, ef: 10))
            graphHits += found.filter { entry in exact.contains { $0.item == entry.item } }.count
        }
        // The same graph without the head misses some (the head is what makes the difference).
        #expect(graphHits < 5 * queries.count)
    }

    @Test func aCertifiedHeadStillHonoursFiltersRemovalsAndAddedItems() throws {
        let items = Self.longTail()
        var settings = ANNSettings()
        settings.exactHead = 64
        let index = try ItemIndex(items: items, settings: settings)
        let query = ItemIndexTests.queries(1, columns: 16, seed: 24)[0]
        let best = try #require(try index.search(query[...], count: 5))
        #expect(best.map(\.item) == ItemIndexTests.exactTop(query, items, count: 5).map(\.item))
        // A filtered or removed head item gives way to the next.
        let seen: Set<Int32> = [best[0].item]
        #expect(
            try index.search(query[...], count: 5, excluding: seen) { !seen.contains($0) }?.map(\.item)
                == ItemIndexTests.exactTop(query, items, count: 5) { !seen.contains($0) }.map(\.item))
        #expect(try index.setRemoved(best[1].item, true))
        #expect(try index.search(query[...], count: 5)?.contains { $0.item == best[1].item } == false)
        #expect(try index.setRemoved(best[1].item, false))
        // An item added after the build, longer than the head's items, is not hidden by the head.
        let label = try index.add(query.map { $0 * 100 })
        #expect(try index.search(query[...], count: 5)?.first?.item == label)
    }
}

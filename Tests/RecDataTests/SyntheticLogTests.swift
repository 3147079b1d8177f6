import Foundation
import Testing
import _RecTestSupport

@testable import RecData

/// `reckit data synth`'s generator: deterministic per seed, the sizes asked for, and the shape
/// its documentation promises.
struct SyntheticLogTests {
    let spec = SyntheticLog(users: 60, items: 400, events: 3_000, topics: 8, seed: 7)

    func written(_ spec: SyntheticLog) throws -> (folder: URL, inter: Data, item: Data) {
        let folder = temporaryDirectory("synth")
        let summary = try spec.write(to: folder, name: "synth")
        return (folder, try Data(contentsOf: summary.interactions), try Data(contentsOf: summary.itemFile))
    }

    @Test func theSameSeedWritesTheSameBytesAndAnotherSeedDoesNot() throws {
        let (a, b) = (try written(spec), try written(spec))
        #expect(a.inter == b.inter && a.item == b.item)
        var other = spec
        other.seed = 8
        #expect(try written(other).inter != a.inter)
        // No temporary file is left behind.
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: a.folder.path).sorted() == [
                "synth.inter", "synth.item",
            ])
    }

    @Test func theLogHasTheSizesAskedForAndItsPromisedShape() throws {
        let dataset = try Dataset.load(path: try written(spec).folder.path)
        let log = dataset.interactions
        #expect(log.count == 3_000)
        #expect(log.userCount == 60)
        #expect(log.itemCount <= 400)
        // Timestamps grow along each user's history, in file order.
        let times = try #require(log.timestamps)
        for events in log.eventsByUser() {
            #expect(!events.isEmpty)
            #expect(zip(events, events.dropFirst()).allSatisfy { times[$0] < times[$1] })
        }
        // Heavy-tailed popularity: the items of the top 5% of ranks (ids 1…20) take a large share,
        // far above their 5% of the catalogue.
        let top = log.items.indices.filter { (Int(log.itemIDs[log.items[$0]]) ?? 0) <= 20 }.count
        #expect(Double(top) / Double(log.count) > 0.25, "top 5% of items: \(top) of \(log.count) events")
        // Users stay in topics: consecutive events share an item's genre tokens far more often
        // than two random events would (1 in 8 topics).
        let genres = try #require(dataset.itemFeatures?.column(named: "genre"))
        guard case .tokenSequence(let tokens) = genres.values else {
            Issue.record("genre is not a token sequence: \(genres.type)")
            return
        }
        // The loader aligns feature rows with item indices.
        func genre(_ event: Int) -> [String]? { tokens[Int(log.items[event])] }
        var same = 0
        var pairs = 0
        for events in log.chronologicalEventsByUser() {
            for (a, b) in zip(events, events.dropFirst()) {
                if let x = genre(a), x == genre(b) { same += 1 }
                pairs += 1
            }
        }
        #expect(Double(same) / Double(pairs) > 0.6, "\(same) of \(pairs) steps stay in the topic")
        #expect(dataset.title(ofItem: 0).split(separator: " ").count == 3)
    }

    /// `--niche`: topics in popularity order, and niche favourites that bring events to the tail.
    @Test func aNicheLogPutsTopicsInPopularityOrderAndReachesMoreOfTheTail() throws {
        var niche = SyntheticLog(users: 200, items: 4_000, events: 3_000, topics: 40, seed: 7)
        niche.niche = 0.7
        let (folder, inter, _) = try written(niche)
        #expect(try written(niche).inter == inter)
        let dataset = try Dataset.load(path: folder.path)
        let genres = try #require(dataset.itemFeatures?.column(named: "genre"))
        guard case .tokenSequence(let tokens) = genres.values else {
            Issue.record("genre is not a token sequence")
            return
        }
        // Item r (id r + 1) is in topic ⌊r · 40 / 4000⌋, whose genre tokens are g(t % 20) h(t / 20).
        for index in 0..<dataset.interactions.itemCount {
            let rank = (Int(dataset.interactions.itemIDs[Int32(index)]) ?? 0) - 1
            let topic = rank * 40 / 4_000
            #expect(tokens[index] == ["g\(topic % 20)", "h\(topic / 20)"], "item \(rank + 1)")
        }
        let plain = try Dataset.load(
            path: try written(SyntheticLog(users: 200, items: 4_000, events: 3_000, topics: 40, seed: 7)).folder.path)
        #expect(dataset.interactions.itemCount > plain.interactions.itemCount + 200)
        niche.niche = 1.5
        #expect(throws: DatasetError.self) { try niche.validate() }
    }

    /// Issue 44: a log where people buy again, in orders.
    @Test func repeatsAndBasketsArePlanted() throws {
        var shop = spec
        (shop.repeatRate, shop.repeatSetSize, shop.basketSize) = (0.6, 5, 4)
        let log = try Dataset.load(path: try written(shop).folder.path).interactions
        let repeats = DataStatistics.repeats(log)
        let plain = DataStatistics.repeats(try Dataset.load(path: try written(spec).folder.path).interactions)
        // Most events re-buy (the planted 60% and chance repeats): at least 15 points more than
        // the plain log, whose small catalogue repeats by chance.
        #expect(Double(repeats.repeatEvents) / 3_000 > 0.6)
        #expect(repeats.repeatEvents - plain.repeatEvents > 450, "\(repeats.repeatEvents) vs \(plain.repeatEvents)")
        // Orders of about 4 events: one user's events with one timestamp.
        #expect((500...1_000).contains(repeats.baskets), "\(repeats.baskets) baskets")
        #expect(plain.baskets == 3_000)
        #expect(log.count == 3_000 && log.userCount == 60)
        var shop2 = shop
        shop2.repeatSetSize = 0
        #expect(throws: DatasetError.self) { try shop2.validate() }
    }

    @Test func impossibleSizesAreRefusedWithTheReason() {
        #expect(
            throws: DatasetError.invalidOption(
                "synth gives every user at least one event: --events 5 is below --users 10")
        ) {
            try SyntheticLog(users: 10, items: 5, events: 5).validate()
        }
        #expect(throws: DatasetError.self) { try SyntheticLog(users: 1, items: 5, events: 5, topics: 9).validate() }
        #expect(throws: DatasetError.self) { try SyntheticLog(users: 0, items: 5, events: 5).validate() }
    }

    /// `data stats`'s repeated pairs, counted in blocks of users, against a hash set of pairs.
    @Test(arguments: [7, 100, 1 << 24])
    func repeatedPairsInBlocksMatchAHashSet(block: Int) throws {
        var spec = SyntheticLog(users: 30, items: 12, events: 900, seed: 4)
        spec.chain = 0
        let log = try Dataset.load(path: try written(spec).folder.path).interactions
        var seen = Set<Int64>()
        var repeated = Set<Int64>()
        for (u, i) in zip(log.users, log.items) where !seen.insert(Int64(u) << 32 | Int64(i)).inserted {
            repeated.insert(Int64(u) << 32 | Int64(i))
        }
        #expect(repeated.count > 10)
        #expect(DataStatistics.repeatedPairs(log, block: block) == repeated.count)
    }
}

import Foundation
import RecStore
import Testing

@testable import RecServer

/// The merges, the rules and seen-item replacement of a flow against a live server over a real
/// store (``FlowLab``), on the planted shop of ``FlowLab/plantShop(_:)``: popular of all time
/// `i3-0` (9), `i2-0` (7), `i2-1` (6), then the others (5) by id; newest `i3-5`, `i3-2`, `i1-4`.
/// Each test predicts the list with and without what it tests. (The suite's name keeps it in the
/// test script's main pass: "Live" names the pass of child-process suites.)
@Suite struct FlowRuleTests: FlowLab {
    let folder: URL

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("flow-rules-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    let sources = FlowFile.source("top", "popular") + FlowFile.source("new", "latest", "candidates = 3")

    /// Fusion scales each source to [0, 1] (popular: `i3-0` 1, `i2-0` 0.5, `i2-1` 0.25, the rest
    /// 0; latest: 1, 0.5, 0) and weighs it: with `new = 2`, `i3-5` scores 2 and `i3-2` ties
    /// `i3-0` at 1 (the earlier proposal first); with `top = 3`, `i3-0` 3, `i2-0` 1.5, `i3-5` 1,
    /// `i2-1` 0.75, `i3-2` 0.5.
    @Test func fusionWeighsEachSourcesScaledScores() async throws {
        let base = try await world()
        try await plantShop(base)
        let latest = try await serve(
            base, sources + "[recommend.ranker]\nweights = { new = 2 }\n", user: "x9", query: "n=4")
        #expect(latest.map(\.id) == ["i3-5", "i3-0", "i3-2", "i2-0"])
        #expect(latest.map(\.score) == [2, 1, 1, 0.5])
        #expect(latest.first?.names == ["top", "new"])
        #expect(latest.dropFirst(2).first?.reason("new") != nil && latest.dropFirst(2).first?.reason("top") != nil)
        let popular = try await serve(
            base, sources + "[recommend.ranker]\nweights = { top = 3 }\n", user: "x9", query: "n=5")
        #expect(popular.map(\.id) == ["i3-0", "i2-0", "i3-5", "i2-1", "i3-2"])
        #expect(popular.map(\.score) == [3, 1.5, 1, 0.75, 0.5])
    }

    /// Round robin: the sources take turns in the file's order; with `quotas = { top = 2 }`
    /// popular places two items and latest the rest of its three, then the fallback fills.
    @Test func roundRobinTakesTurnsWithinQuotas() async throws {
        let base = try await world()
        try await plantShop(base)
        let merge = "[recommend.ranker]\nmerge = \"round_robin\"\n"
        let quota = try await serve(base, sources + merge + "quotas = { top = 2 }\n", user: "x9", query: "n=6")
        #expect(quota.map(\.id).prefix(5) == ["i3-0", "i3-5", "i2-0", "i3-2", "i1-4"])
        #expect(quota.map(\.score).prefix(5) == [5, 4, 3, 2, 1])
        #expect(quota.last?.names == ["fallback"])
        let open = try await serve(base, sources + merge + "quotas = { new = 1 }\n", user: "x9", query: "n=5")
        #expect(open.map(\.id) == ["i3-0", "i3-5", "i2-0", "i2-1", "i0-0"])
    }

    /// MMR over the ALS item vectors of the checkerboard (items of a group point one way): by
    /// relevance alone the first four are `i3-0`, `i2-0`, `i2-1`, `i0-0`; with λ = 0.3 a second
    /// item of a group costs more than its relevance, and the first four come from four groups.
    @Test func mmrSpreadsTheListOverGroups() async throws {
        let base = try await world(als: true)
        try await plantShop(base)
        let config = FlowFile.source("als", "model", "path = \"models/als\"") + FlowFile.source("top", "popular")
        let plain = try await serve(base, config, user: "x9", query: "n=4")
        #expect(plain.map(\.id) == ["i3-0", "i2-0", "i2-1", "i0-0"])
        let diverse = try await serve(
            base, config + FlowFile.rule("mmr", "model = \"als\"", "lambda = 0.3"), user: "x9", query: "n=4")
        #expect(diverse.first?.id == "i3-0")
        #expect(Set(diverse.map { $0.id.prefix(2) }).count == 4, "\(diverse.map(\.id))")
        // λ = 1 is relevance alone.
        let relevance = try await serve(
            base, config + FlowFile.rule("mmr", "model = \"als\"", "lambda = 1"), user: "x9", query: "n=4")
        #expect(relevance.map(\.id) == plain.map(\.id))
    }

    /// `i2-1` (0.25 after fusion) was published an hour ago: a boost of 5 for items younger than
    /// a day puts it first (1.25 against `i3-0`'s 1); younger than ten minutes, it is too old.
    /// The new items score 0 and stay 0 however boosted.
    @Test func freshnessBoostsYoungItems() async throws {
        let base = try await world()
        try await plantShop(base)
        try await describe(base, [StoredItem(itemID: "i2-1", timestamp: Self.time(ago: 3_600))])
        let top = FlowFile.source("top", "popular")
        let plain = try await serve(base, top, user: "x9", query: "n=3")
        #expect(plain.map(\.id) == ["i3-0", "i2-0", "i2-1"])
        let boosted = try await serve(
            base, top + FlowFile.rule("freshness", "age = \"1d\"", "boost = 5"), user: "x9", query: "n=3")
        #expect(boosted.map(\.id) == ["i2-1", "i3-0", "i2-0"])
        #expect(boosted.first?.score == 1.25)
        let tooOld = try await serve(
            base, top + FlowFile.rule("freshness", "age = \"10m\"", "boost = 5"), user: "x9", query: "n=3")
        #expect(tooOld.map(\.id) == plain.map(\.id))
    }

    /// A category filter keeps blue items only, even when that leaves the list short (six blue
    /// items for ten places, the fallback's other items filtered too); a request's category
    /// keeps to it without a rule.
    @Test func categoryFilterKeepsItsCategories() async throws {
        let base = try await world()
        try await plantShop(base)
        let top = FlowFile.source("top", "popular")
        let blue = try await serve(
            base, top + FlowFile.rule("category_filter", "categories = [\"blue\"]"), user: "x9", query: "n=10")
        #expect(blue.map(\.id) == (0..<6).map { "i1-\($0)" })
        #expect(blue.allSatisfy { $0.names == ["top"] })
        let red = try await serve(base, top, user: "x9", query: "n=10&category=red")
        #expect(red.map(\.id) == (0..<6).map { "i0-\($0)" })
    }

    /// At most two of a category, in list order; `i2-2` (red and green) is skipped once red is
    /// full; items without a category are never capped.
    @Test func categoryCapSkipsItemsOfAFullCategory() async throws {
        let base = try await world()
        try await plantShop(base)
        try await describe(base, [StoredItem(itemID: "i2-2", categories: ["red", "green"])])
        let top = FlowFile.source("top", "popular")
        let plain = try await serve(base, top, user: "x9", query: "n=9")
        #expect(plain.map(\.id) == ["i3-0", "i2-0", "i2-1", "i0-0", "i0-1", "i0-2", "i0-3", "i0-4", "i0-5"])
        let capped = try await serve(base, top + FlowFile.rule("category_cap", "max = 2"), user: "x9", query: "n=9")
        #expect(capped.map(\.id) == ["i3-0", "i2-0", "i2-1", "i0-0", "i0-1", "i1-0", "i1-1", "i2-3", "i2-4"])
    }

    /// Hidden by a label in every shape it may take: an array element, an object key set to
    /// true, a string; a key set to false does not hide.
    @Test func hideLabelLeavesOutLabelledItems() async throws {
        let base = try await world()
        try await plantShop(base)
        try await describe(
            base,
            [
                StoredItem(itemID: "i0-0", categories: ["red"], labels: .object(["out_of_stock": .bool(true)])),
                StoredItem(itemID: "i0-1", categories: ["red"], labels: .object(["out_of_stock": .bool(false)])),
                StoredItem(
                    itemID: "i0-2", categories: ["red"], labels: .array([.string("sale"), .string("out_of_stock")])),
                StoredItem(itemID: "i0-3", categories: ["red"], labels: .string("out_of_stock")),
            ])
        let top = FlowFile.source("top", "popular")
        let plain = try await serve(base, top, user: "x9", query: "n=6")
        #expect(plain.map(\.id) == ["i3-0", "i2-0", "i2-1", "i0-0", "i0-1", "i0-2"])
        let hidden = try await serve(
            base, top + FlowFile.rule("hide_label", "label = \"out_of_stock\""), user: "x9", query: "n=6")
        #expect(hidden.map(\.id) == ["i3-0", "i2-0", "i2-1", "i0-1", "i0-4", "i0-5"])
    }

    /// `seer` liked `i3-0` (10 likes now) and read `i2-0` (a read is not a like: 7). Without
    /// replacement neither is shown. With it, popular scales `i3-0` 1, `i2-0` 0.4, `i2-1` 0.2,
    /// and the decays (liked 0.1, read 0.9) make them 0.1 and 0.36: `i2-0` first, `i3-0` third.
    @Test func replacementBringsSeenItemsBackDecayed() async throws {
        let base = try await world()
        try await plantShop(base)
        try await plant(base, [("seer", "i3-0", "like", 60), ("seer", "i2-0", "read", 60)])
        let types = "[recommend.data_source]\npositive_feedback_types = [\"like\"]\n\n"
        let top = FlowFile.source("top", "popular")
        let plain = try await serve(base, types + top, user: "seer", query: "n=3")
        #expect(plain.map(\.id) == ["i2-1", "i0-0", "i0-1"])
        let replacement = """
            [recommend.replacement]
            enable_replacement = true
            positive_replacement_decay = 0.1
            read_replacement_decay = 0.9


            """
        let replaced = try await serve(base, types + replacement + top, user: "seer", query: "n=4")
        #expect(replaced.map(\.id) == ["i2-0", "i2-1", "i3-0", "i0-0"])
        #expect(replaced.first?.reason("top") == "popular: 7 in all")
        #expect(replaced.dropFirst(2).first?.reason("top") == "popular: 10 in all")
        #expect(abs((replaced.dropFirst(2).first?.score ?? 0) - 0.1) < 1e-6)
        #expect(abs((replaced.first?.score ?? 0) - 0.36) < 1e-6)
    }
}

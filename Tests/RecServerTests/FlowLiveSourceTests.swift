import Foundation
import Hummingbird
import HummingbirdTesting
import RecStore
import Testing

@testable import RecServer

/// Each candidate source of a flow against a live server over a real store (``FlowLab``): a small
/// planted log where the source's answer can be predicted, checked item by item with the source
/// and reason each item gives in `X-API-Version: 2` answers and `/api/explain`. (The suite's name
/// keeps it in the test script's main pass: "Live" names the pass of child-process suites.)
@Suite struct FlowSourceTests: FlowLab {
    let folder: URL

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("flow-sources-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    /// A user outside the model's training liked `i0-1`, `i0-2` and `i1-1`. Of the training
    /// users, `u0-0`, `u0-3`, `u0-4` and `u0-5` share two of them (cosine 2/√15), `u0-1`, `u0-2`
    /// and five of group 1 share one (1/√15): 11 neighbours. Every unseen item of group 0 is held
    /// by 5 of them (3 × 2/√15 + 2 × 1/√15), every one of group 1 by 4 (4 × 1/√15).
    @Test func userToUserProposesWhatTheNearestUsersLiked() async throws {
        let base = try await world()
        try await plant(
            base, [("mixer", "i0-1", "like", 300), ("mixer", "i0-2", "like", 200), ("mixer", "i1-1", "like", 100)])
        let config =
            FlowFile.source("knn", "model", "path = \"models/knn\"", "candidates = 1")
            + FlowFile.source("peers", "user_to_user", "model = \"knn\"", "candidates = 6")
        let list = try await serve(base, config, user: "mixer", query: "n=6")
        #expect(list.map(\.id).count == 6)
        #expect(Set(list.prefix(4).map(\.id)) == ["i0-0", "i0-3", "i0-4", "i0-5"])
        // Fusion: the peers' group-0 items scale to 1, group 1's to 0; ties keep the peers' order.
        #expect(list.suffix(2).map(\.id) == ["i1-0", "i1-2"])
        for item in list {
            let users = item.id.hasPrefix("i0-") ? 5 : 4
            #expect(item.reason("peers") == "liked by \(users) of the 11 users most like you", "\(item)")
        }
        // A user the model was trained on is not their own neighbour: u0-0's are the five others
        // of group 0, every one of whom liked i0-0.
        let member = try await serve(base, config, user: "u0-0", query: "n=1")
        #expect(member.first?.id == "i0-0")
        #expect(member.first?.reason("peers") == "liked by 5 of the 5 users most like you")
        // Without the source, its reasons are gone and the model's list alone is served.
        let alone = try await serve(base, FlowFile.source("knn", "model", "path = \"models/knn\""), user: "mixer")
        #expect(alone.allSatisfy { $0.names == ["knn"] })
    }

    /// Bought `i2-0` two baskets before the last and again in the last basket (with `i3-4`),
    /// `i2-1` one basket ago: with a half-life of one basket, `i2-0` weighs 0.25 + 1, `i3-4` 1,
    /// `i2-1` 0.5,
    /// where popularity (every type counts) would put `i2-1` before `i3-4`. The fallback fills the
    /// rest.
    @Test func repeatProposesWhatTheUserBoughtByBasketAge() async throws {
        let base = try await world()
        try await plant(
            base,
            [
                ("shopper", "i2-0", "buy", 400), ("shopper", "i2-1", "buy", 300), ("shopper", "i2-0", "like", 100),
                ("shopper", "i3-4", "buy", 100),
            ])
        let replacement = "[recommend.replacement]\nenable_replacement = true\n\n"
        let config = replacement + FlowFile.source("again", "repeat", "half_life = 1")
        let list = try await serve(base, config, user: "shopper")
        #expect(list.map(\.id).prefix(3) == ["i2-0", "i3-4", "i2-1"])
        #expect(list.first?.reason("again") == "bought 2 times, in the last basket")
        #expect(list.dropFirst().first?.reason("again") == "bought 1 time, in the last basket")
        #expect(list.dropFirst(2).first?.reason("again") == "bought 1 time, last 1 basket ago")
        #expect(list.dropFirst(3).allSatisfy { $0.names == ["fallback"] })
        // Popularity alone orders them by count (7, then 6 each by id).
        let popular = try await serve(base, replacement + FlowFile.source("top", "popular"), user: "shopper")
        #expect(popular.map(\.id).prefix(3) == ["i2-0", "i2-1", "i3-4"])
    }

    /// The newest items by their time, newest first, each with its time; an item the user
    /// touched is left out.
    @Test func latestProposesTheNewestItems() async throws {
        let base = try await world()
        try await plantShop(base)
        let config = FlowFile.source("new", "latest", "candidates = 3")
        let stranger = try await serve(base, config, user: "x9")
        #expect(stranger.map(\.id).prefix(3) == ["i3-5", "i3-2", "i1-4"])
        for (item, age) in zip(stranger, [100.0, 200, 300]) {
            let reason = try #require(item.reason("new"))
            #expect(reason.hasPrefix("new: "), "\(item)")
            let time = try #require(StoreTimestamp.unixSeconds(String(reason.dropFirst(5))))
            #expect(abs(Date().timeIntervalSince1970 - age - time) < 30, "\(item)")
        }
        // u1-0 liked i1-4: the two other new items, then the fallback.
        let fan = try await serve(base, config, user: "u1-0")
        #expect(fan.map(\.id).prefix(2) == ["i3-5", "i3-2"])
        #expect(!fan.map(\.id).contains("i1-4"))
        #expect(fan.dropFirst(2).allSatisfy { $0.names == ["fallback"] })
    }

    /// Of all time `i3-0` is the most popular (9 likes, 4 of them 30 days old); over the last
    /// day only the hour-old likes count: `i2-0` (2) and `i2-1` (1).
    @Test func popularOverAWindowCountsOnlyItsFeedback() async throws {
        let base = try await world()
        try await plantShop(base)
        let always = try await serve(base, FlowFile.source("top", "popular"), user: "x9")
        #expect(always.map(\.id).prefix(4) == ["i3-0", "i2-0", "i2-1", "i0-0"])
        #expect(always.first?.reason("top") == "popular: 9 in all")
        let recent = try await serve(base, FlowFile.source("top", "popular", "window = \"1d\""), user: "x9")
        #expect(recent.map(\.id).prefix(2) == ["i2-0", "i2-1"])
        #expect(recent.first?.reason("top") == "popular: 2 in the last 1 d")
        #expect(recent.dropFirst().first?.reason("top") == "popular: 1 in the last 1 d")
        #expect(recent.dropFirst(2).allSatisfy { $0.names == ["fallback"] })
    }

    /// Per category, the popular items are those of the categories of the user's newest items
    /// (`u1-0` liked blue items: only `i1-0` is blue and unseen), or of the request's category.
    @Test func popularPerCategoryKeepsToTheUsersCategories() async throws {
        let base = try await world()
        try await plantShop(base)
        let config = FlowFile.source("top", "popular", "per_category = true")
        let fan = try await serve(base, config, user: "u1-0")
        #expect(fan.first?.id == "i1-0")
        #expect(fan.first?.reason("top") == "popular in blue: 5 in all")
        // The most popular item still comes, but from the fallback.
        #expect(fan.dropFirst().allSatisfy { $0.names == ["fallback"] })
        #expect(fan.dropFirst().first?.id == "i3-0")
        let red = try await serve(base, config, user: "u1-0", query: "n=3&category=red")
        #expect(red.map(\.id) == ["i0-0", "i0-1", "i0-2"])
        #expect(red.allSatisfy { $0.reason("top") == "popular in red: 5 in all" })
    }

    /// By shared categories: `tagger` liked `i3-0` (sofa, oak); `i3-1` (sofa, oak) overlaps 1,
    /// `i3-2` (sofa) 1/2, `i3-3` (oak, pine) 1/3, `i3-4` (pine) not at all. By labels the same
    /// with label words, an object's `false` key not counting.
    @Test func itemToItemBySharedTagsRanksByOverlap() async throws {
        let base = try await world()
        let tags: [(String, [String])] = [
            ("i3-0", ["sofa", "oak"]), ("i3-1", ["sofa", "oak"]), ("i3-2", ["sofa"]), ("i3-3", ["oak", "pine"]),
            ("i3-4", ["pine"]),
        ]
        try await describe(base, tags.map { StoredItem(itemID: $0.0, categories: $0.1) })
        try await describe(
            base,
            [
                StoredItem(itemID: "i2-0", labels: .array([.string("wool"), .string("striped")])),
                StoredItem(itemID: "i2-1", labels: .object(["wool": .bool(true), "striped": .bool(true)])),
                StoredItem(itemID: "i2-2", labels: .string("wool")),
                StoredItem(itemID: "i2-3", labels: .object(["striped": .bool(false), "linen": .bool(true)])),
            ])
        try await plant(base, [("tagger", "i3-0", "like", 60), ("labeller", "i2-0", "like", 60)])
        let byCategories = try await serve(
            base, FlowFile.source("alike", "item_to_item", "by = \"categories\"", "recent = 1"), user: "tagger")
        #expect(byCategories.map(\.id).prefix(3) == ["i3-1", "i3-2", "i3-3"])
        #expect(
            byCategories.prefix(3).map { $0.reason("alike") ?? "" } == [
                "shares categories oak, sofa with what you liked", "shares categories sofa with what you liked",
                "shares categories oak with what you liked",
            ])
        #expect(byCategories.dropFirst(3).allSatisfy { $0.names == ["fallback"] })
        let byLabels = try await serve(
            base, FlowFile.source("alike", "item_to_item", "by = \"labels\"", "recent = 1"), user: "labeller")
        #expect(byLabels.map(\.id).prefix(2) == ["i2-1", "i2-2"])
        #expect(byLabels.first?.reason("alike") == "shares labels striped, wool with what you liked")
        #expect(byLabels.dropFirst(2).allSatisfy { $0.names == ["fallback"] })
    }

    /// Under the item-kNN model, the neighbours of the user's newest item only (`recent = 1`):
    /// the rest of its group; with `recent = 2` the older item's
    /// group comes too, each item naming the item it is like.
    @Test func itemToItemUnderAModelProposesNeighboursOfTheNewestItems() async throws {
        let base = try await world()
        try await plant(base, [("viewer", "i0-1", "like", 200), ("viewer", "i2-3", "like", 100)])
        let knn = FlowFile.source("knn", "model", "path = \"models/knn\"", "candidates = 1")
        let newest = try await serve(
            base, knn + FlowFile.source("like", "item_to_item", "model = \"knn\"", "recent = 1", "candidates = 5"),
            user: "viewer", query: "n=10")
        let group2 = ["i2-0", "i2-1", "i2-2", "i2-4", "i2-5"]
        #expect(Set(newest.filter { $0.reason("like") != nil }.map(\.id)) == Set(group2))
        #expect(newest.allSatisfy { $0.reason("like").map { $0 == "like i2-3, which you liked" } ?? true })
        let both = try await serve(
            base, knn + FlowFile.source("like", "item_to_item", "model = \"knn\"", "recent = 2", "candidates = 10"),
            user: "viewer", query: "n=10")
        let liked = both.filter { $0.reason("like") != nil }
        #expect(Set(liked.map(\.id)) == Set(group2 + ["i0-0", "i0-2", "i0-3", "i0-4", "i0-5"]))
        for item in liked {
            #expect(item.reason("like") == "like \(item.id.hasPrefix("i0-") ? "i0-1" : "i2-3"), which you liked")
        }
    }

    /// An outside recommender answering `{"Id", "Score"}` (Gorse's shape) for the user in its
    /// path: its scores order the items, and an item the user touched is dropped.
    @Test func externalScoresOrderItsItems() async throws {
        let base = try await world()
        let router = Router()
        router.get("/scored/:user") { _, context -> String in
            guard context.parameters.get("user") == "u0-0" else { return "[]" }
            return #"[{"Id":"i3-3","Score":0.5},{"Id":"i0-1","Score":9},{"Id":"i3-1","Score":2.5}]"#
        }
        try await Application(router: router).test(.live) { partner in
            let port = try #require(partner.port)
            let config = FlowFile.source(
                "partner", "external", "url = \"http://127.0.0.1:\(port)/scored/{user}\"", "timeout = \"2s\"")
            let list = try await serve(base, config, user: "u0-0", query: "n=4")
            #expect(list.map(\.id).prefix(2) == ["i3-1", "i3-3"])
            #expect(list.prefix(2).allSatisfy { $0.reason("partner") == "from partner" })
            #expect(!list.map(\.id).contains("i0-1"))
            #expect(list.dropFirst(2).allSatisfy { $0.names == ["fallback"] })
            // Another user gets nothing from it: the user id reached its path.
            let other = try await serve(base, config, user: "u1-0", query: "n=2")
            #expect(other.allSatisfy { $0.names == ["fallback"] })
        }
    }
}

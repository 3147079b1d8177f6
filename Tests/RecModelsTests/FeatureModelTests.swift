import Foundation
import RecData
import Tensors
import Testing
import _RecTestSupport

@testable import RecModels

/// Content and hybrid models, on a fixture whose items carry genres that match the blocks of
/// the checkerboard: items of block `g` have genre `G<g>`, users of block `g` occupation `O<g>`.
struct FeatureModelTests {
    static func dataset() -> Dataset {
        let (log, _) = Fixtures.checkerboard(groups: 3, size: 6)
        let items = FeatureTable(
            keyField: "item_id", keys: log.itemIDs.externalIDs,
            columns: [
                FeatureColumn(
                    name: "genre", type: .tokenSequence,
                    values: .tokenSequence(log.itemIDs.externalIDs.map { ["G\($0.dropFirst().prefix(1))"] })),
                FeatureColumn(
                    name: "title", type: .token, values: .token(log.itemIDs.externalIDs.map { "Movie \($0)" })),
            ])
        let users = FeatureTable(
            keyField: "user_id", keys: log.userIDs.externalIDs,
            columns: [
                FeatureColumn(
                    name: "occupation", type: .token,
                    values: .token(log.userIDs.externalIDs.map { "O\($0.dropFirst().prefix(1))" }))
            ])
        return Dataset(name: "board", interactions: log, itemFeatures: items, userFeatures: users)
    }

    @Test func featureTokensFollowTheColumnKinds() {
        let table = FeatureTable(
            keyField: "item_id", keys: ["a"],
            columns: [
                FeatureColumn(
                    name: "movie_title", type: .tokenSequence, values: .tokenSequence([["The", "Toy", "Story"]])),
                FeatureColumn(name: "genre", type: .token, values: .token(["Animation Comedy"])),
                FeatureColumn(name: "release_year", type: .float, values: .float([1995])),
                FeatureColumn(name: "age", type: .float, values: .float([24])),
                FeatureColumn(name: "zip_code", type: .token, values: .token(["94043"])),
            ])
        #expect(
            FeatureTokens.tokens(of: table)[0] == [
                "movie_title:toy", "movie_title:story", "genre:Animation", "genre:Comedy", "release_year:1990s",
                "age:24", "zip_code:9",
            ])
    }

    @Test func contentSimilarItemsShareGenresAndExplanationsAddUp() throws {
        let dataset = Self.dataset()
        var model = try ContentKNN()
        try model.fit(TrainingData(log: dataset.interactions, itemFeatures: dataset.itemFeatures), progress: nil)
        let log = dataset.interactions
        let item = try #require(log.itemIDs.index(of: "i1-0"))
        let similar = try model.similarItems(to: item, count: 5)
        #expect(similar.count == 5)
        #expect(similar.allSatisfy { log.itemIDs[$0.item].hasPrefix("i1-") })
        #expect(model.sharedTerms(item, similar[0].item).first?.term == "genre:G1")
        let history = [log.itemIDs.index(of: "i1-1"), log.itemIDs.index(of: "i2-3")].compactMap { $0 }
        var scores: [Float] = []
        try model.score(ScoringContext(history: history), into: &scores)
        let parts = try model.explain(ScoringContext(history: history), item: item, count: 10)
        #expect(abs(parts.reduce(0) { $0 + $1.weight } - scores[Int(item)]) < 1e-5)
        #expect(parts.first?.item == history[0])
    }

    @Test func contentNeedsItemFeatures() throws {
        var model = try ContentKNN()
        #expect(throws: ModelError.self) {
            try model.fit(TrainingData(log: Fixtures.checkerboard().log), progress: nil)
        }
    }

    @Test(arguments: [
        (ModelKind.content, [:]), (.hybrid, ["epochs": "3"]), (.hybrid, ["epochs": "3", "onboarding": "2"]),
    ])
    func saveThenLoadGivesTheSameScores(kind: ModelKind, parameters: [String: String]) throws {
        let dataset = Self.dataset()
        let bundle = try ModelBundle.train(kind, parameters: parameters, dataset: dataset) {
            TrainingRecord(dataset: "board", interactions: 0, users: 0, items: 0, seconds: $0)
        }
        let folder = temporaryDirectory("feature-model")
        try bundle.save(to: folder)
        let loaded = try ModelBundle.load(from: folder)
        for user in ["u0-1", "u2-5"] {
            let context = try #require(bundle.context(forUser: UserID(user)))
            var before: [Float] = []
            var after: [Float] = []
            try bundle.model.score(context, into: &before)
            try loaded.model.score(context, into: &after)
            #expect(before == after)
        }
        // A user the model never saw: fold-in, and with `onboarding` the first items' tokens.
        let newUser = ScoringContext(history: [0, 7, 13])
        var before: [Float] = []
        var after: [Float] = []
        try bundle.model.score(newUser, into: &before)
        try loaded.model.score(newUser, into: &after)
        #expect(before == after)
    }

    /// User u2-1 is held out of training; from their occupation (shared with the other users of
    /// block 2) and one event, the hybrid must rank block 2's items above the others.
    @Test func hybridServesUsersHeldOutOfTraining() throws {
        let dataset = Self.dataset()
        let log = dataset.interactions
        let heldOut = try #require(log.userIDs.index(of: "u2-1"))
        let training = (0..<log.count).filter { log.users[$0] != heldOut }
        var model = try Hybrid(parameters: ["epochs": "40", "factors": "8", "loss": "bpr"])
        try model.fit(
            TrainingData(
                log: log.subset(training), itemFeatures: dataset.itemFeatures, userFeatures: dataset.userFeatures),
            progress: nil)
        let user = heldOut
        let history = [log.itemIDs.index(of: "i2-2")].compactMap { $0 }
        let top = try model.recommend(ScoringContext(user: user, history: history), count: 4, excluding: Set(history))
        #expect(top.allSatisfy { log.itemIDs[$0.item].hasPrefix("i2-") }, "\(top.map { log.itemIDs[$0.item] })")
    }

    /// Users who start with item `a` go on to the items `x*`, those who start with `b` to `y*`;
    /// every user also rates `a` or `b` late. A new user whose first item is `a` must be served
    /// the `x*` items from the onboarding token alone (no fold-in, no attributes); without
    /// `onboarding` that user has no representation and cannot be told from a `b` starter.
    @Test func onboardingItemsServeANewUserFromTheirFirstEvent() throws {
        var pairs: [(user: String, item: String)] = []
        var times: [Double] = []
        for u in 0..<40 {
            let (first, block, other) = u % 2 == 0 ? ("a", "x", "b") : ("b", "y", "a")
            pairs.append(("u\(u)", first))
            times.append(0)
            for k in 0..<6 where (u + k) % 3 != 0 {
                pairs.append(("u\(u)", "\(block)\(k)"))
                times.append(Double(1 + k))
            }
            if u % 4 < 2 {
                pairs.append(("u\(u)", other))
                times.append(10)
            }
        }
        let log = InteractionLog(pairs: pairs, timestamps: times)
        let a = try #require(log.itemIDs.index(of: "a"))
        let b = try #require(log.itemIDs.index(of: "b"))
        for onboarding in [1, 0] {
            var model = try Hybrid(parameters: [
                "epochs": "30", "factors": "8", "onboarding": String(onboarding), "fold_in_epochs": "0",
            ])
            try model.fit(TrainingData(log: log), progress: nil)
            var fromA: [Float] = []
            var fromB: [Float] = []
            try model.score(ScoringContext(history: [a]), into: &fromA)
            try model.score(ScoringContext(history: [b]), into: &fromB)
            if onboarding == 1 {
                for (first, prefix) in [(a, "x"), (b, "y")] {
                    let top = try model.recommend(ScoringContext(history: [first]), count: 6, excluding: [a, b])
                    let names = top.map { log.itemIDs[$0.item] }
                    #expect(names.allSatisfy { $0.hasPrefix(prefix) }, "\(names)")
                }
            } else {
                #expect(fromA == fromB)
            }
        }
    }
}

struct ColdUserSplitTests {
    @Test func heldOutUsersShowFiveEventsAndTestTheRest() throws {
        let log = Fixtures.randomLog(users: 50, items: 40, eventsPerUser: 3...20, seed: 12)
        let split = try DataSplit.make(.coldUser, log: log, seed: 4)
        let trainUsers = Set(split.train.map { log.users[$0] })
        let heldOut = Set(split.test.map { log.users[$0] })
        #expect(heldOut.count == 5)
        #expect(trainUsers.isDisjoint(with: heldOut))
        let chronological = log.chronologicalEventsByUser()
        for user in heldOut {
            let events = chronological[Int(user)]
            #expect(split.validation.filter { log.users[$0] == user } == Array(events.prefix(5)))
            #expect(split.test.filter { log.users[$0] == user } == Array(events.dropFirst(5)))
        }
    }
}

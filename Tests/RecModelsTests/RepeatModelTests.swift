import Foundation
import RecData
import Testing
import _RecTestSupport

@testable import RecModels

/// `repeat` and `tifuknn` (issue 44).
struct RepeatModelTests {
    func fitted(_ kind: ModelKind, _ parameters: [String: String] = [:]) throws -> any Recommender {
        var model = try kind.make(parameters: parameters)
        let log = InteractionLog(pairs: (0..<6).map { ("u", "i\($0)") }, timestamps: [1, 2, 3, 4, 5, 6])
        try model.fit(TrainingData(log: log), progress: nil)
        return model
    }

    @Test func aPurchaseCountsHalfAfterTheHalfLife() throws {
        let model = try fitted(.repeatPurchase, ["half_life": "2"])
        // Baskets 0, 0, 1, 3: item 1 was bought 3 baskets ago and in the newest one; item 2 two ago.
        let context = ScoringContext(history: [1, 2, 3, 1], baskets: [0, 0, 1, 3])
        var scores: [Float] = []
        try model.score(context, into: &scores)
        #expect(abs(scores[1] - Float(pow(0.5, 1.5) + 1)) < 1e-6)
        #expect(abs(scores[2] - Float(pow(0.5, 1.5))) < 1e-6)
        #expect(abs(scores[3] - Float(pow(0.5, 1.0))) < 1e-6)
        // Never bought: ranked by popularity, below every purchase.
        #expect(scores[0] > 0 && scores[0] < 1e-20 && scores[4] < scores[2])
        // By events instead of baskets: item 3 is one event old.
        let events = try RepeatPurchase(parameters: ["half_life": "2", "unit": "events"])
        #expect(events.ages(context) == [3, 2, 1, 0])
    }

    @Test func explanationsSayHowOftenAndHowLately() throws {
        let model = try fitted(.repeatPurchase)
        let context = ScoringContext(history: [1, 2, 1, 1, 3], baskets: [0, 0, 1, 2, 4])
        let reason = try model.explain(context, item: 1, count: 1)
        #expect(reason.first?.feature == "bought 3 times, last 2 baskets ago")
        #expect(reason.first?.item == 1)
        #expect(try model.explain(context, item: 3, count: 1).first?.feature == "bought once, in the last basket")
        #expect(try model.explain(context, item: 0, count: 1).first?.feature == "popular: 1 events")
        var scores: [Float] = []
        try model.score(context, into: &scores)
        #expect(abs((reason.first?.weight ?? 0) - scores[1]) < 1e-6)
    }

    @Test func anOpenBasketsItemsComeLast() throws {
        let model = try fitted(.repeatPurchase, ["open_basket": "true"])
        let context = ScoringContext(history: [1, 2, 2], baskets: [0, 1, 1])
        let top = try model.recommend(context, count: 2)
        #expect(top.first?.item == 1)
        var scores: [Float] = []
        try model.score(context, into: &scores)
        #expect(scores[2] == 0)
    }

    /// 40 users each re-buy a planted personal set of 4 items (each with probability 0.8 per
    /// basket) beside 2 random items, over 12 baskets: `repeat` and `tifuknn` must find the set
    /// in the held-out basket, where popularity cannot.
    @Test func plantedRepeatCyclesAreFound() throws {
        var generator = SeededGenerator(seed: 3)
        var pairs: [(user: String, item: String)] = []
        var times: [Double] = []
        for user in 0..<40 {
            let own = (0..<4).map { _ in Int.random(in: 0..<100, using: &generator) }
            for basket in 0..<12 {
                var items = own.filter { _ in Double.random(in: 0..<1, using: &generator) < 0.8 }
                items += (0..<2).map { _ in Int.random(in: 0..<100, using: &generator) }
                for item in items {
                    pairs.append(("u\(user)", "i\(item)"))
                    times.append(Double(basket))
                }
            }
        }
        let log = InteractionLog(pairs: pairs, timestamps: times)
        let split = try DataSplit.make(.nextBasket, log: log)
        let numbers = log.basketNumbers()
        let byUser = log.chronologicalEventsByUser()
        let inTest = Set(split.test)
        for (kind, expectation) in [(ModelKind.repeatPurchase, true), (.tifuKNN, true), (.popularity, false)] {
            var model = try kind.make()
            try model.fit(TrainingData(split: split), progress: nil)
            var recall = 0.0
            for (user, events) in byUser.enumerated() {
                let history = events.filter { !inTest.contains($0) }
                let targets = Set(events.filter { inTest.contains($0) }.map { log.items[$0] })
                let context = ScoringContext(
                    user: Int32(user), history: history.map { log.items[$0] }, baskets: history.map { numbers[$0] })
                let top = Set(try model.recommend(context, count: 10).map(\.item))
                recall += Double(targets.filter { top.contains($0) }.count) / Double(targets.count)
            }
            recall /= Double(byUser.count)
            #expect((recall > 0.6) == expectation, "\(kind): recall@10 \(recall)")
        }
    }

    /// TIFU-KNN's vector by hand: 4 baskets in 3 groups ([b1], [b2], [b3, b4]).
    @Test func tifuVectorFollowsTheAuthorsGrouping() throws {
        let model = try TIFUKNN(parameters: ["within_decay": "0.5", "group_decay": "0.25", "groups": "3"])
        let vector = model.userVector([[0], [1], [0, 2], [2, 2]])
        // Basket i weighs 0.5^(4 - i); group j weighs 0.25^(2 - j) / |group| / 3.
        let first: Double = 0.125 * 0.0625 / 3 + 0.5 / 2 / 3
        let second: Double = 0.25 * 0.25 / 3
        let third: Double = 1.5 / 2 / 3
        let expected: [Int32: Double] = [0: first, 1: second, 2: third]
        for (item, weight) in expected {
            let found = vector[item] ?? 0
            #expect(abs(found - weight) < 1e-12, "\(item)")
        }
        // Fewer baskets than groups: each basket a group, and the exponent still counts from m.
        let short = model.userVector([[0], [1]])
        let (older, newer): (Double, Double) = (short[0] ?? 0, short[1] ?? 0)
        #expect(abs(older - 0.5 * 0.0625 / 2) < 1e-12)
        #expect(abs(newer - 0.25 / 2) < 1e-12)
    }

    @Test func tifuMixesTheUserWithTheMeanOfTheNearestOthers() throws {
        // Three users: a and b buy {0, 1}, c buys {2}; a new shopper of {0} is nearest a and b.
        let log = InteractionLog(
            pairs: [("a", "0"), ("a", "1"), ("b", "0"), ("b", "1"), ("c", "2")], timestamps: [1, 1, 1, 1, 1])
        var model = try TIFUKNN(parameters: ["neighbors": "2", "alpha": "0.5", "groups": "1"])
        try model.fit(TrainingData(log: log), progress: nil)
        var scores: [Float] = []
        try model.score(ScoringContext(history: [0], baskets: [0]), into: &scores)
        #expect(abs(scores[0] - 1.0) < 1e-6)
        #expect(abs(scores[1] - 0.5) < 1e-6)
        #expect(scores[2] == 0)
        // A known user is never their own neighbour.
        #expect(model.nearestUsers(to: [0: 1, 1: 1], excluding: 0) == [1, 2])
    }
}

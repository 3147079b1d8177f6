import Foundation
import RecData
import Tensors
import Testing
import _RecTestSupport

@testable import RecModels

struct RepeatNetTests {
    /// 24 users. With `repeats`, each re-buys a personal set of 3 items (of 36, two users a set)
    /// in four baskets of the three in a random order; without, each walks 12 items it never buys again
    /// (`(3u + t) mod 36`), so no history holds the next item.
    static func plantedLog(repeats: Bool) -> (log: InteractionLog, histories: [[Int32]]) {
        var pairs: [(user: String, item: String)] = []
        var times: [Double] = []
        var generator = SplitMix64(seed: 21)
        for u in 0..<24 {
            // Repeats: four baskets, each the set in a shuffled order.
            let items =
                repeats
                ? (0..<4).flatMap { _ in (0..<3).map { 3 * (u % 12) + $0 }.shuffled(using: &generator) }
                : (0..<12).map { (3 * u + $0) % 36 }
            for (t, item) in items.enumerated() {
                pairs.append(("u\(u)", "i\(item)"))
                times.append(Double(t))
            }
        }
        let log = InteractionLog(pairs: pairs, timestamps: times)
        return (log, log.chronologicalEventsByUser().map { $0.map { log.items[$0] } })
    }

    static func trained(_ log: InteractionLog) throws -> RepeatNet {
        var model = try RepeatNet(parameters: SequenceModelTests.small(.repeatNet))
        try model.fit(TrainingData(log: log), progress: nil)
        return model
    }

    /// Users who re-buy a personal set: the repeat mode wins (P(repeat) > 0.5 for every user),
    /// the top item is one of the set, and the explanation says it came from the repeat mode.
    @Test func repeatModeWinsWhereUsersRebuyAPersonalSet() throws {
        let (log, histories) = Self.plantedLog(repeats: true)
        let model = try Self.trained(log)
        let contexts = histories.enumerated().map { ScoringContext(user: Int32($0.offset), history: $0.element) }
        let pRepeat = try model.repeatProbabilities(contexts)
        #expect(pRepeat.allSatisfy { $0 > 0.5 }, "\(pRepeat)")
        for context in contexts.prefix(4) {
            let top = try #require(try model.recommend(context, count: 1).first)
            #expect(context.history.contains(top.item))
            let reasons = try model.explain(context, item: top.item, count: 5)
            #expect(reasons.first?.item == top.item)
            #expect(reasons.first?.feature?.hasPrefix("repeat mode: P(repeat)") == true, "\(reasons)")
            #expect(abs(reasons.reduce(0) { $0 + $1.weight } - top.score) <= 1e-5)
        }
    }

    /// Users who never repeat: the explore mode wins (P(repeat) < 0.5 for every user), and an
    /// item outside the history is explained as explored, its score shared over history items.
    @Test func exploreModeWinsWhereUsersNeverRepeat() throws {
        let (log, histories) = Self.plantedLog(repeats: false)
        let model = try Self.trained(log)
        let contexts = histories.enumerated().map { ScoringContext(user: Int32($0.offset), history: $0.element) }
        let pRepeat = try model.repeatProbabilities(contexts)
        #expect(pRepeat.allSatisfy { $0 < 0.5 }, "\(pRepeat)")
        let context = contexts[0]
        let top = try #require(try model.recommend(context, count: 1).first)
        #expect(!context.history.contains(top.item))
        let reasons = try model.explain(context, item: top.item, count: 100)
        #expect(reasons.first?.feature?.hasPrefix("explore mode: P(explore)") == true, "\(reasons)")
        #expect(reasons.dropFirst().allSatisfy { $0.item.map(context.history.contains) ?? false })
        #expect(abs(reasons.reduce(0) { $0 + $1.weight } - top.score) <= 1e-5)
    }

    /// The repeat scores are the attention scattered into item space: the repeat decoder gives
    /// no mass outside the window and sums to 1 over it; explore gives none (below
    /// 1e-30) inside it.
    @Test func theDecodersSplitTheCatalogueAtTheWindow() throws {
        let (log, histories) = Self.plantedLog(repeats: true)
        var model = try RepeatNet(parameters: SequenceModelTests.small(.repeatNet, ["epochs": "1"]))
        try model.fit(TrainingData(log: log), progress: nil)
        let network = try #require(model.network)
        let window = Array(histories[0].suffix(7))
        let output = RepeatNet.forward(
            of: network, for: [ScoringContext(history: histories[0])], maxLength: 7, openBasket: false)
        let (repeated, explored) = (output.repeatProbabilities.value.scalars, output.exploreProbabilities.value.scalars)
        for item in 0..<log.itemCount {
            if window.contains(Int32(item)) {
                // exp(−∞) in the SIMD softmax is a denormal, not always 0.
                #expect(explored[item] < 1e-30)
            } else {
                #expect(repeated[item] == 0)
            }
        }
        #expect(abs(repeated.reduce(0, +) - 1) < 1e-5 && abs(explored.reduce(0, +) - 1) < 1e-5)
        #expect(throws: ModelError.self) { try RepeatNet(parameters: ["loss": "bpr"]) }
    }
}

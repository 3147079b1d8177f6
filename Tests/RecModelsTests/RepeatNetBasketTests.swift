import Foundation
import NeuralNet
import RecData
import Tensors
import Testing
import _RecTestSupport

@testable import RecModels

/// RepeatNet's basket ages (``BasketAgeEncoding``): gradients in Float64, a planted log that
/// only the ages solve, and the contract (batch equals single, save then load) with baskets.
struct RepeatNetBasketTests {
    /// Two rows of 3 and 2 tokens over 6 items, ages 0...5 against a cap of 3 (4 and 5 share it).
    static let batch = SequenceBatch(sequences: [[0, 4, 0], [5, 2]], users: [0, 1], length: 3, padLeft: false)
    static let ages: [Int32] = [5, 1, 0, 4, 2, 0]

    @Test(arguments: [UInt64(1), 2, 3])
    func networkGradientsWithAgesInFloat64(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        let network = RepeatNetNetwork<Double>(
            items: 6, embeddingSize: 3, hiddenSize: 4, maxAge: 3, dropout: 0, generator: &generator)
        // Away from the initial scale (N(0, 0.02) tables), so the age terms move the output.
        var draw = SplitMix64(seed: seed &+ 100)
        for parameter in network.parameters {
            parameter.value = Tensor.randomUniform(shape: parameter.shape, in: -0.8..<0.8, using: &draw)
        }
        let ageParameters = network.ages.parameters
        #expect(ageParameters.count == 2 && ageParameters.map(\.shape) == [[4, 3], [4, 1]])
        let result = GradientCheck.check(network.parameters, seed: seed) { tape in
            var unused = SplitMix64(seed: 0)
            let output = network.forward(Self.batch, ages: Self.ages, on: tape, generator: &unused)
            let loss = network.loss(output, targets: [(0, 3), (0, 4), (1, 2)])
            return Variable.concatenate([output.probabilities.reshaped([12]), loss.reshaped([1])], axis: 0)
        }
        #expect(result.passed, "\(result)")
        #expect(result.checked > 0)
    }

    /// Each user alternates two fixed sets of 3 items (a random split of the same 6 items, so an
    /// item says nothing of its set), a random 1 to 3 of the set in each of 12 baskets: the next
    /// basket holds only items of the set bought 2, 4, … baskets ago. With the ages the 3 items
    /// of that set rank first for every user; without them (`max_age=0`, all positions age 0),
    /// the model cannot tell which items are 1 basket old and which 2, and fails most users.
    static func alternatingLog() -> (log: InteractionLog, next: [Set<Int32>]) {
        var pairs: [(user: String, item: String)] = []
        var times: [Double] = []
        var generator = SplitMix64(seed: 9)
        var sets: [[[Int]]] = []
        for u in 0..<24 {
            let split = Array(0..<6).shuffled(using: &generator)
            let halves = [Array(split[0..<3]), Array(split[3..<6])]
            sets.append(halves)
            for basket in 0..<12 {
                let size = Int.random(in: 1...3, using: &generator)
                for item in halves[basket % 2].shuffled(using: &generator).prefix(size) {
                    pairs.append(("u\(u)", "i\(item)"))
                    times.append(Double(basket))
                }
            }
        }
        let log = InteractionLog(pairs: pairs, timestamps: times)
        // Basket 12 is of the first set again.
        let next = sets.map { Set($0[0].compactMap { log.itemIDs.index(of: "i\($0)") }) }
        return (log, next)
    }

    static func contexts(_ log: InteractionLog) -> [ScoringContext] {
        let numbers = log.basketNumbers()
        return log.chronologicalEventsByUser().enumerated().map { user, events in
            ScoringContext(
                user: Int32(user), history: events.map { log.items[$0] }, baskets: events.map { numbers[$0] })
        }
    }

    static func hits(maxAge: Int) throws -> Int {
        let (log, next) = alternatingLog()
        var model = try RepeatNet(
            parameters: SequenceModelTests.small(
                .repeatNet, ["max_length": "12", "targets": "baskets", "max_age": String(maxAge), "epochs": "60"]))
        try model.fit(TrainingData(log: log), progress: nil)
        var hits = 0
        for (context, expected) in zip(contexts(log), next) {
            let top = try model.recommend(context, count: 3)
            if Set(top.map(\.item)) == expected { hits += 1 }
        }
        return hits
    }

    @Test func basketAgesFindTheSetOfTheNextBasket() throws {
        let withAges = try Self.hits(maxAge: 8)
        let without = try Self.hits(maxAge: 0)
        #expect(withAges == 24, "with ages: \(withAges) of 24")
        #expect(without <= 12, "without ages: \(without) of 24")
    }

    /// The examples: every event after a user's first, or every basket after the first with
    /// the events of that basket as its targets.
    @Test func trainingExamplesByEventAndByBasket() {
        let baskets: [[Int32]] = [[0, 0, 1, 2, 2, 2], [0], [3, 5]]
        let events = RepeatNet.examples(baskets: baskets, byBasket: false)
        #expect(events.map { [$0.user, $0.end, $0.targetEnd] } == (1..<6).map { [0, $0, $0 + 1] } + [[2, 1, 2]])
        let byBasket = RepeatNet.examples(baskets: baskets, byBasket: true)
        #expect(byBasket.map { [$0.user, $0.end, $0.targetEnd] } == [[0, 2, 3], [0, 3, 6], [2, 1, 2]])
    }

    /// Ages count from the basket to predict: the newest basket is age 0 when open, 1 when not;
    /// without baskets each event is its own basket.
    @Test func scoringAgesCountFromTheNextBasket() {
        let context = ScoringContext(history: [4, 5, 6, 7], baskets: [0, 2, 2, 3])
        #expect(RepeatNet.ages(of: context, maxLength: 3, openBasket: false) == [2, 2, 1])
        #expect(RepeatNet.ages(of: context, maxLength: 3, openBasket: true) == [1, 1, 0])
        #expect(RepeatNet.ages(of: ScoringContext(history: [4, 5, 6]), maxLength: 5, openBasket: true) == [3, 2, 1])
    }

    /// Batch equals single and save then load, on contexts with baskets (the shared contract
    /// tests score without them).
    @Test func batchEqualsSingleAndSaveThenLoadWithBaskets() throws {
        let (log, _) = Self.alternatingLog()
        var model = try RepeatNet(
            parameters: SequenceModelTests.small(.repeatNet, ["max_length": "5", "epochs": "2", "open_basket": "true"]))
        try model.fit(TrainingData(log: log), progress: nil)
        var loaded = try RepeatNet(parameters: model.parameters)
        try loaded.load(weights: model.weights())
        let contexts = Self.contexts(log).prefix(6).map { context in
            var shorter = context
            shorter.history = Array(context.history.prefix(3 + Int(context.user ?? 0)))
            shorter.baskets = context.baskets.map { Array($0.prefix(shorter.history.count)) }
            return shorter
        }
        let batch = try model.scoreBatch(contexts)
        for (row, context) in contexts.enumerated() {
            var single: [Float] = []
            var again: [Float] = []
            try model.score(context, into: &single)
            try loaded.score(context, into: &again)
            #expect(allClose(Array(batch.row(row)), single, rtol: 1e-5, atol: 1e-6), "row \(row)")
            #expect(single == again, "row \(row)")
        }
        // The open basket's ages differ from a closed one's, and so do the scores.
        var closed = try RepeatNet(parameters: model.parameters.merging(["open_basket": "false"]) { $1 })
        try closed.load(weights: model.weights())
        var open: [Float] = []
        var notOpen: [Float] = []
        try model.score(contexts[2], into: &open)
        try closed.score(contexts[2], into: &notOpen)
        #expect(open != notOpen)
    }
}

import Foundation
import NeuralNet
import RecData
import Tensors
import Testing
import _RecTestSupport

@testable import RecModels

/// The sequence models and their shared training loop, on planted sequences.
struct SequenceModelTests {
    static let kinds: [ModelKind] = [.sasrec, .gru4rec, .lstm, .caser, .repeatNet]

    /// Small networks that learn ``Fixtures/cycles(users:items:length:)`` in seconds, even in a
    /// debug build.
    static func small(_ kind: ModelKind, _ extra: [String: String] = [:]) -> [String: String] {
        var parameters = [
            "epochs": "40", "batch_size": "16", "learning_rate": "0.01", "dropout": "0", "patience": "100",
        ]
        switch kind {
        case .sasrec:
            parameters.merge(["hidden_size": "16", "blocks": "1", "inner_size": "32", "max_length": "7"]) { $1 }
        case .gru4rec, .lstm, .repeatNet:
            parameters.merge(["hidden_size": "16", "embedding_size": "16", "max_length": "7"]) { $1 }
        case .caser: parameters.merge(["hidden_size": "16", "max_length": "3", "horizontal_filters": "4"]) { $1 }
        case .neumf: parameters.merge(["embedding_size": "8", "mlp_sizes": "16,8", "batch_size": "32"]) { $1 }
        default: break
        }
        return parameters.merging(extra) { $1 }
    }

    func trained(_ kind: ModelKind, _ data: TrainingData, _ extra: [String: String] = [:]) throws -> any Recommender {
        var model = try kind.make(parameters: Self.small(kind, extra))
        try model.fit(data, progress: nil)
        return model
    }

    @Test(arguments: kinds)
    func theNextItemOfAPlantedCycleComesFirst(kind: ModelKind) throws {
        let (log, next) = Fixtures.cycles()
        let model = try trained(kind, TrainingData(log: log))
        for start in 0..<Int32(12) {
            // A user the model never saw, after three steps of the cycle.
            var history = [start]
            for _ in 0..<2 { history.append(next[Int(history[history.count - 1])]) }
            let top = try model.recommend(ScoringContext(history: history), count: 1)
            #expect(top.first?.item == next[Int(history[2])], "\(kind) after \(history)")
        }
    }

    @Test func sasRecsLastStepShortcutMatchesTheFullEncoding() throws {
        var reader = ParameterReader(
            model: .sasrec, ["hidden_size": "8", "blocks": "2", "heads": "2", "inner_size": "12"])
        let architecture = try SASRecArchitecture(reading: &reader)
        var generator = SplitMix64(seed: 5)
        let network = architecture.makeNetwork(items: 20, users: 0, maxLength: 6, generator: &generator)
        let tape = Tape<Float>(recording: false)
        // Unpadded rows take the shortcut; a padded batch takes the full encoding.
        for sequences in [[[3, 1, 4, 1, 5, 9]], [[2, 7, 1, 8, 2, 8], [1, 6, 1, 8, 0, 3]], [[3, 1, 4], [1]]] {
            let batch = SequenceBatch(
                sequences: sequences.map { $0.map(Int32.init)[...] }, users: sequences.map { _ in -1 }, length: 6,
                padLeft: false)
            var rng = SplitMix64(seed: 0)
            let full = SASRecArchitecture.Network.lastStates(
                of: network.encode(batch, on: tape, generator: &rng).value, batch: batch)
            let fast = network.lastStates(batch, on: tape)
            #expect(fast.shape == [sequences.count, 8])
            #expect(allClose(fast.scalars, full.scalars, rtol: 1e-5, atol: 1e-5))
        }
    }

    @Test func neuMFRanksTheWithheldItemOfACheckerboardFirst() throws {
        let (log, withheld) = Fixtures.checkerboard()
        let model = try trained(
            .neumf, TrainingData(log: log), ["epochs": "300", "negatives": "4", "learning_rate": "0.003"])
        let histories = log.chronologicalEventsByUser().map { $0.map { log.items[$0] } }
        for user in 0..<log.userCount {
            let context = ScoringContext(user: Int32(user), history: histories[user])
            let top = try model.recommend(context, count: 1, excluding: Set(histories[user]))
            #expect(top.first?.item == withheld[user], "user \(user)")
        }
    }

    @Test(arguments: [SequenceLoss.bpr, .binaryCrossEntropy, .sampledSoftmax, .generalizedBCE])
    func sampledLossesLearnTheCycleToo(loss: SequenceLoss) throws {
        let (log, next) = Fixtures.cycles()
        // Four negatives of the twelve items, so the sampled losses really sample; shared by the
        // batch, they need more epochs than one negative per row.
        let extra = loss.samplesNegatives ? ["negatives": "4", "epochs": "100"] : [:]
        let model = try trained(
            .sasrec, TrainingData(log: log), ["loss": loss.rawValue, "epochs": "60"].merging(extra) { $1 })
        var hits = 0
        for item in 0..<Int32(12) {
            let top = try model.recommend(ScoringContext(history: [item]), count: 1)
            if top.first?.item == next[Int(item)] { hits += 1 }
        }
        #expect(hits >= 11, "\(loss): \(hits) of 12")
    }

    /// A cycle that only the older part of each history shows: users walk a cycle over `c0…c11`
    /// for 16 events, then see 8 shuffled items from `r0…r11`. The newest window (`max_length`
    /// 7 reads the newest 8 events) holds no cycle step; `windows=all` trains on all of it.
    @Test(arguments: [ModelKind.sasrec, .gru4rec])
    func trainingOnEveryWindowLearnsWhatOnlyOlderEventsShow(kind: ModelKind) throws {
        var pairs: [(user: String, item: String)] = []
        var times: [Double] = []
        var generator = SplitMix64(seed: 11)
        for u in 0..<48 {
            let recent = (0..<12).shuffled(using: &generator).prefix(8)
            let items = (0..<16).map { "c\((u + $0) % 12)" } + recent.map { "r\($0)" }
            for (t, item) in items.enumerated() {
                pairs.append(("u\(u)", item))
                times.append(Double(t))
            }
        }
        let log = InteractionLog(pairs: pairs, timestamps: times)
        func cycleHits(_ windows: TrainingWindows) throws -> Int {
            let model = try trained(kind, TrainingData(log: log), ["windows": windows.rawValue])
            var hits = 0
            for start in 0..<12 {
                let history = (0..<3).compactMap { log.itemIDs.index(of: "c\((start + $0) % 12)") }
                let top = try model.recommend(ScoringContext(history: history), count: 1)
                if top.first?.item == log.itemIDs.index(of: "c\((start + 3) % 12)") { hits += 1 }
            }
            return hits
        }
        let (all, newest) = (try cycleHits(.all), try cycleHits(.newest))
        #expect(all >= 11, "\(kind), windows=all: \(all) of 12")
        #expect(newest <= 3, "\(kind), windows=newest: \(newest) of 12")
    }

    /// Every event after a history's first is a target exactly once per epoch with `all` and
    /// `overlap`; with `overlap` and stride `s` (default `max_length / 2`) each target sees at
    /// least `max_length - s` earlier items (all of them near the history's start), and it has
    /// about `max_length / s` times `all`'s windows.
    @Test func overlappingWindowsCountEveryTargetOnceWithTheRestOfAWindowBeforeIt() {
        for (count, maxLength) in [(20, 6), (21, 7), (3, 6), (50, 50), (2, 4)] {
            for stride in [nil, 1, 2, maxLength] {
                var covered: [TrainingWindows: [Int]] = [:]
                let step = stride ?? maxLength / 2
                for mode in [TrainingWindows.all, .overlap] {
                    for window in mode.windows(count: count, maxLength: maxLength, stride: stride) {
                        let start = max(0, window.end - 1 - maxLength)  // first input read
                        for target in (start + 1)..<window.end where target >= window.firstTarget {
                            covered[mode, default: []].append(target)
                            if mode == .overlap {
                                #expect(
                                    target - start >= min(target, maxLength - step),
                                    "\(count), \(maxLength), \(step): \(target)")
                            }
                        }
                    }
                    #expect(covered[mode]?.sorted() == Array(1..<count), "\(mode), \(count), \(maxLength), \(step)")
                }
                let all = TrainingWindows.all.windows(count: count, maxLength: maxLength).count
                let overlap = TrainingWindows.overlap.windows(count: count, maxLength: maxLength, stride: stride).count
                #expect(overlap >= all && overlap <= (maxLength / step) * all + 1, "\(count), \(maxLength), \(step)")
            }
        }
        #expect(TrainingWindows.newest.windows(count: 30, maxLength: 6).map(\.end) == [30])
    }

    /// Caser trains on every prefix, not on windows: it refuses a windowing it would ignore,
    /// records no windowing parameters, and still reads the `newest` its older saved models wrote.
    @Test func caserRefusesWindowsItWouldIgnore() throws {
        #expect(
            throws: ModelError.invalidParameter(
                model: "caser", key: "windows", value: "overlap", reason: "must be one of newest")
        ) { try Caser(parameters: ["windows": "overlap"]) }
        let caser = try Caser(parameters: ["windows": "newest", "window_stride": "2"])
        #expect(caser.parameters["windows"] == nil && caser.parameters["window_stride"] == nil)
        #expect(try GRU4Rec(parameters: ["windows": "overlap"]).parameters["windows"] == "overlap")
    }

    /// The LSTM variant's forget gates start open; every other gate bias keeps torch's
    /// `U(-1/√H, 1/√H)`.
    @Test func theLSTMsForgetGatesStartOpen() {
        var generator = SplitMix64(seed: 3)
        let hidden = 16
        let stack = LSTMStack(inputSize: 8, hiddenSize: hidden, layers: 2, generator: &generator)
        let bound = 1 / Float(hidden).squareRoot()
        for layer in stack.lstm.cells {
            let bias = layer.biasIH.value.scalars
            #expect(bias[hidden..<(2 * hidden)].allSatisfy { $0 == 1 })
            #expect(
                bias[..<hidden].allSatisfy { abs($0) <= bound } && bias[(2 * hidden)...].allSatisfy { abs($0) <= bound }
            )
        }
    }

    @Test func theSameSeedGivesTheSameWeights() throws {
        let log = Fixtures.randomLog(users: 30, items: 20, eventsPerUser: 3...12, seed: 7)
        let parameters = ["dropout": "0.3", "epochs": "3"]
        let a = try trained(.sasrec, TrainingData(log: log), parameters).weights()
        let b = try trained(.sasrec, TrainingData(log: log), parameters).weights()
        let c = try trained(.sasrec, TrainingData(log: log), parameters.merging(["seed": "9"]) { $1 }).weights()
        #expect(a == b)
        #expect(a != c)
    }

    @Test func hiddenDropoutActsInTrainingOnlyAndTheCycleIsStillLearned() throws {
        let log = Fixtures.randomLog(users: 30, items: 20, eventsPerUser: 3...12, seed: 7)
        let plain = try trained(.gru4rec, TrainingData(log: log), ["epochs": "2"])
        let dropped = try trained(.gru4rec, TrainingData(log: log), ["epochs": "2", "hidden_dropout": "0.5"])
        #expect(dropped.parameters["hidden_dropout"] == "0.5")
        #expect(try plain.weights() != dropped.weights())
        // Inference is deterministic: no mask is drawn outside training. BLAS may round rows of a
        // batch of two differently from a batch of one (OpenBLAS with OPENBLAS_CORETYPE=Haswell
        // does, in the last bit), so those agree to rounding; a mask at 0.5 would move scores far more.
        let context = ScoringContext(history: [1, 2, 3])
        let single = try dropped.scoreBatch([context]).row(0)
        #expect(try dropped.scoreBatch([context]).row(0) == single)
        let pair = try dropped.scoreBatch([context, context])
        for row in 0..<2 {
            #expect(allClose(Array(pair.row(row)), Array(single), rtol: 5e-6, atol: 5e-6))
        }
        let (cycles, next) = Fixtures.cycles()
        let model = try trained(.gru4rec, TrainingData(log: cycles), ["hidden_dropout": "0.3"])
        let top = try model.recommend(ScoringContext(history: [0, next[0], next[Int(next[0])]]), count: 1)
        #expect(top.first?.item == next[Int(next[Int(next[0])])])
    }

    @Test(arguments: ["constant", "cosine"])
    func aResumedRunMatchesAnUnbrokenOne(schedule: String) throws {
        let log = Fixtures.randomLog(users: 30, items: 20, eventsPerUser: 3...12, seed: 8)
        let folder = temporaryDirectory("resume")
        let (checkpoint, interrupted) = (
            folder.appendingPathComponent("a.ckpt"), folder.appendingPathComponent("b.ckpt")
        )
        var unbroken = TrainingData(log: log)
        unbroken.control = TrainingControl(checkpoint: checkpoint)
        let parameters = ["dropout": "0.2", "epochs": "4", "lr_schedule": schedule]
        var whole = try GRU4Rec(parameters: Self.small(.gru4rec, parameters))
        // The checkpoint as a run killed during epoch 3 leaves it: written after epoch 2.
        try whole.fit(unbroken) { step, done, _ in
            if step.contains("epoch 3/"), done > 0, !FileManager.default.fileExists(atPath: interrupted.path) {
                try? FileManager.default.copyItem(at: checkpoint, to: interrupted)
            }
        }
        if schedule != "constant" {
            let steady = try trained(
                .gru4rec, TrainingData(log: log), parameters.merging(["lr_schedule": "constant"]) { $1 })
            #expect(try steady.weights() != whole.weights())
        }
        var broken = TrainingData(log: log)
        broken.control = TrainingControl(checkpoint: interrupted, epochLog: folder.appendingPathComponent("b.jsonl"))
        let resumed = try trained(.gru4rec, broken, parameters)
        #expect(try whole.weights() == resumed.weights())
        #expect(whole.epochs.map(\.loss) == resumed.epochs.map(\.loss))
        #expect(resumed.epochs.map(\.epoch) == [1, 2, 3, 4])
        // The resumed leg logs only the epochs it ran.
        let lines = try String(contentsOf: folder.appendingPathComponent("b.jsonl"), encoding: .utf8)
            .split(separator: "\n")
        #expect(lines.count == 2)
        // A checkpoint of another model is refused, with nothing trained.
        #expect(throws: CheckpointError.self) { try trained(.sasrec, broken, ["epochs": "5"]) }
    }

    @Test func validationDrivesEarlyStoppingAndTheBestEpochIsKept() throws {
        let (log, next) = Fixtures.cycles()
        var data = TrainingData(log: log)
        data.validation = (0..<Int32(12)).map { item in
            ValidationCase(user: -1, history: [item], targets: [next[Int(item)]])
        }
        let model = try trained(.gru4rec, data, ["epochs": "200", "patience": "3", "learning_rate": "0.003"])
        let records = model.epochs
        let scores = records.map { $0.validation["ndcg@10"] ?? -1 }
        let best = try #require(scores.max())
        // Stopped after three epochs without a better score, long before the cap.
        #expect(records.count < 200)
        #expect(scores.suffix(3).allSatisfy { $0 <= best } && scores.dropLast(3).contains(best))
        // The kept weights are the best epoch's: recomputing its NDCG@10 gives the same value.
        var total = 0.0
        for item in 0..<Int32(12) {
            let top = try model.recommend(ScoringContext(history: [item]), count: 10)
            if let rank = top.firstIndex(where: { $0.item == next[Int(item)] }) { total += 1 / log2(Double(rank) + 2) }
        }
        #expect(abs(total / 12 - best) < 1e-9, "\(scores)")
    }

    @Test func leaveOneOutExplanationsAreScoreDifferences() throws {
        let (log, next) = Fixtures.cycles()
        let model = try trained(.sasrec, TrainingData(log: log))
        let history: [Int32] = [0, next[0], next[Int(next[0])]]
        let target = next[Int(history[2])]
        let parts = try model.explain(ScoringContext(history: history), item: target, count: 10)
        var full: [Float] = []
        try model.score(ScoringContext(history: history), into: &full)
        for part in parts {
            let item = try #require(part.item)
            var shorter: [Float] = []
            try model.score(ScoringContext(history: history.filter { $0 != item }), into: &shorter)
            #expect(abs(part.weight - (full[Int(target)] - shorter[Int(target)])) < 1e-4)
        }
        // The newest item decides what comes next in a cycle.
        #expect(parts.first?.item == history[2])
    }

    @Test func aNetworkThatDivergesStopsWithTheEpochAndStep() throws {
        let (log, _) = Fixtures.cycles(users: 8)
        var generator = SplitMix64(seed: 1)
        let network = ExplodingNetwork(items: log.itemCount, generator: &generator)
        var reader = ParameterReader(model: .sasrec, ["batch_size": "4"])
        let options = try SequenceTrainingOptions(reading: &reader, defaultMaxLength: 5)
        let trainer = SequenceTrainer(
            network: network, options: options,
            sequences: log.chronologicalEventsByUser().map { $0.map { log.items[$0] } }, itemCount: log.itemCount,
            validation: [], control: TrainingControl(), model: "exploding")
        #expect(throws: ModelError.nonFinite("in the loss (nan) at epoch 1, step 1")) {
            _ = try trainer.run(progress: nil) { _, _ in Matrix(rows: 0, columns: 0) }
        }
    }
}

/// A network whose output is multiplied by infinity and zero: its loss is NaN at the first step.
private struct ExplodingNetwork: SequenceNetwork {
    let embedding: Embedding<Float>
    let scale: Parameter<Float>
    static var predictsEveryPosition: Bool { true }

    init(items: Int, generator: inout SplitMix64) {
        embedding = Embedding(count: items + 1, dimension: 4, paddingIndex: 0, using: &generator)
        scale = Parameter(Tensor(shape: [2], scalars: [.infinity, 0]))
    }

    var namedParameters: [(name: String, parameter: Parameter<Float>)] {
        [("embedding", embedding.weight), ("scale", scale)]
    }
    var outputWeight: Parameter<Float> { embedding.weight }
    var outputBias: Parameter<Float>? { nil }

    func encode(_ batch: SequenceBatch, on tape: Tape<Float>, generator: inout SplitMix64) -> Variable<Float> {
        let x = embedding(batch.tokens, shape: [batch.rows * batch.length], on: tape)
        let s = x.parameter(scale)
        return x * s.slice(axis: 0, 0..<1) * s.slice(axis: 0, 1..<2)
    }
}

import Foundation
import RecData
import RecModels
import RecRetrieval
import Tensors

/// Which held-out part of a split to evaluate.
public enum EvaluationPhase: String, Sendable, Codable {
    case validation
    case test
}

/// One evaluated user: what the model sees, what it should find, what must not be recommended.
public struct EvaluationCase: Sendable, Equatable {
    public var user: Int32
    /// The user's history, oldest first (the model's input).
    public var history: [Int32]
    /// Held-out items, distinct.
    public var targets: [Int32]
    /// Items excluded from the ranking (already seen, per protocol).
    public var mask: [Int32]
    /// The basket number of each history event (`seq-loo`, `next-basket`), for models that
    /// decay by baskets.
    public var historyBaskets: [Int32]?

    public init(user: Int32, history: [Int32], targets: [Int32], mask: [Int32], historyBaskets: [Int32]? = nil) {
        self.user = user
        self.history = history
        self.targets = targets
        self.mask = mask
        self.historyBaskets = historyBaskets
    }

    /// What the model is asked to score.
    public var context: ScoringContext { ScoringContext(user: user, history: history, baskets: historyBaskets) }
}

/// How candidates are ranked.
public enum NegativeSampling: String, Sendable, Codable {
    /// Every item is a candidate (full ranking; the protocols' setting).
    case full
    /// Each held-out item is ranked against N items drawn uniformly from those the user has not seen.
    case uniform
    /// As `uniform`, drawn in proportion to training popularity.
    case popularity
}

/// Evaluation settings.
public struct EvaluationOptions: Sendable {
    /// Cut-offs (the protocols report 10 and 20).
    public var ks: [Int] = [10, 20]
    public var sampling: NegativeSampling = .full
    /// Negatives per held-out item with sampling.
    public var negatives = 100
    /// Seeds the negative sampling.
    public var seed: UInt64 = 2020
    /// Users scored per batch.
    public var batchSize = 256
    /// Keep every user's top-`max(ks)` list in the result, for export.
    public var keepLists = false
    /// Evaluate a seeded sample of this many users (cases) instead of all (`--eval-users`); the
    /// sample is drawn with ``seed`` and reported as such.
    public var userSample: Int?
    /// Also report `phr@K` and recall and NDCG over repeat targets (items in the user's history)
    /// and explore targets (the rest), each averaged over the users that have such targets
    /// (`recall_rep@K`, `ndcg_rep@K`, `recall_expl@K`, `ndcg_expl@K`, `users_rep`, `users_expl`):
    /// the `next-basket` protocol's metrics.
    public var repeatSplit = false
    /// A second stage that reorders each case's retrieved items (full ranking only).
    public var reranker: CaseReranker?

    public init() {}
}

/// The outcome of an evaluation.
public struct EvaluationResult: Sendable {
    /// `"ndcg@10"` → mean over evaluated users; also `coverage@K` and `gini@K` with full ranking.
    public var metrics: [String: Double]
    public var users: Int
    public var seconds: Double
    /// Per case, the top-`max(ks)` items (only with ``EvaluationOptions/keepLists``).
    public var lists: [[ScoredItem]]?
}

/// Ranks every item for every evaluated user and averages the metrics, on all cores.
public enum Evaluator {
    /// The cases of `phase` for a split, per `docs/protocols.md`.
    ///
    /// - `seq-loo`: history = the user's earlier events (newest `historyLimit`), target = the
    ///   held-out event, no mask.
    /// - `gen-rs`, `temporal`: history = the user's training items; targets = held-out items;
    ///   mask = training items (and validation items when testing).
    public static func cases(for split: DataSplit, phase: EvaluationPhase, historyLimit: Int? = nil) -> [EvaluationCase]
    {
        let log = split.log
        var part = [UInt8](repeating: 0, count: log.count)  // 1 train, 2 validation, 3 test
        for index in split.train { part[index] = 1 }
        for index in split.validation { part[index] = 2 }
        for index in split.test { part[index] = 3 }
        let targetPart: UInt8 = phase == .validation && split.splitProtocol != .coldUser ? 2 : 3
        var cases: [EvaluationCase] = []
        // cold-item ranks the new items only: every other item is masked (one shared array).
        var oldItems: [Int32] = []
        if split.splitProtocol == .coldItem && phase == .test {
            var isNew = [Bool](repeating: false, count: log.itemCount)
            for index in split.test { isNew[Int(log.items[index])] = true }
            oldItems = (0..<Int32(log.itemCount)).filter { !isNew[Int($0)] }
        }
        let sequential = [.sequentialLeaveOneOut, .nextBasket].contains(split.splitProtocol)
        let basketNumbers = sequential ? log.basketNumbers() : []
        for (user, events) in log.chronologicalEventsByUser().enumerated() {
            let targets = events.filter { part[$0] == targetPart }.map { log.items[$0] }
            guard !targets.isEmpty else { continue }
            var distinct: [Int32] = []
            var seen = Set<Int32>()
            for item in targets where seen.insert(item).inserted { distinct.append(item) }
            let train = events.filter { part[$0] == 1 }.map { log.items[$0] }
            switch split.splitProtocol {
            case .sequentialLeaveOneOut, .nextBasket:
                let visible = phase == .validation ? 1 : 2
                var shown = events.filter { part[$0] >= 1 && part[$0] <= visible }
                if let historyLimit, shown.count > historyLimit { shown = Array(shown.suffix(historyLimit)) }
                cases.append(
                    EvaluationCase(
                        user: Int32(user), history: shown.map { log.items[$0] }, targets: distinct, mask: [],
                        historyBaskets: shown.map { basketNumbers[$0] }))
            case .coldUser:
                // The visible events are the history; the same cases serve both phases.
                let visible = events.filter { part[$0] == 2 }.map { log.items[$0] }
                let heldOut = events.filter { part[$0] == 3 }.map { log.items[$0] }
                guard !visible.isEmpty, !heldOut.isEmpty else { continue }
                var unique: [Int32] = []
                var seenItems = Set(visible)
                for item in heldOut where seenItems.insert(item).inserted { unique.append(item) }
                guard !unique.isEmpty else { continue }
                cases.append(EvaluationCase(user: Int32(user), history: visible, targets: unique, mask: visible))
            case .coldItem where phase == .test:
                cases.append(EvaluationCase(user: Int32(user), history: train, targets: distinct, mask: oldItems))
            case .generalRandom, .temporal, .coldItem:
                var mask = train
                if phase == .test { mask += events.filter { part[$0] == 2 }.map { log.items[$0] } }
                cases.append(EvaluationCase(user: Int32(user), history: train, targets: distinct, mask: mask))
            }
        }
        return cases
    }

    /// The validation phase's cases in the form the neural models stop early on.
    public static func validationCases(for split: DataSplit, historyLimit: Int? = nil) -> [ValidationCase] {
        cases(for: split, phase: .validation, historyLimit: historyLimit).map {
            ValidationCase(
                user: $0.user, history: $0.history, targets: $0.targets, mask: $0.mask, baskets: $0.historyBaskets)
        }
    }

    /// The cases `options` evaluates: all of them, or a seeded sample of
    /// ``EvaluationOptions/userSample`` of them, in their original order.
    public static func sample(_ cases: [EvaluationCase], options: EvaluationOptions) -> [EvaluationCase] {
        guard let count = options.userSample, count < cases.count else { return cases }
        var generator = SeededGenerator(seed: options.seed ^ 0x05E5_7E57)
        var indices = Array(cases.indices)
        indices.shuffle(using: &generator)
        return indices.prefix(max(0, count)).sorted().map { cases[$0] }
    }

    /// Evaluates `model` on `cases`.
    ///
    /// - Parameters:
    ///   - itemPopularity: Training events per item, for popularity sampling (required then).
    ///   - retriever: With an ANN index and full ranking, each user's top `max(ks) + 1` comes from
    ///     the index (masked items filtered inside the search); a held-out item outside that list
    ///     counts as not found. This measures what serving with the index would give.
    ///   - progress: Called after each batch with `(users done, users)`.
    /// - Complexity: O(users · (score + items · log k)); the top-k is a partial selection.
    public static func evaluate(
        _ model: any Recommender, cases: [EvaluationCase], options: EvaluationOptions = EvaluationOptions(),
        itemPopularity: [Float]? = nil, retriever: Retriever? = nil, progress: ProgressHandler? = nil
    ) throws -> EvaluationResult {
        let start = Date()
        let items = model.itemCount
        guard items > 0 else { throw ModelError.notFitted }
        guard !options.ks.isEmpty, options.ks.allSatisfy({ $0 > 0 }) else {
            throw DatasetError.invalidOption("cut-offs must be positive")
        }
        let ks = options.ks.sorted()
        var perCase = [Double](repeating: 0, count: cases.count * ks.count * slots)
        var lists = [[ScoredItem]](repeating: [], count: cases.count)
        let sampler =
            options.sampling == .full
            ? nil : NegativeSampler(items: items, popularity: itemPopularity, options: options)
        for blockStart in stride(from: 0, to: cases.count, by: max(1, options.batchSize)) {
            let block = blockStart..<min(cases.count, blockStart + max(1, options.batchSize))
            let contexts = block.map { cases[$0].context }
            if sampler == nil, let reranker = options.reranker {
                try rankReranked(
                    try model.scoreBatch(contexts), items: items, reranker: reranker, cases: cases, block: block,
                    ks: ks, perCase: &perCase, lists: &lists)
            } else if sampler == nil, let retriever, retriever.index != nil {
                try rankThroughIndex(
                    retriever, contexts: contexts, cases: cases, block: block, ks: ks, perCase: &perCase,
                    lists: &lists)
            } else if let sampler {
                let scores = try model.scoreBatch(contexts)
                rankAmongSamples(
                    scores, items: items, sampler: sampler, cases: cases, block: block, ks: ks, perCase: &perCase)
            } else {
                let scores = try model.scoreBatch(contexts)
                rankAmongAll(
                    scores, items: items, cases: cases, block: block, ks: ks, perCase: &perCase, lists: &lists)
            }
            progress?("evaluating", block.upperBound, cases.count)
        }
        let metrics = aggregate(
            perCase, lists: sampler == nil ? lists : nil, ks: ks, items: items, itemPopularity: itemPopularity,
            repeatSplit: options.repeatSplit)
        return EvaluationResult(
            metrics: metrics, users: cases.count, seconds: Date().timeIntervalSince(start),
            lists: options.keepLists && sampler == nil ? lists : nil)
    }
}

extension Evaluator {
    /// Full ranking through the ANN index: each case's top `max(ks) + 1` comes from the index
    /// with its mask filtered inside the search; a target outside that list is not found.
    private static func rankThroughIndex(
        _ retriever: Retriever, contexts: [ScoringContext], cases: [EvaluationCase], block: Range<Int>, ks: [Int],
        perCase: inout [Double], lists: inout [[ScoredItem]]
    ) throws {
        let maxK = ks.last ?? 10
        let masks = block.map { Set(cases[$0].mask) }
        let found = try retriever.recommendBatch(contexts, count: maxK + 1, excluding: masks) { r, item in
            !masks[r].contains(item)
        }
        perCase.withUnsafeMutableBufferPointer { perCase in
            for (offset, c) in block.enumerated() {
                let top = found[offset]
                let topScores = top.map(\.score)
                let ranks = cases[c].targets.map { target -> Int in
                    guard !masks[offset].contains(target), let hit = top.first(where: { $0.item == target })
                    else { return Int.max }
                    return Metrics.rank(of: hit.score, top: topScores, limit: maxK)
                }
                lists[c] = Array(top.prefix(maxK))
                record(ranks, case: c, of: cases, ks: ks, into: perCase)
            }
        }
    }

    /// Full ranking by the model's scores of every item, `(block, items)`: each case's targets
    /// ranked against its top `max(ks) + 1`, its mask excluded.
    private static func rankAmongAll(
        _ scores: Matrix<Float>, items: Int, cases: [EvaluationCase], block: Range<Int>, ks: [Int],
        perCase: inout [Double], lists: inout [[ScoredItem]]
    ) {
        let maxK = ks.last ?? 10
        perCase.withUnsafeMutableBufferPointer { perCase in
            lists.withUnsafeMutableBufferPointer { lists in
                scores.storage.withUnsafeBufferPointer { scores in
                    Parallel.forEachChunk(of: block, minimumChunk: 8) { range in
                        var masked = [Bool](repeating: false, count: items)
                        for c in range {
                            let offset = c - block.lowerBound
                            let row = UnsafeBufferPointer(rebasing: scores[(offset * items)..<((offset + 1) * items)])
                            for item in cases[c].mask { masked[Int(item)] = true }
                            let top = TopK.select(maxK + 1, from: row) { !masked[Int($0)] }
                            let topScores = top.map(\.score)
                            let ranks = cases[c].targets.map {
                                masked[Int($0)] ? Int.max : Metrics.rank(of: row[Int($0)], top: topScores, limit: maxK)
                            }
                            for item in cases[c].mask { masked[Int(item)] = false }
                            lists[c] = Array(top.prefix(maxK))
                            record(ranks, case: c, of: cases, ks: ks, into: perCase)
                        }
                    }
                }
            }
        }
    }

    /// Sampled ranking: each case's targets ranked against the sampler's negatives, by the
    /// model's scores of every item, `(block, items)`.
    private static func rankAmongSamples(
        _ scores: Matrix<Float>, items: Int, sampler: NegativeSampler, cases: [EvaluationCase], block: Range<Int>,
        ks: [Int], perCase: inout [Double]
    ) {
        perCase.withUnsafeMutableBufferPointer { perCase in
            scores.storage.withUnsafeBufferPointer { scores in
                Parallel.forEachChunk(of: block, minimumChunk: 8) { range in
                    for c in range {
                        let offset = c - block.lowerBound
                        let row = UnsafeBufferPointer(rebasing: scores[(offset * items)..<((offset + 1) * items)])
                        record(sampler.ranks(of: cases[c], scores: row), case: c, of: cases, ks: ks, into: perCase)
                    }
                }
            }
        }
    }

    /// The mean of every metric over the cases at each cut-off and, for full rankings (`lists`),
    /// the lists' coverage, Gini index and mean training popularity.
    private static func aggregate(
        _ perCase: [Double], lists: [[ScoredItem]]?, ks: [Int], items: Int, itemPopularity: [Float]?,
        repeatSplit: Bool
    ) -> [String: Double] {
        let caseCount = perCase.count / max(1, ks.count * slots)
        var metrics: [String: Double] = [:]
        let n = Double(max(1, caseCount))
        for (slot, k) in ks.enumerated() {
            func sum(_ m: Int) -> Double {
                var total = 0.0
                for c in 0..<caseCount { total += perCase[(c * ks.count + slot) * slots + m] }
                return total
            }
            for (m, name) in Metrics.names.enumerated() { metrics["\(name)@\(k)"] = sum(m) / n }
            if repeatSplit {
                // Li et al. (TOIS 2023): PHR is the share of users with a hit; the repeat and
                // explore figures average over the users whose targets include such items.
                metrics["phr@\(k)"] = metrics["hit@\(k)"]
                for (offset, kind) in ["rep", "expl"].enumerated() {
                    let base = Metrics.names.count + 3 * offset
                    let users = sum(base + 2)
                    metrics["recall_\(kind)@\(k)"] = users > 0 ? sum(base) / users : 0
                    metrics["ndcg_\(kind)@\(k)"] = users > 0 ? sum(base + 1) / users : 0
                    metrics["users_\(kind)"] = users
                }
            }
            if let lists {
                let top = lists.map { $0.prefix(k).map(\.item) }
                metrics["coverage@\(k)"] = Metrics.coverage(top, itemCount: items)
                metrics["gini@\(k)"] = Metrics.gini(top, itemCount: items)
                if let itemPopularity {
                    let total = top.reduce(0) { $0 + $1.count }
                    let sum = top.reduce(0.0) { $0 + $1.reduce(0.0) { $0 + Double(itemPopularity[Int($1)]) } }
                    metrics["avgpop@\(k)"] = total > 0 ? sum / Double(total) : 0
                }
            }
        }
        return metrics
    }

    /// Values kept per case and cut-off: ``Metrics/names``, then recall, NDCG and 1 (0 when the
    /// case has none) over its repeat targets (items in its history), and the same over its
    /// explore targets.
    static let slots = Metrics.names.count + 6

    /// Writes case `c`'s metrics at every cut-off into its slots of `perCase`.
    static func record(
        _ ranks: [Int], case c: Int, of cases: [EvaluationCase], ks: [Int],
        into perCase: UnsafeMutableBufferPointer<Double>
    ) {
        let history = Set(cases[c].history)
        let isRepeat = cases[c].targets.map { history.contains($0) }
        let repeatRanks = ranks.indices.filter { isRepeat[$0] }.map { ranks[$0] }
        let exploreRanks = ranks.indices.filter { !isRepeat[$0] }.map { ranks[$0] }
        for (slot, k) in ks.enumerated() {
            let base = (c * ks.count + slot) * slots
            let values = Metrics.atK(k, ranks: ranks)
            for m in 0..<Metrics.names.count { perCase[base + m] = values[m] }
            for (offset, part) in [repeatRanks, exploreRanks].enumerated() where !part.isEmpty {
                let partial = Metrics.atK(k, ranks: part)
                let at = base + Metrics.names.count + 3 * offset
                (perCase[at], perCase[at + 1], perCase[at + 2]) = (partial[0], partial[2], 1)
            }
        }
    }
}

/// Draws negatives for sampled evaluation, seeded per user so runs repeat.
struct NegativeSampler {
    let items: Int
    let count: Int
    let seed: UInt64
    /// Cumulative popularity, for popularity sampling.
    let cumulative: [Double]?

    init(items: Int, popularity: [Float]?, options: EvaluationOptions) {
        self.items = items
        self.count = options.negatives
        self.seed = options.seed
        if options.sampling == .popularity, let popularity {
            var running = 0.0
            cumulative = popularity.map {
                running += Double($0) + 1e-9; return running
            }
        } else {
            cumulative = nil
        }
    }

    func ranks(of testCase: EvaluationCase, scores: UnsafeBufferPointer<Float>) -> [Int] {
        var generator = SeededGenerator(seed: mixHash(seed, UInt64(UInt32(bitPattern: testCase.user))))
        let excluded = Set(testCase.mask + testCase.targets + testCase.history)
        guard excluded.count < items else { return testCase.targets.map { _ in 1 } }
        return testCase.targets.map { target in
            let score = scores[Int(target)]
            guard !score.isNaN else { return Int.max }
            var rank = 1
            var drawn = 0
            while drawn < count {
                let candidate: Int
                if let cumulative, let total = cumulative.last {
                    let u = generator.nextUnit() * total
                    var low = 0
                    var high = cumulative.count - 1
                    while low < high {
                        let mid = (low + high) / 2
                        if cumulative[mid] <= u { low = mid + 1 } else { high = mid }
                    }
                    candidate = low
                } else {
                    candidate = generator.nextInt(below: items)
                }
                guard !excluded.contains(Int32(candidate)) else { continue }
                drawn += 1
                if scores[candidate] >= score { rank += 1 }
            }
            return rank
        }
    }
}

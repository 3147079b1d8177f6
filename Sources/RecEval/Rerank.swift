import Foundation
import RecData
import RecModels
import Tensors

/// A second stage for an evaluation (`--rerank MODEL_DIR`): the retrieval model's top ``depth``
/// unmasked items of each evaluated user are ordered by ``ranker``, and the metrics read the
/// reordered list (an item outside the retrieved ones is not found).
public struct EvaluationRerank: Sendable {
    /// The second stage, a saved `ctr` ranker.
    public var ranker: any CandidateRanker
    /// Candidates taken from the retrieval model per user (the 200).
    public var depth: Int
    /// The users and items the ranker holds features for (external ids); `nil` skips the check.
    public var knownUsers: Set<String>?
    public var knownItems: Set<String>?

    public init(
        ranker: any CandidateRanker, depth: Int = 200, knownUsers: Set<String>? = nil, knownItems: Set<String>? = nil
    ) {
        (self.ranker, self.depth, self.knownUsers, self.knownItems) = (ranker, depth, knownUsers, knownItems)
    }

    /// A `ctr` ranker with its feature tables as the known users and items.
    public init(_ ranker: CTRRanker, depth: Int = 200) {
        self.init(ranker: ranker, depth: depth, knownUsers: Set(ranker.users.keys), knownItems: Set(ranker.items.keys))
    }
}

/// ``EvaluationRerank`` bound to one split: what the ranker is told about each evaluated user.
///
/// A request holds the user's external id, the retrieved candidates' ids, the moment of the
/// user's first held-out event (its UTC hour and weekday; the request a server would get when the
/// user came back), and the user's visible history in time order (the case's history, its newest
/// 50 counting), the same fields the ranker's training examples had.
public struct CaseReranker: Sendable {
    let ranker: any CandidateRanker
    let depth: Int
    let userIDs: [String]
    let itemIDs: [String]
    /// Per user index, the time of the first event of the evaluated part (NaN: none).
    let times: [Double]

    /// - Throws: ``DatasetError/invalidOption(_:)`` when the log has no timestamps, or the ranker
    ///   holds features for none of its users or none of its items (a ranker of another data set).
    public init(_ rerank: EvaluationRerank, split: DataSplit, phase: EvaluationPhase, dataset name: String) throws {
        guard rerank.depth > 0 else { throw DatasetError.invalidOption("--rerank-depth must be positive") }
        let log = split.log
        for (what, known, ids) in [
            ("users", rerank.knownUsers, log.userIDs.externalIDs),
            ("items", rerank.knownItems, log.itemIDs.externalIDs),
        ] {
            guard let known, !ids.isEmpty, !ids.contains(where: known.contains) else { continue }
            throw DatasetError.invalidOption(
                "--rerank: the ranker holds features for none of the \(ids.count) \(what) of \(name) "
                    + "(it was trained on another data set)")
        }
        guard let timestamps = log.timestamps else {
            throw DatasetError.invalidOption(
                "--rerank needs timestamps in \(name): the ranker reads the hour and weekday of each request")
        }
        let evaluated = phase == .validation && split.splitProtocol != .coldUser ? split.validation : split.test
        var times = [Double](repeating: .nan, count: log.userCount)
        for event in evaluated {
            let user = Int(log.users[event])
            if times[user].isNaN || timestamps[event] < times[user] { times[user] = timestamps[event] }
        }
        (ranker, depth, userIDs, itemIDs, self.times) = (
            rerank.ranker, rerank.depth, log.userIDs.externalIDs, log.itemIDs.externalIDs, times
        )
    }

    /// The ranker's scores of `candidates` (item indices) for `testCase`, in their order.
    func scores(_ testCase: EvaluationCase, candidates: [Int32]) throws -> [Float] {
        let user = Int(testCase.user)
        let time = times[user].isNaN ? 0 : times[user]
        let request = RankingRequest(
            user: userIDs[user], candidates: candidates.map { itemIDs[Int($0)] }, time: time,
            sequence: testCase.history.suffix(CTRDataset.historyLimit).map { itemIDs[Int($0)] })
        let scores = try ranker.score(request)
        guard scores.count == candidates.count else {
            throw ModelError.unsuitableData(
                "the ranker returned \(scores.count) scores for \(candidates.count) candidates")
        }
        return scores
    }
}

extension Evaluator {
    /// Two stages: each case's top ``CaseReranker/depth`` by `scores` (its mask excluded),
    /// reordered by the reranker's scores (ties keep the retrieval order); a target outside the
    /// retrieved items is not found.
    static func rankReranked(
        _ scores: Matrix<Float>, items: Int, reranker: CaseReranker, cases: [EvaluationCase], block: Range<Int>,
        ks: [Int], perCase: inout [Double], lists: inout [[ScoredItem]]
    ) throws {
        let maxK = ks.last ?? 10
        var masked = [Bool](repeating: false, count: items)
        try perCase.withUnsafeMutableBufferPointer { perCase in
            try scores.storage.withUnsafeBufferPointer { scores in
                for c in block {
                    let offset = c - block.lowerBound
                    let row = UnsafeBufferPointer(rebasing: scores[(offset * items)..<((offset + 1) * items)])
                    for item in cases[c].mask { masked[Int(item)] = true }
                    let retrieved = TopK.select(reranker.depth, from: row) { !masked[Int($0)] }.map(\.item)
                    for item in cases[c].mask { masked[Int(item)] = false }
                    let second = try reranker.scores(cases[c], candidates: retrieved)
                    let order = retrieved.indices.sorted {
                        second[$0] > second[$1] || (second[$0] == second[$1] && $0 < $1)
                    }
                    var position: [Int32: Int] = [:]
                    for (rank, index) in order.enumerated() { position[retrieved[index]] = rank + 1 }
                    let ranks = cases[c].targets.map { position[$0] ?? Int.max }
                    lists[c] = order.prefix(maxK).map { ScoredItem(item: retrieved[$0], score: second[$0]) }
                    record(ranks, case: c, of: cases, ks: ks, into: perCase)
                }
            }
        }
    }
}

import Foundation
import RecData
import RecModels

/// The continuous trainer's test: a candidate model and the one being served are ranked on the
/// same newest events, held out by time, and the candidate replaces the served one only when it
/// is not worse by more than a stated tolerance.
///
/// Both models are scored by the same code, in the data's own identifiers, so they need not
/// share users or items: a held-out item the served model never saw is a miss for it, as it
/// would be in production.
public enum QualityGate {
    /// A user's held-out test: their older items as the history, their newer ones as targets.
    public struct Case: Sendable, Equatable {
        public var user: String
        /// Items before the cut, oldest first (the candidate's training events).
        public var history: [String]
        /// Items after the cut that are not in the history.
        public var targets: Set<String>
    }

    /// Ranking quality on the held-out cases.
    public struct Score: Sendable, Equatable, Codable {
        public var ndcg: Double
        public var recall: Double
        public var users: Int
    }

    /// Splits `log` by time: the newest `fraction` of its events (at least one) are held out.
    ///
    /// - Returns: The events before the cut (training), and one case per user with held-out
    ///   items outside their history.
    public static func holdout(_ log: InteractionLog, fraction: Double) -> (train: [Int], cases: [Case]) {
        let order = (0..<log.count).sorted {
            let (a, b) = (log.timestamps?[$0] ?? Double($0), log.timestamps?[$1] ?? Double($1))
            return a != b ? a < b : $0 < $1
        }
        let held = min(log.count, max(1, Int((Double(log.count) * fraction).rounded())))
        let cut = log.count - held
        let train = Array(order[..<cut]).sorted()
        var histories = [Int32: [String]]()
        for index in order[..<cut] { histories[log.users[index], default: []].append(log.itemIDs[log.items[index]]) }
        var targets = [Int32: Set<String>]()
        for index in order[cut...] { targets[log.users[index], default: []].insert(log.itemIDs[log.items[index]]) }
        let cases = targets.keys.sorted().compactMap { user -> Case? in
            let history = histories[user] ?? []
            let unseen = targets[user, default: []].subtracting(history)
            return unseen.isEmpty ? nil : Case(user: log.userIDs[user], history: history, targets: unseen)
        }
        return (train, cases)
    }

    /// NDCG@k and recall@k of `bundle` on `cases` (binary relevance; recall over all targets).
    /// Each user is ranked from their index in the model if it knows them and from the history
    /// items it knows; the history is never recommended.
    public static func score(_ bundle: ModelBundle, cases: [Case], k: Int = 10) throws -> Score {
        var ndcg = 0.0
        var recall = 0.0
        for test in cases {
            let history = test.history.compactMap { bundle.itemIndex(ItemID($0)) }
            let context = ScoringContext(user: bundle.userIDs.index(of: test.user), history: history)
            let top = try bundle.model.recommend(context, count: k, excluding: Set(history))
            var dcg = 0.0
            var hits = 0
            for (rank, scored) in top.prefix(k).enumerated() where test.targets.contains(bundle.itemIDs[scored.item]) {
                dcg += 1 / log2(Double(rank) + 2)
                hits += 1
            }
            let ideal = (0..<min(k, test.targets.count)).reduce(0.0) { $0 + 1 / log2(Double($1) + 2) }
            ndcg += ideal > 0 ? dcg / ideal : 0
            recall += Double(hits) / Double(test.targets.count)
        }
        let users = max(1, cases.count)
        return Score(ndcg: ndcg / Double(users), recall: recall / Double(users), users: cases.count)
    }

    /// Whether a candidate scoring `candidate` may replace one scoring `serving`: its NDCG is at
    /// least `(1 - tolerance)` times the served model's.
    public static func accepts(candidate: Score, serving: Score, tolerance: Double) -> Bool {
        candidate.ndcg >= serving.ndcg * (1 - tolerance)
    }
}

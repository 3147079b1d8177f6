import Foundation

/// Ranking metrics of `docs/protocols.md`, computed from the ranks of held-out items.
///
/// A rank is 1 + the number of other candidate items whose score is at least the held-out
/// item's, so ties count against it and a constant scorer ranks last. A held-out item that
/// cannot be ranked (masked, or a NaN score) has rank `Int.max`.
public enum Metrics {
    /// The metrics reported for each cut-off, in report order.
    public static let names = ["recall", "precision", "ndcg", "mrr", "hit"]

    /// `[recall, precision, ndcg, mrr, hit]` at `k` for one user with held-out items ranked `ranks`.
    ///
    /// - `recall` = hits / held-out; `precision` = hits / k; `hit` = 1 if any hit;
    /// - `ndcg` = Σ_hits 1/log2(rank+1) / Σ_{i=1}^{min(held-out, k)} 1/log2(i+1);
    /// - `mrr` = 1 / best rank if it is within k.
    public static func atK(_ k: Int, ranks: [Int]) -> [Double] {
        checkArgument(k > 0, "metrics: k must be positive, got \(k)")
        guard !ranks.isEmpty else { return [0, 0, 0, 0, 0] }
        var hits = 0
        var dcg = 0.0
        var best = Int.max
        for rank in ranks where rank <= k {
            hits += 1
            dcg += 1 / log2(Double(rank) + 1)
            best = min(best, rank)
        }
        var idcg = 0.0
        for i in 1...min(ranks.count, k) { idcg += 1 / log2(Double(i) + 1) }
        return [
            Double(hits) / Double(ranks.count),
            Double(hits) / Double(k),
            dcg / idcg,
            best == Int.max ? 0 : 1 / Double(best),
            hits > 0 ? 1 : 0,
        ]
    }

    /// Share of the catalogue that appears in at least one list.
    public static func coverage(_ lists: [[Int32]], itemCount: Int) -> Double {
        guard itemCount > 0 else { return 0 }
        var seen = [Bool](repeating: false, count: itemCount)
        for list in lists { for item in list { seen[Int(item)] = true } }
        return Double(seen.lazy.filter { $0 }.count) / Double(itemCount)
    }

    /// The Gini index of how often each item is recommended, over the whole catalogue (RecBole's
    /// `GiniIndex`): 0 when every item is recommended equally often, near 1 when few items take all.
    public static func gini(_ lists: [[Int32]], itemCount: Int) -> Double {
        guard itemCount > 0 else { return 0 }
        var counts = [Double](repeating: 0, count: itemCount)
        for list in lists { for item in list { counts[Int(item)] += 1 } }
        counts.sort()
        let total = counts.reduce(0, +)
        guard total > 0 else { return 0 }
        let n = Double(itemCount)
        var sum = 0.0
        for (index, count) in counts.enumerated() { sum += (2 * Double(index + 1) - n - 1) * count }
        return sum / (n * total)
    }

    /// Rank of a held-out item with score `target` from the best `limit + 1` candidate scores
    /// (`top`, descending, masked items excluded), exactly when the rank is at most `limit`.
    ///
    /// If `top[limit]` exists and is `>= target`, at least `limit + 1` items score at least as
    /// high, so the rank is beyond `limit` and `Int.max` is returned. Otherwise every item that
    /// scores `>= target` is in `top`, and the count is exact.
    public static func rank(of target: Float, top: [Float], limit: Int) -> Int {
        guard !target.isNaN else { return Int.max }
        if top.count > limit && top[limit] >= target { return Int.max }
        var count = 0
        for score in top where score >= target { count += 1 }
        return max(count, 1)
    }

    /// Ranks of `targets` in a full row of scores with the `masked` items left out: 1 + the number
    /// of other unmasked items (other targets included) whose score is at least the target's, as
    /// ``rank(of:top:limit:)`` counts them. A masked or NaN target has rank `Int.max`.
    ///
    /// - Complexity: O(targets · items)
    public static func ranks(of targets: [Int32], in scores: ArraySlice<Float>, masked: [Int32]) -> [Int] {
        let maskedSet = Set(masked)
        return scores.withUnsafeBufferPointer { row in
            targets.map { target in
                let score = row[Int(target)]
                guard !score.isNaN, !maskedSet.contains(target) else { return Int.max }
                var rank = 1
                for j in 0..<row.count where row[j] >= score { rank += 1 }
                // The target itself, and the masked items that scored as high, do not count.
                rank -= 1
                for item in maskedSet where row[Int(item)] >= score { rank -= 1 }
                return rank
            }
        }
    }
}

import Foundation

/// The `ctr` protocol's metrics: AUC, log loss and GAUC, as FuxiCTR and the BARS benchmark
/// report them.
public enum CTRMetrics {
    /// Probabilities are clipped to `[eps, 1 - eps]` before the logarithm.
    public static let logLossEpsilon = 1e-7

    /// Area under the ROC curve: the share of (positive, negative) pairs whose positive scores
    /// higher, a tie counting one half (`sklearn.metrics.roc_auc_score`).
    ///
    /// Computed from mid-ranks (Mann–Whitney U): `(Σ rank(positive) - P(P+1)/2) / (P·N)`.
    /// - Returns: `nil` when the labels hold only one class.
    /// - Complexity: O(n log n)
    public static func auc(scores: [Float], labels: [Float]) -> Double? {
        checkArgument(scores.count == labels.count, "auc: \(scores.count) scores, \(labels.count) labels")
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var rankSum = 0.0
        var positives = 0
        var start = 0
        while start < order.count {
            var end = start
            while end + 1 < order.count && scores[order[end + 1]] == scores[order[start]] { end += 1 }
            // Ranks start..end (0-based) share the mid-rank; 1-based it is (start + end) / 2 + 1.
            let midRank = Double(start + end) / 2 + 1
            for position in start...end where labels[order[position]] > 0.5 {
                rankSum += midRank
                positives += 1
            }
            start = end + 1
        }
        let negatives = order.count - positives
        guard positives > 0, negatives > 0 else { return nil }
        let p = Double(positives)
        return (rankSum - p * (p + 1) / 2) / (p * Double(negatives))
    }

    /// Mean binary cross-entropy, `-mean(t·log p + (1-t)·log(1-p))` with `p` clipped to
    /// `[logLossEpsilon, 1 - logLossEpsilon]`.
    public static func logLoss(probabilities: [Float], labels: [Float]) -> Double {
        checkArgument(
            probabilities.count == labels.count, "logLoss: \(probabilities.count) probabilities, \(labels.count) labels"
        )
        guard !labels.isEmpty else { return .nan }
        var total = 0.0
        for (probability, label) in zip(probabilities, labels) {
            let p = min(max(Double(probability), logLossEpsilon), 1 - logLossEpsilon)
            total -= Double(label) * log(p) + (1 - Double(label)) * log(1 - p)
        }
        return total / Double(labels.count)
    }

    /// Group AUC: each user's AUC over their own examples, weighted by their number of
    /// examples; users whose examples all carry one label are skipped (FuxiCTR's `gAUC`).
    ///
    /// - Returns: `nil` when no user has both labels.
    public static func gauc(scores: [Float], labels: [Float], users: [Int32]) -> Double? {
        checkArgument(scores.count == users.count, "gauc: \(scores.count) scores, \(users.count) users")
        var groups: [Int32: [Int]] = [:]
        for (index, user) in users.enumerated() { groups[user, default: []].append(index) }
        var weighted = 0.0
        var weight = 0.0
        for user in groups.keys.sorted() {
            guard let indices = groups[user],
                let value = auc(scores: indices.map { scores[$0] }, labels: indices.map { labels[$0] })
            else { continue }
            weighted += value * Double(indices.count)
            weight += Double(indices.count)
        }
        return weight > 0 ? weighted / weight : nil
    }

    /// AUC, log loss and GAUC of `probabilities` against `labels`, by name (`auc`, `logloss`,
    /// `gauc`; an undefined AUC or GAUC is NaN).
    public static func all(probabilities: [Float], labels: [Float], users: [Int32]) -> [String: Double] {
        [
            "auc": auc(scores: probabilities, labels: labels) ?? .nan,
            "logloss": logLoss(probabilities: probabilities, labels: labels),
            "gauc": gauc(scores: probabilities, labels: labels, users: users) ?? .nan,
        ]
    }
}

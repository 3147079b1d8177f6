import Foundation
import RecStore

/// What one round of the continuous trainer decided, with the figures behind it: printed by
/// `reckit trainer` as one JSON line (``jsonLine()``), and kept as the published version's report.
///
/// The keys are those of the line the trainer has always printed (`decision`, `reason`,
/// `error`, `time`, `events`, `heldOut`, `users`, `kind`, `tolerance`, `servingVersion`,
/// `serving`, `warmStart`, `trainSeconds`, `candidate`, `version`, `name`), plus `store` (the
/// change mark the round saw), `deleted` and `deleteErrors` (``ModelRetention``). A key without
/// a value is left out.
public struct TrainerDecision: Sendable, Equatable, Codable {
    public enum Outcome: String, Sendable, Codable {
        /// The candidate was saved and published as ``TrainerDecision/version``.
        case published
        /// The candidate ranked worse than the served model by more than the tolerance.
        case refused
        /// No candidate was trained: ``TrainerDecision/reason`` says why.
        case skipped
        /// The round threw (the database away, a model that would not train):
        /// ``TrainerDecision/error``.
        case failed
    }

    /// NDCG@10 and recall@10 on the held-out events, or why the served model could not be scored.
    public struct Figures: Sendable, Equatable, Codable {
        public var ndcg: Double?
        public var recall: Double?
        public var error: String?

        enum CodingKeys: String, CodingKey {
            case ndcg = "ndcg@10"
            case recall = "recall@10"
            case error
        }

        public init(ndcg: Double? = nil, recall: Double? = nil, error: String? = nil) {
            self.ndcg = ndcg
            self.recall = recall
            self.error = error
        }
    }

    public var decision: Outcome
    public var reason: String?
    public var error: String?
    /// ISO 8601 time the round began.
    public var time: String?
    public var events: Int?
    public var heldOut: Int?
    /// Users with held-out events outside their history (the gate's cases).
    public var users: Int?
    public var kind: String?
    public var tolerance: Double?
    /// The published version served when the round began.
    public var servingVersion: Int?
    public var serving: Figures?
    public var warmStart: Bool?
    public var trainSeconds: Double?
    public var candidate: Figures?
    /// The version published by this round.
    public var version: Int?
    /// The published model directory's name.
    public var name: String?
    /// The store's change mark when the round began; a later round that sees the same mark and
    /// the same served version is skipped.
    public var store: StoreChangeMark?
    /// Published versions this round deleted (row and directory), oldest first.
    public var deleted: [Int]?
    /// Directories whose rows were deleted but which could not be removed.
    public var deleteErrors: [String]?

    public init(decision: Outcome) { self.decision = decision }

    /// The published version served after this round: the one it published, else the one it found.
    public var servedVersion: Int? { decision == .published ? version : servingVersion }

    /// The decision as one line of JSON, keys sorted.
    public func jsonLine() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}

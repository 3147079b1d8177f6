import Foundation

/// A recommendation flow as a configuration file describes it (`reckit serve --config FILE`,
/// `reckit config check FILE`): where events are stored, which feedback counts, the candidate
/// sources, how their candidates are merged and ranked, and the rules applied after ranking.
///
/// Key names follow Gorse's `config.toml` where the concept is the same (`[database]`
/// `data_store`, `[recommend.data_source]` `positive_feedback_types`, `[recommend.replacement]`
/// `enable_replacement`, `positive_replacement_decay`, `read_replacement_decay`); sources, the
/// ranker and rules are RecKit's (`[[recommend.sources]]`, `[recommend.ranker]`,
/// `[[recommend.rules]]`). The guide's "Recommendation flow" chapter documents every key.
public struct FlowConfiguration: Sendable, Equatable {
    /// `[database] data_store`: a SQLite path or a `postgres://` URL.
    public var dataStore: String?
    /// `[server]`: nil where the file leaves it to `reckit serve`'s flags and defaults.
    public var host: String?
    public var port: Int?
    public var apiKey: String?
    /// `[server] admin_key`: the dashboard's key (`reckit serve --admin-key`).
    public var adminKey: String?
    /// `[recommend.data_source]`: feedback types that count as positive (empty: every type) and
    /// as read (touched without liking).
    public var positiveFeedbackTypes: [String] = []
    public var readFeedbackTypes: [String] = []
    /// `[recommend.replacement]`.
    public var replacement: ReplacementConfiguration?
    /// `[[recommend.sources]]`, in the file's order.
    public var sources: [SourceConfiguration] = []
    /// `[recommend.ranker]`.
    public var ranker = RankerConfiguration()
    /// `[[recommend.rules]]`, applied in the file's order after ranking.
    public var rules: [RuleConfiguration] = []
    /// `[[experiments]]`, in the file's order (`FlowConfiguration+Experiments.swift`).
    public var experiments: [ExperimentConfiguration] = []
    /// `[impressions]`.
    public var impressions = ImpressionSettings()

    public init() {}
}

/// Seen items may come back with their scores decayed (Gorse's `[recommend.replacement]`).
public struct ReplacementConfiguration: Sendable, Equatable {
    public var positiveDecay = 0.8
    public var readDecay = 0.6

    public init() {}
}

/// One candidate source: its name, what it proposes and how many candidates it gives.
public struct SourceConfiguration: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// A trained model directory (`path`).
        case model
        /// Neighbours of the user's newest `recent` items, under a model source (`model`) or by
        /// shared categories or labels (`by`).
        case itemToItem = "item_to_item"
        /// Items of the users most like this one (`model`, or co-interactions without one).
        case userToUser = "user_to_user"
        /// Most popular items over `window` (all time without it), per category with `category`.
        case popular
        /// Newest items.
        case latest
        /// What the user bought before (`half_life` in baskets).
        case repeatPurchase = "repeat"
        /// An HTTP endpoint returning item ids (`url`, `timeout`).
        case external
    }

    public var name: String
    public var kind: Kind
    /// Candidates this source proposes per request (`candidates`, default 100).
    public var candidates = 100
    /// `model`: the model directory, relative to the configuration file.
    public var path: String?
    /// `item_to_item`, `user_to_user`: the name of a `model` source whose embeddings to use.
    public var model: String?
    /// `item_to_item` without `model`: `categories` or `labels`.
    public var by: String?
    /// `item_to_item`: how many of the user's newest items to start from (default 5).
    public var recent = 5
    /// `popular`: the window in seconds (`"7d"`, `"24h"`, `"30m"` in the file); nil: all time.
    public var window: Double?
    /// `popular`: rank within the request's category.
    public var perCategory = false
    /// `repeat`: the half-life in baskets.
    public var halfLife = 4.0
    /// `external`: the URL (`{user}` is replaced by the user id) and the deadline in seconds.
    public var url: String?
    public var timeout = 0.2

    public init(name: String, kind: Kind) {
        self.name = name
        self.kind = kind
    }
}

/// How the merged candidates are ordered (`[recommend.ranker]`).
public struct RankerConfiguration: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// No learned ranker: `merge` decides the order.
        case none
        /// A trained ranking model (`path`) scores every candidate with features.
        case model
    }

    public enum Merge: String, Sendable, CaseIterable {
        /// Σ over sources of weight × the candidate's score normalised to [0, 1] within its source.
        case fusion
        /// Sources take turns in the file's order, each at most its quota of the list.
        case roundRobin = "round_robin"
    }

    public var kind: Kind = .none
    public var merge: Merge = .fusion
    /// `weights`: per source name (default 1).
    public var weights: [String: Double] = [:]
    /// `quotas`: per source name, the most items it may place (round robin).
    public var quotas: [String: Int] = [:]
    /// `model`: the ranking model directory, relative to the configuration file.
    public var path: String?

    public init() {}
}

/// One rule applied after ranking (`[[recommend.rules]]`).
public struct RuleConfiguration: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// Keep only items of `categories`.
        case categoryFilter = "category_filter"
        /// At most `max` items of any one category.
        case categoryCap = "category_cap"
        /// Maximal marginal relevance over item embeddings of `model`, trading relevance for
        /// diversity by `lambda` (1: relevance only).
        case mmr
        /// Items younger than `age` (seconds; `"7d"` in the file) get their score multiplied by
        /// `boost`.
        case freshness
        /// Items whose labels hold `label` are not shown.
        case hideLabel = "hide_label"
    }

    public var kind: Kind
    public var categories: [String] = []
    public var maximum = 3
    public var model: String?
    public var lambda = 0.7
    public var age = 7 * 86_400.0
    public var boost = 1.2
    public var label: String?

    public init(kind: Kind) { self.kind = kind }
}

/// A problem with a configuration file: where (line, when known, and the key's path) and why.
public struct ConfigurationError: Error, Equatable, CustomStringConvertible {
    public var line: Int?
    /// The key's path in the file (`recommend.sources[2].candidates`).
    public var key: String
    public var reason: String

    public init(line: Int?, key: String, reason: String) {
        self.line = line
        self.key = key
        self.reason = reason
    }

    public var description: String { "line \(line.map(String.init) ?? "?"): \(key): \(reason)" }
}

/// Every problem of a configuration file, in line order.
public struct ConfigurationErrors: Error, Equatable, CustomStringConvertible {
    public var file: String
    public var errors: [ConfigurationError]

    public var description: String { errors.map { "\(file):\($0)" }.joined(separator: "\n") }
}

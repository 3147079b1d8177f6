import Foundation
import RecData
import RecEval
import RecModels
import RecStore

/// What a round of the continuous trainer trains, how it compares, and what it keeps.
public struct TrainerOptions: Sendable {
    public var kind: ModelKind
    public var parameters: [String: String]
    public var control: TrainingControl
    /// The servers' shared models folder: candidates are saved here.
    public var modelsDirectory: URL
    /// The newest fraction of the events held out by time for the comparison (default 0.1).
    public var holdout: Double
    /// Publish when the candidate's NDCG@10 is at least `(1 - tolerance)` × the served model's
    /// (default 0.01).
    public var tolerance: Double
    /// Feedback types to train on; all when empty.
    public var feedbackTypes: [String]
    /// Continue from the served model's weights for this many iterations instead of from scratch.
    public var warmStart: Int?
    /// Which old published models each round deletes; `nil` deletes none.
    public var retention: ModelRetention?

    public init(
        kind: ModelKind, parameters: [String: String] = [:], control: TrainingControl = TrainingControl(),
        modelsDirectory: URL, holdout: Double = 0.1, tolerance: Double = 0.01, feedbackTypes: [String] = [],
        warmStart: Int? = nil, retention: ModelRetention? = nil
    ) {
        self.kind = kind
        self.parameters = parameters
        self.control = control
        self.modelsDirectory = modelsDirectory
        self.holdout = holdout
        self.tolerance = tolerance
        self.feedbackTypes = feedbackTypes
        self.warmStart = warmStart
        self.retention = retention
    }
}

/// The store's newest published model, as the trainer compares against it.
public struct ServedModel: Sendable {
    public var published: PublishedModel
    /// The model, or `nil` when its directory could not be loaded (``loadError``).
    public var bundle: ModelBundle?
    public var loadError: String?

    /// Loads `published`'s directory under `modelsDirectory`; a failure is kept, not thrown (the
    /// candidate is then published without a comparison).
    public static func load(_ published: PublishedModel, from modelsDirectory: URL) -> ServedModel {
        do {
            let directory = modelsDirectory.appendingPathComponent(published.name, isDirectory: true)
            return ServedModel(published: published, bundle: try ModelBundle.load(from: directory), loadError: nil)
        } catch {
            return ServedModel(published: published, bundle: nil, loadError: "\(error)")
        }
    }
}

/// One round of `reckit trainer`: retrain from the store, compare with the served model on the
/// newest events, publish if not worse, and delete old published models (``ModelRetention``).
public struct Trainer: Sendable {
    public var options: TrainerOptions

    public init(options: TrainerOptions) { self.options = options }

    /// Runs one round, reading the events from `source` (the store itself or its read replica)
    /// and publishing to `store`.
    ///
    /// The round is skipped, without reading the events, when `source`'s change mark and the
    /// served version are those that `previous` ended with: the same data would train the same
    /// candidate, and publishing it again would only fill the disk.
    ///
    /// - Parameters:
    ///   - served: The store's newest published model, if any.
    ///   - previous: The last round's decision, if there was one and it did not fail.
    /// - Throws: What the store, training or saving throws.
    public func round(
        store: any EventStore, source: any EventStore, served: ServedModel?, after previous: TrainerDecision?
    ) async throws -> TrainerDecision {
        var decision = TrainerDecision(decision: .skipped)
        decision.time = StoreTimestamp.text(unixSeconds: Date().timeIntervalSince1970)
        decision.servingVersion = served?.published.version
        let mark = try await source.changeMark()
        decision.store = mark
        if let previous, previous.store == mark, previous.servedVersion == served?.published.version {
            decision.reason =
                "the store has not changed since the last round (the same change mark) and the same version is served"
        } else {
            try await train(&decision, store: store, source: source, served: served)
        }
        if let retention = options.retention {
            let outcome = try await retention.prune(store)
            if !outcome.deleted.isEmpty { decision.deleted = outcome.deleted }
            if !outcome.errors.isEmpty { decision.deleteErrors = outcome.errors }
        }
        return decision
    }

    /// Trains, compares and, if the gate accepts, publishes; fills in `decision`.
    func train(
        _ decision: inout TrainerDecision, store: any EventStore, source: any EventStore, served: ServedModel?
    ) async throws {
        let dataset = try await Dataset.fromStore(source, types: options.feedbackTypes)
        let log = dataset.interactions
        guard log.count >= 2 else {
            decision.reason = "fewer than 2 events"
            return
        }
        let (train, cases) = QualityGate.holdout(log, fraction: options.holdout)
        let kind = options.kind
        decision.events = log.count
        decision.heldOut = log.count - train.count
        decision.users = cases.count
        decision.kind = kind.rawValue
        decision.tolerance = options.tolerance
        if let error = served?.loadError { decision.serving = .init(error: error) }
        let serving = served?.bundle
        let warm = options.warmStart.flatMap { iterations in
            serving.flatMap { type(of: $0.model).kind == kind ? $0.warmStart(iterations: iterations) : nil }
        }
        decision.warmStart = warm != nil
        let candidate = try ModelBundle.train(
            kind, parameters: options.parameters, dataset: dataset, events: train, control: options.control,
            warmStart: warm
        ) { seconds in
            TrainingRecord(
                dataset: "store", interactions: train.count, users: log.userCount, items: log.itemCount,
                seconds: seconds)
        }
        let candidateScore = try QualityGate.score(candidate, cases: cases)
        decision.trainSeconds = candidate.record.seconds
        decision.candidate = .init(ndcg: candidateScore.ndcg, recall: candidateScore.recall)
        if let serving {
            let servingScore = try QualityGate.score(serving, cases: cases)
            decision.serving = .init(ndcg: servingScore.ndcg, recall: servingScore.recall)
            guard QualityGate.accepts(candidate: candidateScore, serving: servingScore, tolerance: options.tolerance)
            else {
                decision.decision = .refused
                return
            }
        }
        let stamp = StoreTimestamp.text(unixSeconds: Date().timeIntervalSince1970).filter { $0.isNumber }
        let name = "\(kind.rawValue)-\(stamp)-\(UUID().uuidString.prefix(8).lowercased())"
        try candidate.save(to: options.modelsDirectory.appendingPathComponent(name, isDirectory: true))
        decision.decision = .published
        let report = try decision.jsonLine()
        decision.version = try await store.publishModel(name: name, kind: kind.rawValue, report: report)
        decision.name = name
    }
}

/// The trainer's loop state: the served model (loaded again only when the store publishes a
/// new version) and the last round's decision, for ``Trainer/round(store:source:served:after:)``'s
/// skip.
public struct TrainerLoop: Sendable {
    public var trainer: Trainer
    /// The last round's decision; `nil` before the first and after a failed one.
    public private(set) var last: TrainerDecision?
    private var served: ServedModel?

    public init(trainer: Trainer) { self.trainer = trainer }

    /// Runs the next round. A round that throws leaves no decision behind, so the next one
    /// trains (unless the store says otherwise).
    public mutating func next(store: any EventStore, source: any EventStore) async throws -> TrainerDecision {
        let previous = last
        last = nil
        let published = try await store.latestPublishedModel()
        if let published, published != served?.published {
            served = ServedModel.load(published, from: trainer.options.modelsDirectory)
        } else if published == nil {
            served = nil
        }
        let decision = try await trainer.round(store: store, source: source, served: served, after: previous)
        last = decision
        return decision
    }
}

import Foundation
import RecData
import Tensors

/// The version of RecKit that wrote a model or a report.
public enum RecKitVersion {
    public static let string = "0.1.0"
}

/// How and on what a model was trained; saved in `model.json` and printed on model cards.
public struct TrainingRecord: Sendable, Equatable, Codable {
    public var dataset: String
    public var splitProtocol: String?
    public var seed: UInt64?
    public var preprocessing: Preprocessing?
    public var interactions: Int
    public var users: Int
    public var items: Int
    /// Wall time of `fit`, seconds.
    public var seconds: Double
    /// ISO 8601 time the training finished.
    public var trainedAt: String
    public var reckitVersion: String

    public init(
        dataset: String, splitProtocol: String? = nil, seed: UInt64? = nil, preprocessing: Preprocessing? = nil,
        interactions: Int, users: Int, items: Int, seconds: Double, trainedAt: Date = Date()
    ) {
        self.dataset = dataset
        self.splitProtocol = splitProtocol
        self.seed = seed
        self.preprocessing = preprocessing
        self.interactions = interactions
        self.users = users
        self.items = items
        self.seconds = seconds
        self.trainedAt = ISO8601DateFormatter().string(from: trainedAt)
        self.reckitVersion = RecKitVersion.string
    }
}

/// A trained model with what it needs to speak the data's own language: the id maps, item
/// titles, every training user's history, and the training record.
///
/// On disk it is a directory: `model.json` (kind, parameters, id maps, titles, record) and
/// `weights.safetensors` (the model's tensors under `model.`, the histories under `history.`),
/// which PyTorch and NumPy read through the safetensors package.
public struct ModelBundle: Sendable {
    public var model: any Recommender
    public var userIDs: IDMap
    public var itemIDs: IDMap
    /// A readable title per item index.
    public var itemTitles: [String]
    /// Each training user's items, oldest first.
    public var histories: [[Int32]]
    public var record: TrainingRecord
    /// Evaluation results to show on the model card, if any.
    public var metrics: [String: Double]
    /// The training curve of a neural model (empty for the others).
    public var epochs: [EpochRecord] = []

    public init(
        model: any Recommender, userIDs: IDMap, itemIDs: IDMap, itemTitles: [String], histories: [[Int32]],
        record: TrainingRecord, metrics: [String: Double] = [:]
    ) {
        self.model = model
        self.userIDs = userIDs
        self.itemIDs = itemIDs
        self.itemTitles = itemTitles
        self.histories = histories
        self.record = record
        self.metrics = metrics
    }

    /// Trains `kind` on `events` of `dataset` (all events if `nil`), from `warmStart`'s weights
    /// when the kind supports it (``ModelKind/warmStarts``).
    public static func train(
        _ kind: ModelKind, parameters: [String: String] = [:], dataset: Dataset, events: [Int]? = nil,
        validation: [ValidationCase] = [], control: TrainingControl = TrainingControl(), warmStart: WarmStart? = nil,
        record: (Double) -> TrainingRecord, progress: ProgressHandler? = nil
    ) throws -> ModelBundle {
        let log = events.map { dataset.interactions.subset($0) } ?? dataset.interactions
        var data = TrainingData(log: log, itemFeatures: dataset.itemFeatures, userFeatures: dataset.userFeatures)
        data.validation = validation
        data.control = control
        data.warmStart = warmStart
        var model = try kind.make(parameters: parameters)
        let clock = ContinuousClock()
        let elapsed = try clock.measure { try model.fit(data, progress: progress) }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        let histories = log.chronologicalEventsByUser().map { $0.map { log.items[$0] } }
        let titles = (0..<log.itemCount).map { dataset.title(ofItem: Int32($0)) }
        var bundle = ModelBundle(
            model: model, userIDs: log.userIDs, itemIDs: log.itemIDs, itemTitles: titles, histories: histories,
            record: record(seconds))
        bundle.epochs = model.epochs
        return bundle
    }

    /// The scoring context of a known user (their training history), or `nil` if unknown.
    public func context(forUser id: UserID) -> ScoringContext? {
        guard let user = userIDs.index(of: id.rawValue) else { return nil }
        return ScoringContext(user: user, history: histories[Int(user)])
    }

    /// The context of a served history (external item ids, oldest first, with their basket
    /// numbers): the items the model knows, with their baskets; `nil` when it knows none. No user
    /// index: the history is folded in as it is now.
    public func context(history items: [String], baskets basketNumbers: [Int32]) -> ScoringContext? {
        var history: [Int32] = []
        var baskets: [Int32] = []
        for (item, basket) in zip(items, basketNumbers) {
            guard let index = itemIndex(ItemID(item)) else { continue }
            history.append(index)
            baskets.append(basket)
        }
        return history.isEmpty ? nil : ScoringContext(history: history, baskets: baskets)
    }

    /// The index of an item, or `nil` if the model does not know it.
    public func itemIndex(_ id: ItemID) -> Int32? { itemIDs.index(of: id.rawValue) }

    // MARK: Saving and loading

    struct Manifest: Codable {
        var format = "reckit-model"
        var version = 1
        var kind: String
        var parameters: [String: String]
        var users: IDMap
        var items: IDMap
        var titles: [String]
        var training: TrainingRecord
        var metrics: [String: Double]
        var epochs: [EpochRecord]?
    }

    /// Writes `model.json` and `weights.safetensors` into `directory`, creating it.
    public func save(to directory: URL) throws {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw CheckpointError.io(path: directory.path, reason: "cannot create: \(error.localizedDescription)")
        }
        var tensors: [String: SafeTensor] = [:]
        for (key, value) in try model.weights() { tensors["model." + key] = value }
        var offsets: [Int64] = [0]
        var items: [Int32] = []
        for history in histories {
            items += history
            offsets.append(Int64(items.count))
        }
        tensors["history.indptr"] = SafeTensor(offsets)
        tensors["history.indices"] = SafeTensor(items)
        let kind = type(of: model).kind
        try SafeTensors.write(
            tensors, metadata: ["format": "reckit-model", "kind": kind.rawValue],
            to: directory.appendingPathComponent("weights.safetensors"))
        let manifest = Manifest(
            kind: kind.rawValue, parameters: model.parameters, users: userIDs, items: itemIDs, titles: itemTitles,
            training: record, metrics: metrics, epochs: epochs.isEmpty ? nil : epochs)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            try encoder.encode(manifest).write(to: directory.appendingPathComponent("model.json"), options: .atomic)
        } catch {
            throw CheckpointError.io(
                path: directory.path, reason: "cannot write model.json: \(error.localizedDescription)")
        }
    }

    /// Reads a model directory written by ``save(to:)``.
    ///
    /// - Throws: ``ModelError/invalidModelDirectory(path:reason:)`` naming what is missing or
    ///   inconsistent (a corrupt or truncated checkpoint, weights of the wrong shape, an unknown
    ///   kind), so a caller has one error to handle.
    public static func load(from directory: URL) throws -> ModelBundle {
        do {
            return try read(from: directory)
        } catch let error as ModelError {
            if case .invalidModelDirectory = error { throw error }
            throw ModelError.invalidModelDirectory(path: directory.path, reason: error.description)
        } catch {
            throw ModelError.invalidModelDirectory(path: directory.path, reason: "\(error)")
        }
    }

    private static func read(from directory: URL) throws -> ModelBundle {
        let path = directory.path
        let manifestData: Data
        do { manifestData = try Data(contentsOf: directory.appendingPathComponent("model.json")) } catch {
            throw ModelError.invalidModelDirectory(path: path, reason: "no readable model.json")
        }
        let manifest: Manifest
        do { manifest = try JSONDecoder().decode(Manifest.self, from: manifestData) } catch {
            throw ModelError.invalidModelDirectory(path: path, reason: "model.json is malformed: \(error)")
        }
        guard manifest.format == "reckit-model", manifest.version == 1 else {
            throw ModelError.invalidModelDirectory(path: path, reason: "format \(manifest.format) v\(manifest.version)")
        }
        let kind = try ModelKind(named: manifest.kind)
        var model = try kind.make(parameters: manifest.parameters)
        let (tensors, _) = try SafeTensors.read(from: directory.appendingPathComponent("weights.safetensors"))
        var modelTensors: [String: SafeTensor] = [:]
        for (key, value) in tensors where key.hasPrefix("model.") { modelTensors[String(key.dropFirst(6))] = value }
        try model.load(weights: modelTensors)
        guard model.itemCount == manifest.items.count else {
            throw ModelError.invalidModelDirectory(
                path: path, reason: "weights score \(model.itemCount) items, model.json lists \(manifest.items.count)")
        }
        guard let offsetsTensor = tensors["history.indptr"], let itemsTensor = tensors["history.indices"] else {
            throw CheckpointError.missingKeys(["history.indptr", "history.indices"].filter { tensors[$0] == nil })
        }
        let offsets = try offsetsTensor.int64s(key: "history.indptr").map(Int.init)
        let items = try itemsTensor.int32s(key: "history.indices")
        guard offsets.count == manifest.users.count + 1, offsets.first == 0, offsets.last == items.count,
            zip(offsets, offsets.dropFirst()).allSatisfy({ $0 <= $1 }),
            items.allSatisfy({ $0 >= 0 && Int($0) < manifest.items.count })
        else { throw ModelError.invalidModelDirectory(path: path, reason: "history arrays are inconsistent") }
        let histories = (0..<manifest.users.count).map { Array(items[offsets[$0]..<offsets[$0 + 1]]) }
        var bundle = ModelBundle(
            model: model, userIDs: manifest.users, itemIDs: manifest.items,
            itemTitles: manifest.titles.count == manifest.items.count ? manifest.titles : manifest.items.externalIDs,
            histories: histories, record: manifest.training, metrics: manifest.metrics)
        bundle.epochs = manifest.epochs ?? []
        return bundle
    }
}

extension ModelBundle {
    /// This model's weights as a warm start for `iterations` more, when its kind supports one
    /// (``ModelKind/warmStarts``); nil otherwise.
    public func warmStart(iterations: Int) -> WarmStart? {
        guard type(of: model).kind.warmStarts, let weights = try? model.weights() else { return nil }
        return WarmStart(userIDs: userIDs, itemIDs: itemIDs, weights: weights, iterations: iterations)
    }
}

import Foundation
import NeuralNet
import RecData
import Tensors

/// What a server knows when it asks a ranker to order candidates for one user.
public struct RankingRequest: Sendable, Equatable {
    /// The user's external id; one the model never saw scores as an unknown user.
    public var user: String
    /// The user's features; `nil` looks them up in the ranker's saved table (missing values for
    /// a user it does not hold).
    public var userFeatures: CTRUserFeatures?
    /// Candidate items, external ids; an item absent from the saved table has missing features.
    public var candidates: [String]
    /// UTC hour of the request, 0...23.
    public var hour: Int
    /// UTC weekday of the request, 0 = Monday ... 6 = Sunday.
    public var weekday: Int
    /// The user's earlier items, oldest first; the newest 50 count (DIN attends over them, the
    /// other models average them).
    public var sequence: [String]

    public init(
        user: String, userFeatures: CTRUserFeatures? = nil, candidates: [String], hour: Int, weekday: Int,
        sequence: [String] = []
    ) {
        (self.user, self.userFeatures, self.candidates) = (user, userFeatures, candidates)
        (self.hour, self.weekday, self.sequence) = (hour, weekday, sequence)
    }

    /// A request at Unix time `time` (seconds), its hour and weekday taken in UTC.
    public init(
        user: String, userFeatures: CTRUserFeatures? = nil, candidates: [String], time: Double, sequence: [String] = []
    ) {
        self.init(
            user: user, userFeatures: userFeatures, candidates: candidates, hour: CTRDataset.hour(ofTime: time),
            weekday: CTRDataset.weekday(ofTime: time), sequence: sequence)
    }
}

/// The second stage of a recommendation flow: scores a few hundred candidates for one user.
///
/// A flow retrieves candidates (a retrieval model's top 200, say), then calls
/// `score(_:)` once per request and orders the candidates by the returned scores, highest
/// first. Scores are click probabilities in `(0, 1)`, one per candidate in request order; equal
/// inputs give equal scores, and a request scored alone gives what it gives inside any batch.
/// Features are looked up in the tables the ranker saved with its weights (user features by
/// user id unless the request carries them, item features by item id), so a server needs only
/// ids, the request's time and the user's recent items.
public protocol CandidateRanker: Sendable {
    /// One score per candidate of `request`, in its order.
    ///
    /// - Throws: ``ModelError/unsuitableData(_:)`` for an hour outside 0...23 or a weekday
    ///   outside 0...6.
    func score(_ request: RankingRequest) throws -> [Float]
}

/// How ``CTRRanker/score(_:path:)`` computes: the tape-free inference path or the training graph.
public enum CTRScoringPath: String, Sendable, CaseIterable {
    /// Plain arrays read from the trained parameters, no tape: FM and LR pool the fields a request
    /// shares once and add each candidate's item-side fields; DeepFM, DCN-V2 and DIN run one
    /// batched forward over every candidate (`CTRInference+Networks.swift`). What serving uses.
    case fast
    /// The autodiff graph of training (`predict(_:)`) on the encoded
    /// candidates: the reference the fast path is tested and benchmarked against.
    case graph
}

extension CTRRanker: CandidateRanker {
    /// One click probability per candidate of `request`, in its order, by the fast path.
    public func score(_ request: RankingRequest) throws -> [Float] { try score(request, path: .fast) }

    /// One click probability per candidate of `request`, in its order, by `path`; both paths
    /// agree to float rounding (within 1e-5 relative).
    ///
    /// - Throws: ``ModelError/unsuitableData(_:)`` for an hour outside 0...23 or a weekday
    ///   outside 0...6.
    public func score(_ request: RankingRequest, path: CTRScoringPath) throws -> [Float] {
        guard (0...23).contains(request.hour), (0...6).contains(request.weekday) else {
            throw ModelError.unsuitableData(
                "a ranking request needs an hour in 0...23 and a weekday in 0...6, got \(request.hour) and \(request.weekday)"
            )
        }
        guard !request.candidates.isEmpty else { return [] }
        switch path {
        case .fast:
            let weights = try CTRInferenceWeights(kind: kind, parameters: network.namedParameters)
            return CTRInference.probabilities(
                CTRRequestRows(request, space: space, users: users, items: items, cache: itemRows), weights)
        case .graph:
            return predict(graphBatch(request))
        }
    }

    /// The request's candidates encoded as training encodes examples.
    func graphBatch(_ request: RankingRequest) -> CTRBatch {
        let user = request.userFeatures ?? users[request.user] ?? .missing
        let examples = request.candidates.map { item in
            CTRExample(
                user: request.user, userFeatures: user, item: item, itemFeatures: items[item] ?? .missing,
                hour: request.hour, weekday: request.weekday, history: [])
        }
        // The sequence is the same for every candidate: encode it once and copy its row.
        var batch = space.encode(examples)
        var first = examples[0]
        first.history = request.sequence
        let sequence = space.encode([first]).bags[2]
        batch.bags[2] = Array([[Int32]](repeating: sequence, count: examples.count).joined())
        return batch
    }
}

/// What `ranker.json` holds.
struct CTRRankerFile: Codable {
    var format = "reckit-ctr-ranker"
    var version = 1
    var kind: CTRModelKind
    var settings: CTRHyperParameters
    var space: CTRFeatureSpace
    var users: [String: CTRUserFeatures]
    var items: [String: CTRItemFeatures]
    var epochs: [CTREpoch]
}

extension CTRRanker {
    /// Writes `ranker.json` and `weights.safetensors` into `directory` (created if needed).
    public func save(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = CTRRankerFile(
            kind: kind, settings: settings, space: space, users: users, items: items, epochs: epochs)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try encoder.encode(file).write(to: directory.appendingPathComponent("ranker.json"), options: .atomic)
        try StateDict.save(
            network, to: directory.appendingPathComponent("weights.safetensors"), metadata: ["kind": kind.rawValue])
    }

    /// Reads a ranker written by ``save(to:)``.
    ///
    /// - Throws: ``ModelError/invalidModelDirectory(path:reason:)`` for a folder that holds no
    ///   ranker; `CheckpointError` for weights that do not fit its settings.
    public static func load(from directory: URL) throws -> CTRRanker {
        let json = directory.appendingPathComponent("ranker.json")
        guard let data = try? Data(contentsOf: json) else {
            throw ModelError.invalidModelDirectory(path: directory.path, reason: "no readable ranker.json")
        }
        let file: CTRRankerFile
        do {
            file = try JSONDecoder().decode(CTRRankerFile.self, from: data)
        } catch {
            throw ModelError.invalidModelDirectory(path: directory.path, reason: "ranker.json: \(error)")
        }
        guard file.format == "reckit-ctr-ranker", file.version == 1 else {
            throw ModelError.invalidModelDirectory(
                path: directory.path, reason: "ranker.json is \(file.format) version \(file.version)")
        }
        var ranker = CTRRanker(
            kind: file.kind, settings: file.settings, space: file.space, users: file.users, items: file.items)
        ranker.epochs = file.epochs
        try StateDict.load(from: directory.appendingPathComponent("weights.safetensors"), into: ranker.network)
        return ranker
    }
}

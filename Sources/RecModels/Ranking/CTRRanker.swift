import Foundation
import NeuralNet
import RecData
import Tensors

/// The click-through models, by the name `--model` takes with `--protocol ctr`.
public enum CTRModelKind: String, Sendable, Codable, CaseIterable {
    /// Factorization machine (Rendle 2010).
    case fm
    /// DeepFM (Guo et al. 2017).
    case deepfm
    /// DCN-V2, stacked, full-rank cross matrices (Wang et al. 2021).
    case dcnv2
    /// Deep Interest Network (Zhou et al. 2018).
    case din
    /// Logistic regression over the same fields: FM without its pairwise term, a baseline.
    case lr
}

/// A network behind one type, whatever its kind: its parameters and its logits.
struct AnyCTRNetwork: Layer {
    typealias Scalar = Float
    let namedParameters: [(name: String, parameter: Parameter<Float>)]
    private let forward: @Sendable (FieldIndices, Tape<Float>) -> Variable<Float>

    init<Network: CTRNetwork>(_ network: Network) where Network.Scalar == Float {
        namedParameters = network.namedParameters
        forward = { network.logits($0, on: $1) }
    }

    /// The network of `kind` for a table of `rows` rows.
    init(kind: CTRModelKind, rows: Int, settings s: CTRHyperParameters) {
        var generator = SplitMix64(seed: s.seed)
        // Fields after pooling: the single ones, genres, title words and the behaviour sequence.
        let fieldCount = CTRField.single.count + CTRField.multi.count + 1
        let item = CTRField.single.firstIndex(of: .item) ?? 1
        switch kind {
        case .fm, .lr:
            self.init(
                FactorizationMachine<Float>(
                    rows: rows, dimension: s.dimension, pairwise: kind == .fm, using: &generator))
        case .deepfm:
            self.init(
                DeepFM<Float>(
                    rows: rows, dimension: s.dimension, fieldCount: fieldCount, hidden: s.hidden, using: &generator))
        case .dcnv2:
            self.init(
                DCNV2<Float>(
                    rows: rows, dimension: s.dimension, fieldCount: fieldCount, crossLayers: s.crossLayers,
                    hidden: s.hidden, using: &generator))
        case .din:
            self.init(
                DeepInterestNetwork<Float>(
                    rows: rows, dimension: s.dimension, fieldCount: fieldCount, itemField: item,
                    attentionHidden: s.attentionHidden, hidden: s.hidden, using: &generator))
        }
    }
}

extension AnyCTRNetwork: CTRNetwork {
    func logits(_ x: FieldIndices, on tape: Tape<Float>) -> Variable<Float> { forward(x, tape) }
}

/// A fitted click-through model with the feature tables it was trained with: the `ctr`
/// protocol's `fm`, `deepfm`, `dcnv2`, `din` (and the `lr` baseline).
///
/// On disk, a folder with `ranker.json` (kind, parameters, vocabularies, the raw features of
/// every user and item of the data, the training curve) and `weights.safetensors` (torch-style
/// keys such as `fields.embedding.weight`).
public struct CTRRanker: Sendable {
    public let kind: CTRModelKind
    public let settings: CTRHyperParameters
    /// The vocabularies, built from the training events.
    public let space: CTRFeatureSpace
    /// Raw features by external user id, every user of the data set.
    public let users: [String: CTRUserFeatures]
    /// Raw features by external item id, every item of the data set.
    public let items: [String: CTRItemFeatures]
    /// Every item's rows in the table, for scoring without looking its features up by name.
    let itemRows: [String: CTRItemRows]
    /// The training curve; empty for a ranker built but not trained.
    public internal(set) var epochs: [CTREpoch] = []
    let network: AnyCTRNetwork

    /// An untrained ranker over `space` (weights drawn from `settings.seed`).
    public init(
        kind: CTRModelKind, settings: CTRHyperParameters, space: CTRFeatureSpace,
        users: [String: CTRUserFeatures], items: [String: CTRItemFeatures]
    ) {
        (self.kind, self.settings, self.space, self.users, self.items) = (kind, settings, space, users, items)
        itemRows = CTRItemRows.table(items, space: space)
        network = AnyCTRNetwork(kind: kind, rows: space.rowCount, settings: settings)
    }

    /// Fits a ranker on `split.train`, stopping early on the AUC of `split.validation`.
    ///
    /// - Parameters:
    ///   - parameters: `--param` values (``CTRHyperParameters``).
    ///   - encoded: Changes the encoded training and validation examples (feature selection
    ///     blanks the fields it leaves out).
    ///   - progress: Called after every epoch.
    /// - Throws: ``ModelError`` for a bad parameter or a diverging loss.
    public static func fit(
        kind: CTRModelKind, parameters: [String: String] = [:], dataset: CTRDataset, split: CTRSplit,
        encoded: (CTRBatch) -> CTRBatch = { $0 }, progress: ((CTREpoch) -> Void)? = nil
    ) throws -> CTRRanker {
        guard !split.train.isEmpty, !split.validation.isEmpty else {
            throw ModelError.unsuitableData("the ctr split needs training and validation events")
        }
        let settings = try CTRHyperParameters(kind: kind, parameters)
        let space = CTRFeatureSpace(training: split.train, of: dataset)
        var users: [String: CTRUserFeatures] = [:]
        for (index, id) in dataset.log.userIDs.externalIDs.enumerated() { users[id] = dataset.userFeatures[index] }
        var items: [String: CTRItemFeatures] = [:]
        for (index, id) in dataset.log.itemIDs.externalIDs.enumerated() { items[id] = dataset.itemFeatures[index] }
        var ranker = CTRRanker(kind: kind, settings: settings, space: space, users: users, items: items)
        ranker.epochs = try CTRTrainer.train(
            ranker.network, train: encoded(dataset.batch(split.train, in: space)),
            validation: encoded(dataset.batch(split.validation, in: space)), settings: settings, progress: progress)
        return ranker
    }

    /// Click probabilities of encoded examples.
    public func predict(_ batch: CTRBatch) -> [Float] { CTRTrainer.predict(network, batch) }

    /// Click probabilities of raw examples.
    public func predict(_ examples: [CTRExample]) -> [Float] { predict(space.encode(examples)) }
}

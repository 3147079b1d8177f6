/// Every model RecKit can train, by the name `--model` takes.
public enum ModelKind: String, Sendable, Codable, CaseIterable {
    case popularity = "pop"
    case random
    case itemKNN = "itemknn"
    case userKNN = "userknn"
    case ease
    case als
    case bpr
    case content
    case hybrid
    case caser
    case gru4rec
    case lstm
    case sasrec
    case neumf
    case genrePopularity = "genrepop"
    case textCNN = "textcnn"
    case repeatPurchase = "repeat"
    case tifuKNN = "tifuknn"
    case repeatNet = "repeatnet"

    /// Whether the model reads the history's baskets (``ScoringContext/baskets``): serving reads
    /// feedback times for these models only.
    public var readsBaskets: Bool { [.repeatPurchase, .tifuKNN, .repeatNet].contains(self) }

    /// Whether the kind is a neural model trained in epochs with validation-based early stopping.
    public var isNeural: Bool {
        switch self {
        case .caser, .gru4rec, .lstm, .sasrec, .neumf, .repeatNet: return true
        default: return false
        }
    }

    /// Whether training can continue from a previous model of the kind (``WarmStart``).
    public var warmStarts: Bool {
        switch self {
        case .als, .bpr, .hybrid, .caser, .gru4rec, .lstm, .sasrec: return true
        default: return false
        }
    }

    /// The Swift type that implements the kind.
    public var type: any Recommender.Type {
        switch self {
        case .popularity: return Popularity.self
        case .random: return RandomRecommender.self
        case .itemKNN: return ItemKNN.self
        case .userKNN: return UserKNN.self
        case .ease: return EASE.self
        case .als: return ALS.self
        case .bpr: return BPR.self
        case .content: return ContentKNN.self
        case .hybrid: return Hybrid.self
        case .caser: return Caser.self
        case .gru4rec: return GRU4Rec.self
        case .lstm: return LSTMRec.self
        case .sasrec: return SASRec.self
        case .neumf: return NeuMF.self
        case .genrePopularity: return GenrePopularity.self
        case .textCNN: return TextCNN.self
        case .repeatPurchase: return RepeatPurchase.self
        case .tifuKNN: return TIFUKNN.self
        case .repeatNet: return RepeatNet.self
        }
    }

    /// A new, unfitted model of this kind with `parameters`.
    public func make(parameters: [String: String] = [:]) throws -> any Recommender {
        try type.init(parameters: parameters)
    }

    /// The kind named `name` (also accepts `popularity`).
    public init(named name: String) throws {
        let lowered = name.lowercased()
        if lowered == "popularity" {
            self = .popularity
            return
        }
        guard let kind = ModelKind(rawValue: lowered) else { throw ModelError.unknownKind(name) }
        self = kind
    }
}

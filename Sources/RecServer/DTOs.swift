import Hummingbird
import RecFlow
import RecModels
import RecRetrieval
import RecStore

// Gorse's wire shapes: field names and casing are part of the API.

struct UserDTO: ResponseCodable {
    var UserId: String
    var Labels: JSONValue?
    var Comment: String?

    init(_ user: StoredUser) {
        UserId = user.userID
        Labels = user.labels
        Comment = user.comment
    }

    var stored: StoredUser { StoredUser(userID: UserId, labels: Labels ?? .null, comment: Comment ?? "") }
}

struct UserPatchDTO: Decodable {
    var Labels: JSONValue?
    var Comment: String?
}

struct ItemDTO: ResponseCodable {
    var ItemId: String
    var IsHidden: Bool?
    var Categories: [String]?
    var Timestamp: String?
    var Labels: JSONValue?
    var Comment: String?

    init(_ item: StoredItem) {
        ItemId = item.itemID
        IsHidden = item.isHidden
        Categories = item.categories
        Timestamp = item.timestamp
        Labels = item.labels
        Comment = item.comment
    }

    var stored: StoredItem {
        StoredItem(
            itemID: ItemId, isHidden: IsHidden ?? false, categories: Categories ?? [], timestamp: Timestamp ?? "",
            labels: Labels ?? .null, comment: Comment ?? "")
    }
}

struct ItemPatchDTO: Decodable {
    var IsHidden: Bool?
    var Categories: [String]?
    var Timestamp: String?
    var Labels: JSONValue?
    var Comment: String?
}

struct FeedbackDTO: ResponseCodable {
    var FeedbackType: String
    var UserId: String
    var ItemId: String
    var Value: Double?
    var Timestamp: String?
    var Comment: String?

    init(_ feedback: StoredFeedback) {
        FeedbackType = feedback.feedbackType
        UserId = feedback.userID
        ItemId = feedback.itemID
        Value = feedback.value
        Timestamp = feedback.timestamp
        Comment = feedback.comment
    }

    var stored: StoredFeedback {
        StoredFeedback(
            feedbackType: FeedbackType, userID: UserId, itemID: ItemId, value: Value ?? 1, timestamp: Timestamp ?? "",
            comment: Comment ?? "")
    }
}

struct RowAffected: ResponseEncodable {
    var RowAffected: Int
}

struct UsersPage: ResponseEncodable {
    var Cursor: String
    var Users: [UserDTO]
}

struct ItemsPage: ResponseEncodable {
    var Cursor: String
    var Items: [ItemDTO]
}

struct FeedbackPage: ResponseEncodable {
    var Cursor: String
    var Feedback: [FeedbackDTO]
}

struct ScoredDTO: ResponseEncodable {
    var Id: String
    var Score: Float
    /// Under a flow: the sources that proposed the item (left out otherwise).
    var Sources: [OriginDTO]?

    init(_ scored: RecommendationService.Scored) {
        Id = scored.itemID
        Score = scored.score
        Sources = scored.origins.isEmpty ? nil : scored.origins.map(OriginDTO.init)
    }
}

/// A source that proposed an item: its name, its own score and rank (0: its best), and why.
struct OriginDTO: ResponseEncodable {
    var Name: String
    var Score: Float
    var Rank: Int
    var Reason: String

    init(_ origin: FlowItem.Origin) {
        Name = origin.source
        Score = origin.score
        Rank = origin.rank
        Reason = origin.reason.text
    }
}

struct Health: ResponseEncodable {
    var Ready: Bool
    /// Whether the store answered: readiness asks it; liveness does not, and leaves this out.
    var DataStoreConnected: Bool?
    var ModelLoaded: Bool
}

struct ReasonDTO: ResponseEncodable {
    var ItemId: String?
    var Title: String?
    var Feature: String?
    var Weight: Float
}

struct ExplainedDTO: ResponseEncodable {
    var Id: String
    var Title: String
    var Score: Float
    var Reasons: [ReasonDTO]
    /// Under a flow: the sources that proposed the item.
    var Sources: [OriginDTO]?

    init(_ scored: RecommendationService.Scored, title: String) {
        Id = scored.itemID
        Title = title
        Score = scored.score
        Reasons = []
        Sources = scored.origins.map(OriginDTO.init)
    }

    init(_ entry: ExplainedRecommendation) {
        Id = entry.itemID
        Title = entry.title
        Score = entry.score
        Reasons = entry.reasons.map {
            ReasonDTO(ItemId: $0.itemID, Title: $0.title, Feature: $0.feature, Weight: $0.weight)
        }
    }
}

struct ModelCard: ResponseEncodable {
    var Kind: String
    var Parameters: [String: String]
    var Users: Int
    var Items: Int
    var Version: Int
    /// The store's version of the model and its directory, when it was published there.
    var Published: [String: String]?
    var Training: [String: String]
    var Metrics: [String: Double]
    var Retrieval: [String: String]

    /// The card of the snapshot's model, with how it is retrieved.
    init(_ snapshot: ModelRegistry.Snapshot) {
        let (bundle, version) = (snapshot.bundle, snapshot.version)
        let record = bundle.record
        Kind = type(of: bundle.model).kind.rawValue
        Parameters = bundle.model.parameters
        Users = bundle.userIDs.count
        Items = bundle.itemIDs.count
        Version = version
        Published = snapshot.published.map {
            ["Version": String($0.version), "Name": $0.name, "PublishedAt": $0.publishedAt]
        }
        Training = [
            "dataset": record.dataset, "interactions": String(record.interactions), "seconds": String(record.seconds),
            "trainedAt": record.trainedAt, "reckitVersion": record.reckitVersion,
        ]
        Metrics = bundle.metrics
        if let index = snapshot.retriever.index {
            let settings = index.settings
            Retrieval = [
                "mode": "ann", "library": "hnswlib", "space": settings.space.rawValue, "m": String(settings.m),
                "efConstruction": String(settings.efConstruction), "ef": String(settings.ef),
                "removed": String(index.removedCount),
            ]
        } else {
            Retrieval = ["mode": "exact"]
        }
        // The index's recall measured on sampled users, and why the mode was chosen.
        if let calibration = snapshot.retriever.calibration {
            Retrieval["recall"] = String(format: "%.4f", calibration.recall)
            Retrieval["targetRecall"] = String(calibration.target)
            Retrieval["recallUsers"] = String(calibration.users)
        }
        Retrieval["decision"] = snapshot.retriever.decision
    }
}

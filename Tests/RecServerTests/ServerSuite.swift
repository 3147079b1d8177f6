import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import RecData
import RecModels
import RecRetrieval
import RecStore
import Testing
import _RecTestSupport

@testable import RecServer

/// What the in-process server suites share: HummingbirdTesting's router client against a real
/// SQLite store in a temporary folder and a model trained on the checkerboard fixture.
protocol ServerSuite {
    /// The suite's temporary folder (the store, models).
    var folder: URL { get }
}

extension ServerSuite {
    func train(_ kind: ModelKind) throws -> ModelBundle {
        let (log, _) = Fixtures.checkerboard()
        return try ModelBundle.train(kind, dataset: Dataset(name: "board", interactions: log)) {
            TrainingRecord(
                dataset: "board", interactions: log.count, users: log.userCount, items: log.itemCount, seconds: $0)
        }
    }

    /// A service over the checkerboard's events; each item's title (its comment) is "Film <id>".
    func makeService(
        _ kind: ModelKind = .itemKNN, modelsDirectory: URL? = nil, retrieval: RetrievalOptions = .init(mode: .exact)
    ) async throws -> RecommendationService {
        let (log, _) = Fixtures.checkerboard()
        let store = try SQLiteEventStore(path: folder.appendingPathComponent("events.sqlite").path)
        try await StoreImport.load(Dataset(name: "board", interactions: log), into: store, feedbackType: "like")
        try store.upsertItems(log.itemIDs.externalIDs.map { StoredItem(itemID: $0, comment: "Film \($0)") })
        return RecommendationService(
            store: store,
            registry: try ModelRegistry(bundle: try train(kind), modelsDirectory: modelsDirectory, retrieval: retrieval)
        )
    }

    func app(
        _ kind: ModelKind = .itemKNN, apiKey: String? = nil, modelsDirectory: URL? = nil
    ) async throws -> (some ApplicationProtocol, RecommendationService) {
        let service = try await makeService(kind, modelsDirectory: modelsDirectory)
        var configuration = ServerConfiguration()
        configuration.apiKey = apiKey
        return (Application(router: RecKitServer.makeRouter(service: service, configuration: configuration)), service)
    }

    func text(_ response: TestResponse) -> String {
        response.body.getString(at: response.body.readerIndex, length: response.body.readableBytes) ?? ""
    }

    func json(_ response: TestResponse) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(text(response).utf8), options: [.fragmentsAllowed])
    }
}

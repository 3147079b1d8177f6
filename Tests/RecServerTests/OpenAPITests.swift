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

struct OpenAPITests {
    /// The document in the repository lists exactly the routes the router serves.
    @Test func documentMatchesTheRoutes() async throws {
        let folder = temporaryDirectory("openapi")
        let store = try SQLiteEventStore(path: folder.appendingPathComponent("e.sqlite").path)
        let service = RecommendationService(store: store, registry: try ModelRegistry(bundle: nil))
        let router = RecKitServer.makeRouter(service: service, configuration: ServerConfiguration())
        let served = Set(
            router.routes.map { route in
                let path = route.path.description.split(separator: "/").map { part in
                    part.hasPrefix(":") ? "{\(part.dropFirst())}" : String(part)
                }
                return "\(route.method.rawValue.lowercased()) /\(path.joined(separator: "/"))"
            })
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/RecServer/openapi.json")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        let documented = Set(paths.flatMap { path, operations in operations.keys.map { "\($0) \(path)" } })
        #expect(documented.subtracting(served).sorted() == [])
        #expect(served.subtracting(documented).sorted() == [])
        let app = Application(router: router)
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/openapi.json", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.body.readableBytes > 1000)
            }
        }
    }
}

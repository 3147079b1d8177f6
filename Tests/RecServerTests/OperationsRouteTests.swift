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

/// Health, model reload and the API key.
struct OperationsRouteTests: ServerSuite {
    let folder = temporaryDirectory("server")

    @Test func healthSaysWhetherAModelIsLoaded() async throws {
        let store = try SQLiteEventStore(path: folder.appendingPathComponent("bare.sqlite").path)
        for bundle in [nil, try train(.popularity)] {
            let service = RecommendationService(store: store, registry: try ModelRegistry(bundle: bundle))
            let app = Application(
                router: RecKitServer.makeRouter(service: service, configuration: ServerConfiguration()))
            try await app.test(.router) { client in
                for probe in ["live", "ready"] {
                    try await client.execute(uri: "/api/health/\(probe)", method: .get) { response in
                        #expect(response.status == .ok)
                        let health = try #require(try json(response) as? [String: Bool])
                        #expect(health["ModelLoaded"] == (bundle != nil), "\(probe)")
                    }
                }
            }
        }
    }

    func reload(_ client: some TestClientProtocol, _ body: String) async throws -> (HTTPResponse.Status, String) {
        try await client.execute(uri: "/api/model/reload", method: .post, body: ByteBuffer(string: body)) {
            ($0.status, text($0))
        }
    }

    /// Reloads take a directory name inside the models folder; a corrupt model is a 400 with the
    /// reason and the model in use keeps serving; nothing outside the folder can be named.
    @Test func reloadLoadsOnlyNamedModelsAndKeepsServingOnACorruptOne() async throws {
        let models = temporaryDirectory("models")
        try train(.als).save(to: models.appendingPathComponent("als"))
        let corrupt = models.appendingPathComponent("corrupt")
        try train(.als).save(to: corrupt)
        let weights = corrupt.appendingPathComponent("weights.safetensors")
        try Data(try Data(contentsOf: weights).prefix(200)).write(to: weights)
        let (app, service) = try await app(modelsDirectory: models)
        try await app.test(.router) { client in
            let (status, message) = try await reload(client, #"{"Name":"corrupt"}"#)
            #expect(status == .badRequest)
            #expect(message.contains("model 'corrupt' cannot be loaded"), "\(message)")
            #expect(!message.contains(models.path))
            #expect(await service.registry.current()?.version == 1)
            try await client.execute(uri: "/api/recommend/u0-0?n=1", method: .get) { response in
                let ids = try json(response) as? [String]
                #expect(ids == ["i0-0"])
            }
            for name in ["../als", "/etc", "", ".", "..", "missing", "als/../../etc"] {
                let (status, message) = try await reload(client, #"{"Name":"\#(name)"}"#)
                #expect(status == .badRequest, "\(name)")
                #expect(!message.contains("/etc:"), "\(message)")
            }
            let (byPath, _) = try await reload(client, #"{"Path":"/etc"}"#)
            #expect(byPath == .badRequest)
            let (loaded, answer) = try await reload(client, #"{"Name":"als"}"#)
            #expect(loaded == .ok)
            let version = try JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [String: Int]
            #expect(version == ["Version": 2])
            try await client.execute(uri: "/api/model", method: .get) { response in
                let card = try json(response) as? [String: Any]
                #expect(card?["Kind"] as? String == "als")
            }
        }
        // Without a models folder every reload is refused.
        let (bare, _) = try await self.app()
        try await bare.test(.router) { client in
            let (status, message) = try await reload(client, #"{"Name":"als"}"#)
            #expect(status == .badRequest)
            #expect(message.contains("--models-dir"))
        }
    }

    @Test func apiKeyIsRequiredExceptForHealth() async throws {
        let (app, _) = try await app(apiKey: "s3cret")
        let name = HTTPField.Name("X-API-Key")!
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/recommend/u0-0", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/api/recommend/u0-0", method: .get, headers: [name: "wrong"]) {
                #expect($0.status == .unauthorized)
            }
            try await client.execute(uri: "/api/recommend/u0-0", method: .get, headers: [name: "s3cret"]) {
                #expect($0.status == .ok)
            }
            try await client.execute(uri: "/api/health/live", method: .get) { #expect($0.status == .ok) }
        }
        #expect(APIKeyMiddleware<BasicRequestContext>.constantTimeEqual(Array("abc".utf8), Array("abc".utf8)))
        #expect(!APIKeyMiddleware<BasicRequestContext>.constantTimeEqual(Array("abc".utf8), Array("abcd".utf8)))
    }
}

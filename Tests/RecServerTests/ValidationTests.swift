import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import RecStore
import Testing
import _RecStoreTestSupport
import _RecTestSupport

@testable import RecServer

/// Hostile input gets a 400 that names the field, on both backends, and stores nothing (issue 43).
struct ValidationTests {
    func app(_ backend: StoreBackend) async throws -> (some ApplicationProtocol, any EventStore) {
        let (store, _) = try await backend.makeStore()
        let service = RecommendationService(store: store, registry: try ModelRegistry(bundle: nil))
        return (Application(router: RecKitServer.makeRouter(service: service, configuration: .init())), store)
    }

    func text(_ response: TestResponse) -> String {
        response.body.getString(at: response.body.readerIndex, length: response.body.readableBytes) ?? ""
    }

    func feedback(_ timestamp: String) -> String {
        #"[{"FeedbackType":"buy","UserId":"u1","ItemId":"i1","Timestamp":"2026-01-02T15:04:05Z"},"#
            + #"{"FeedbackType":"buy","UserId":"u2","ItemId":"i2","Timestamp":"\#(timestamp)"}]"#
    }

    @Test(arguments: StoreBackend.allCases)
    func badTimestampsAreRefusedWithTheElementAndNothingIsStored(backend: StoreBackend) async throws {
        let (app, store) = try await app(backend)
        try await app.test(.router) { client in
            for method in [HTTPRequest.Method.post, .put] {
                for timestamp in ["not a time", "2026-13-45T99:00:00Z"] {
                    try await client.execute(
                        uri: "/api/feedback", method: method, body: ByteBuffer(string: feedback(timestamp))
                    ) { response in
                        #expect(response.status == .badRequest)
                        #expect(text(response).contains("[1].Timestamp"), "\(text(response))")
                    }
                }
            }
            try await client.execute(
                uri: "/api/item", method: .post, body: ByteBuffer(string: #"{"ItemId":"x","Timestamp":"tomorrow"}"#)
            ) { response in
                #expect(response.status == .badRequest)
                #expect(text(response).contains("Timestamp"))
            }
            try await client.execute(
                uri: "/api/session/recommend", method: .post, body: ByteBuffer(string: feedback("13:00"))
            ) { #expect($0.status == .badRequest) }
        }
        // Not even the users and items the good element names.
        #expect(try await store.counts() == (0, 0, 0))
        await store.close()
    }

    @Test(arguments: StoreBackend.allCases)
    func controlCharactersLengthsAndShapesGetA400NeverA503(backend: StoreBackend) async throws {
        let (app, store) = try await app(backend)
        let long = String(repeating: "x", count: 257)
        try await app.test(.router) { client in
            for uri in [
                "/api/items/search?q=%00", "/api/items/search?q=a%00b", "/api/user/%00", "/api/item/a%01b",
                "/api/user/u/feedback/%00", "/api/recommend/%00", "/api/recommend/u?category=%00",
                "/api/recommend/u/\(long)", "/api/item/%7F/neighbors", "/api/users?cursor=AA==",
            ] {
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == .badRequest, "\(uri): \(text(response))")
                }
            }
            for (uri, body) in [
                ("/api/feedback", #"[{"FeedbackType":"buy","UserId":"a\u0000b","ItemId":"i"}]"#),
                ("/api/feedback", #"[{"FeedbackType":"buy","UserId":"u","ItemId":"i","Value":1e999}]"#),
                ("/api/feedback", #"[{"FeedbackType":"buy","UserId":"u","ItemId":"i","Comment":"a\u0000"}]"#),
                ("/api/items", #"[{"ItemId":"i","Categories":["a",7]}]"#),
                ("/api/items", #"[{"ItemId":"i","Categories":["a\tb"]}]"#),
                ("/api/item", #"{"ItemId":"\#(long)"}"#),
                ("/api/user", #"{"UserId":"u\u001b[31m"}"#),
                ("/api/user", #"{"UserId":"u","Comment":"\#(String(repeating: "c", count: 70_000))"}"#),
                // Nested deeper than the decoder's limit (512): refused, not a stack overflow.
                (
                    "/api/user",
                    #"{"UserId":"u","Labels":\#(String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000))}"#
                ),
            ] {
                try await client.execute(uri: uri, method: .post, body: ByteBuffer(string: body)) { response in
                    #expect(response.status == .badRequest, "\(uri) \(body.prefix(60)): \(text(response))")
                }
            }
            try await client.execute(
                uri: "/api/item/missing", method: .patch, body: ByteBuffer(string: #"{"Timestamp":"later"}"#)
            ) { #expect($0.status == .badRequest) }
        }
        #expect(try await store.counts() == (0, 0, 0))
        await store.close()
    }

    @Test func pathIdentifiersArePercentDecoded() async throws {
        let (app, store) = try await app(.sqlite)
        try await store.upsertUsers([StoredUser(userID: "a b/ü")])
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/user/a%20b%2F%C3%BC", method: .get) { response in
                #expect(response.status == .ok)
                #expect(text(response).contains(#""UserId":"a b\/ü""#), "\(text(response))")
            }
            try await client.execute(uri: "/api/user/%E2%28", method: .get) { #expect($0.status == .badRequest) }
        }
        await store.close()
    }

    @Test func livenessDoesNotClaimTheStore() async throws {
        let (app, store) = try await app(.sqlite)
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/health/live", method: .get) { response in
                #expect(response.status == .ok)
                #expect(!text(response).contains("DataStoreConnected"))
            }
            try await client.execute(uri: "/api/health/ready", method: .get) { response in
                #expect(text(response).contains(#""DataStoreConnected":true"#))
            }
        }
        await store.close()
    }
}

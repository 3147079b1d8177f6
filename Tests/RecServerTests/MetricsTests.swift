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

struct MetricsTests {
    @Test func metricsCountRequestsIngestionAndModelVersion() async throws {
        let folder = temporaryDirectory("metrics")
        let store = try SQLiteEventStore(path: folder.appendingPathComponent("e.sqlite").path)
        let service = RecommendationService(store: store, registry: try ModelRegistry(bundle: nil))
        let app = Application(router: RecKitServer.makeRouter(service: service, configuration: ServerConfiguration()))
        try await app.test(.router) { client in
            let body =
                #"[{"FeedbackType":"like","UserId":"u","ItemId":"a"},{"FeedbackType":"like","UserId":"u","ItemId":"b"}]"#
            try await client.execute(uri: "/api/feedback", method: .put, body: ByteBuffer(string: body)) { _ in }
            try await client.execute(uri: "/api/recommend/u?n=abc", method: .get) { _ in }
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = response.body.getString(at: 0, length: response.body.readableBytes) ?? ""
                #expect(text.contains("reckit_feedback_ingested_total 2"))
                #expect(text.contains("reckit_model_version 0"))
                #expect(
                    text.contains(#"reckit_http_requests_total{route="/api/feedback",method="PUT",status="200"} 1"#))
                #expect(text.contains(#"status="400""#))
                #expect(text.contains("reckit_http_request_duration_seconds_bucket"))
            }
        }
    }
}

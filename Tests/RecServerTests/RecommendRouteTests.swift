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

/// `/api/recommend`, sessions, popular, explanations and the model card.
struct RecommendRouteTests: ServerSuite {
    let folder = temporaryDirectory("server")

    @Test func recommendationsExcludeSeenItemsAndFollowNewFeedback() async throws {
        let (app, _) = try await app()
        try await app.test(.router) { client in
            // u0-0 has every block-0 item but i0-0, which all other block-0 users have.
            try await client.execute(uri: "/api/recommend/u0-0?n=3", method: .get) { response in
                #expect(response.status == .ok)
                let ids = try #require(try json(response) as? [String])
                #expect(ids.first == "i0-0")
                #expect(!ids.contains("i0-1"))
            }
            let headers: HTTPFields = [HTTPField.Name("X-API-Version")!: "2"]
            try await client.execute(uri: "/api/recommend/u0-0?n=2", method: .get, headers: headers) { response in
                let list = try #require(try json(response) as? [[String: Any]])
                #expect(list.first?["Id"] as? String == "i0-0")
                #expect(list.first?["Score"] is Double)
            }
            // New feedback is committed before the 200 and shapes the very next answer.
            let body = #"[{"FeedbackType":"like","UserId":"u0-0","ItemId":"i0-0","Timestamp":"2026-01-01T00:00:00Z"}]"#
            try await client.execute(uri: "/api/feedback", method: .post, body: ByteBuffer(string: body)) { response in
                let affected = try json(response) as? [String: Int]
                #expect(affected == ["RowAffected": 1])
            }
            try await client.execute(uri: "/api/recommend/u0-0?n=3", method: .get) { response in
                let ids = try json(response) as? [String] ?? []
                #expect(!ids.contains("i0-0"))
            }
        }
    }

    /// Served items written back with `10m` are stored ten minutes ahead and shown again until
    /// then; written back without a delay they are seen at once (Gorse's `write-back-type` and
    /// `write-back-delay`).
    @Test func writeBackRecordsWhatWasShown() async throws {
        let (app, service) = try await app()
        try await app.test(.router) { client in
            var shown: [String] = []
            try await client.execute(
                uri: "/api/recommend/u0-0?n=2&write-back-type=read&write-back-delay=10m", method: .get
            ) { response in
                shown = try #require(try json(response) as? [String])
            }
            let rows = try await service.store.feedback(ofUser: "u0-0", type: "read")
            #expect(rows.map(\.itemID).sorted() == shown.sorted())
            let ahead = (StoreTimestamp.unixSeconds(rows.first?.timestamp ?? "") ?? 0) - Date().timeIntervalSince1970
            #expect(ahead > 590 && ahead <= 600)
            try await client.execute(uri: "/api/recommend/u0-0?n=2&write-back-type=view", method: .get) { response in
                let again = try json(response) as? [String]
                #expect(again == shown)
            }
            try await client.execute(uri: "/api/recommend/u0-0?n=2", method: .get) { response in
                let next = try #require(try json(response) as? [String])
                #expect(Set(next).isDisjoint(with: shown))
            }
            for bad in [
                "write-back-delay=10m", "write-back-type=read&write-back-delay=ten",
                "write-back-type=read&write-back-delay=-1s",
            ] {
                try await client.execute(uri: "/api/recommend/u0-0?\(bad)", method: .get) { response in
                    #expect(response.status == .badRequest, "\(bad)")
                }
            }
        }
    }

    @Test func goDurationsReadAsGoReadsThem() {
        #expect(GoDuration.seconds("10m") == 600)
        #expect(GoDuration.seconds("1h30m") == 5_400)
        #expect(GoDuration.seconds("1.5s") == 1.5)
        #expect(GoDuration.seconds("250ms") == 0.25)
        #expect(GoDuration.seconds("0") == 0)
        for bad in ["", "10", "m", "1x", "-1s", "1h-5m"] { #expect(GoDuration.seconds(bad) == nil, "\(bad)") }
    }

    @Test func aCategoryKeepsOnlyItsItems() async throws {
        let (app, service) = try await app()
        // Two unseen items of other blocks, tagged; u0-0's best overall (i0-0) is not.
        try await service.store.upsertItems([
            StoredItem(itemID: "i1-0", categories: ["blue", "green"]),
            StoredItem(itemID: "i2-0", categories: ["blue"]),
            StoredItem(itemID: "i2-1", categories: ["blue-ish"]),
        ])
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/recommend/u0-0/blue?n=5", method: .get) { response in
                #expect(response.status == .ok)
                let ids = try #require(try json(response) as? [String])
                #expect(Set(ids) == ["i1-0", "i2-0"])
            }
            try await client.execute(uri: "/api/recommend/u0-0/green?n=5", method: .get) { response in
                let ids = try json(response) as? [String]
                #expect(ids == ["i1-0"])
            }
            try await client.execute(uri: "/api/recommend/u0-0/none?n=5", method: .get) { response in
                let ids = try json(response) as? [String]
                #expect(ids == [])
            }
        }
    }

    @Test(arguments: [ModelKind.itemKNN, .als])
    func aDeletedUserIsAnsweredAsAStranger(kind: ModelKind) async throws {
        let (app, service) = try await app(kind)
        let bundle = try #require(await service.registry.current()?.bundle)
        #expect(bundle.context(forUser: "u1-2")?.history.isEmpty == false)
        try await app.test(.router) { client in
            var before: [String] = []
            try await client.execute(uri: "/api/recommend/u1-2?n=5", method: .get) {
                before = try json($0) as? [String] ?? []
            }
            // Personalized before: the withheld item of u1-2's block comes first.
            #expect(before.first == "i1-2")
            try await client.execute(uri: "/api/user/u1-2", method: .delete) { response in
                let affected = try json(response) as? [String: Int]
                #expect(affected == ["RowAffected": 1])
            }
            for route in ["/api/recommend/USER?n=5", "/api/explain/USER?n=5", "/api/user/USER/feedback"] {
                var answers: [String] = []
                for user in ["u1-2", "stranger"] {
                    try await client.execute(uri: route.replacingOccurrences(of: "USER", with: user), method: .get) {
                        // Key order is not part of an answer: compare the JSON with sorted keys.
                        let sorted = try JSONSerialization.data(withJSONObject: try json($0), options: [.sortedKeys])
                        answers.append(String(decoding: sorted, as: UTF8.self))
                    }
                }
                #expect(answers[0] == answers[1], "\(route)")
            }
        }
        #expect(try await service.store.user("u1-2") == nil)
        #expect(try await service.store.feedback(ofUser: "u1-2").isEmpty)
    }

    @Test func coldStartSessionPopularExplainAndModelCard() async throws {
        let (app, _) = try await app()
        try await app.test(.router) { client in
            // An unknown user with no feedback gets popular items, never an error.
            try await client.execute(uri: "/api/recommend/stranger?n=2", method: .get) { response in
                #expect(response.status == .ok)
                let ids = try json(response) as? [String]
                #expect(ids?.count == 2)
            }
            let session =
                #"[{"FeedbackType":"like","UserId":"","ItemId":"i2-1"},{"FeedbackType":"like","UserId":"","ItemId":"i2-2"}]"#
            try await client.execute(
                uri: "/api/session/recommend?n=3", method: .post, body: ByteBuffer(string: session)
            ) {
                let ids = (try json($0) as? [[String: Any]] ?? []).compactMap { $0["Id"] as? String }
                #expect(ids.count == 3 && ids.allSatisfy { $0.hasPrefix("i2-") })
            }
            try await client.execute(uri: "/api/explain/u0-0?n=1", method: .get) { response in
                let first = try #require((try json(response) as? [[String: Any]])?.first)
                #expect(first["Id"] as? String == "i0-0")
                #expect(!((first["Reasons"] as? [[String: Any]]) ?? []).isEmpty)
            }
            try await client.execute(uri: "/api/model", method: .get) { response in
                let card = try #require(try json(response) as? [String: Any])
                #expect(card["Kind"] as? String == "itemknn")
                #expect(card["Version"] as? Int == 1)
            }
            try await client.execute(uri: "/api/health/ready", method: .get) { #expect($0.status == .ok) }
        }
    }
}

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

/// Users, items and feedback: writing, paging, searching and refusing bad requests.
struct ResourceRouteTests: ServerSuite {
    let folder = temporaryDirectory("server")

    @Test func postLeavesExistingFeedbackAndPutOverwrites() async throws {
        let (app, service) = try await app()
        try await app.test(.router) { client in
            let body = #"[{"FeedbackType":"like","UserId":"u0-1","ItemId":"i0-0","Value":5,"Comment":"x"}]"#
            try await client.execute(uri: "/api/feedback", method: .post, body: ByteBuffer(string: body)) { response in
                let affected = try json(response) as? [String: Int]
                #expect(affected == ["RowAffected": 0])
            }
            try await client.execute(uri: "/api/feedback", method: .put, body: ByteBuffer(string: body)) { response in
                let affected = try json(response) as? [String: Int]
                #expect(affected == ["RowAffected": 1])
            }
        }
        let stored = try await service.store.feedback(ofUser: "u0-1", type: "like").first { $0.itemID == "i0-0" }
        #expect(stored?.value == 5)
        #expect(stored?.comment == "x")
    }

    @Test func usersItemsAndPaging() async throws {
        let (app, _) = try await app()
        try await app.test(.router) { client in
            try await client.execute(
                uri: "/api/user", method: .post,
                body: ByteBuffer(string: #"{"UserId":"zoe","Labels":{"age":30},"Comment":"new"}"#)
            ) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/user/zoe", method: .get) { response in
                let user = try #require(try json(response) as? [String: Any])
                #expect(user["UserId"] as? String == "zoe")
                #expect((user["Labels"] as? [String: Any])?["age"] as? Double == 30)
            }
            try await client.execute(uri: "/api/user/nobody", method: .get) { #expect($0.status == .notFound) }
            var cursor = ""
            var seen: [String] = []
            repeat {
                try await client.execute(uri: "/api/users?n=10&cursor=\(cursor)", method: .get) { response in
                    let page = try #require(try json(response) as? [String: Any])
                    seen += (page["Users"] as? [[String: Any]] ?? []).compactMap { $0["UserId"] as? String }
                    cursor = page["Cursor"] as? String ?? ""
                }
            } while !cursor.isEmpty
            #expect(seen.count == 25)
            #expect(seen == seen.sorted())
            try await client.execute(
                uri: "/api/item", method: .post,
                body: ByteBuffer(
                    string: #"{"ItemId":"new","IsHidden":true,"Categories":["c"],"Timestamp":"2031-01-01T00:00:00Z"}"#)
            ) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/latest?n=1", method: .get) { response in
                let list = try json(response) as? [[String: Any]]
                #expect(list?.first?["Id"] as? String == "new")
            }
            try await client.execute(uri: "/api/item/i0-3/neighbors?n=3", method: .get) { response in
                let list = try #require(try json(response) as? [[String: Any]])
                #expect(list.count == 3)
                #expect(list.allSatisfy { ($0["Id"] as? String)?.hasPrefix("i0-") ?? false })
            }
            try await client.execute(uri: "/api/item/unknown/neighbors", method: .get) {
                #expect($0.status == .notFound)
            }
        }
    }

    @Test func itemsAreFoundByPartOfTheirTitle() async throws {
        let (app, service) = try await app()
        try await service.store.upsertItems([
            StoredItem(itemID: "odd", comment: "100% _Pure_ \\ Film"),
            StoredItem(itemID: "odd2", comment: "100 Pure Film"),
        ])
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/items/search?q=FILM%20i0-&n=100", method: .get) { response in
                let items = try #require(try json(response) as? [[String: Any]])
                #expect(items.compactMap { $0["ItemId"] as? String } == (0..<6).map { "i0-\($0)" })
            }
            // LIKE's wildcards in the text match themselves only.
            try await client.execute(uri: "/api/items/search?q=0%25%20_", method: .get) { response in
                let items = try #require(try json(response) as? [[String: Any]])
                #expect(items.compactMap { $0["ItemId"] as? String } == ["odd"])
            }
            try await client.execute(uri: "/api/items/search", method: .get) { #expect($0.status == .badRequest) }
        }
    }

    @Test func badRequestsGetA400AndStoreNothing() async throws {
        let (app, service) = try await app()
        let before = try await service.store.counts()
        try await app.test(.router) { client in
            for uri in [
                "/api/recommend/u0-0?n=0", "/api/recommend/u0-0?n=100000", "/api/recommend/u0-0?n=ten",
                "/api/popular?offset=-1",
            ] {
                try await client.execute(uri: uri, method: .get) { #expect($0.status == .badRequest, "\(uri)") }
            }
            for body in [
                "{not json", #"[{"FeedbackType":1}]"#, #"[{"FeedbackType":"like","UserId":"","ItemId":"x"}]"#,
                #"[{"FeedbackType":"like","UserId":"\#(String(repeating: "u", count: 300))","ItemId":"x"}]"#,
            ] {
                try await client.execute(uri: "/api/feedback", method: .post, body: ByteBuffer(string: body)) {
                    response in
                    #expect(response.status == .badRequest, "\(body.prefix(40))")
                    #expect(text(response).contains("message"))
                }
            }
            let huge =
                "[" + String(repeating: #"{"FeedbackType":"like","UserId":"a","ItemId":"b"},"#, count: 60_000) + "]"
            try await client.execute(uri: "/api/feedback", method: .post, body: ByteBuffer(string: huge)) {
                #expect($0.status == .contentTooLarge)
            }
        }
        #expect(try await service.store.counts() == before)
    }
}

import Foundation
import Testing
import _RecTestSupport

@testable import RecStore

struct EventStoreTests {
    let path = temporaryDirectory("store").appendingPathComponent("events.sqlite").path

    @Test func feedbackSurvivesReopeningAndKeepsTimeOrder() throws {
        do {
            let store = try EventStore(path: path)
            try store.insertFeedback(
                [
                    StoredFeedback(feedbackType: "like", userID: "u", itemID: "b", timestamp: "2020-01-02T00:00:00Z"),
                    StoredFeedback(feedbackType: "like", userID: "u", itemID: "a", timestamp: "2020-01-01T00:00:00Z"),
                ], overwrite: false)
        }
        let reopened = try EventStore(path: path)
        #expect(try reopened.feedback(ofUser: "u").map(\.itemID) == ["a", "b"])
        #expect(try reopened.user("u") != nil)
        #expect(try reopened.item("a") != nil)
    }

    @Test func aRejectedBatchWritesNothing() throws {
        let store = try EventStore(path: path)
        #expect(throws: StoreError.invalid(field: "ItemId", reason: "must not be empty")) {
            try store.insertFeedback(
                [
                    StoredFeedback(feedbackType: "like", userID: "u", itemID: "ok"),
                    StoredFeedback(feedbackType: "like", userID: "u", itemID: ""),
                ],
                overwrite: true)
        }
        #expect(try store.counts() == (0, 0, 0))
        #expect(throws: StoreError.badCursor) { try store.users(count: 3, after: "%%%") }
    }

    @Test func popularCountsPositiveTypesOnly() throws {
        let store = try EventStore(path: path)
        try store.insertFeedback(
            [
                StoredFeedback(feedbackType: "like", userID: "u1", itemID: "x"),
                StoredFeedback(feedbackType: "like", userID: "u2", itemID: "x"),
                StoredFeedback(feedbackType: "view", userID: "u1", itemID: "y"),
                StoredFeedback(feedbackType: "view", userID: "u2", itemID: "y"),
                StoredFeedback(feedbackType: "view", userID: "u3", itemID: "y"),
            ], overwrite: true)
        #expect(try store.popularItems(types: ["like"], count: 5).map(\.itemID) == ["x"])
        #expect(try store.popularItems(types: [], count: 5).map(\.itemID) == ["y", "x"])
    }
}

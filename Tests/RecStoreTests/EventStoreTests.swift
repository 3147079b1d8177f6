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

    @Test func concurrentCommitsEachGetTheirOwnCountAndAllLand() async throws {
        let store = try EventStore(path: path)
        // 300 writers at once: each writes its own item twice (POST keeps the first, so 1 row
        // changed) and every third also overwrites a shared row with PUT (1 row changed).
        let counts = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for writer in 0..<300 {
                group.addTask {
                    let own = StoredFeedback(feedbackType: "click", userID: "u\(writer % 7)", itemID: "i\(writer)")
                    let shared = StoredFeedback(feedbackType: "like", userID: "shared", itemID: "x", value: 1)
                    let changed = try await store.commitFeedback(
                        writer % 3 == 0 ? [own, own, shared] : [own, own], overwrite: writer % 3 == 0)
                    return (writer, changed)
                }
            }
            return try await group.reduce(into: [Int: Int]()) { $0[$1.0] = $1.1 }
        }
        #expect(counts.count == 300)
        for (writer, changed) in counts {
            // With PUT the second copy replaces the first: 2 own rows written, plus the shared one.
            #expect(changed == (writer % 3 == 0 ? 3 : 1), "writer \(writer)")
        }
        #expect(try store.counts() == (8, 301, 301))
        await #expect(throws: StoreError.invalid(field: "UserId", reason: "must not be empty")) {
            try await store.commitFeedback(
                [StoredFeedback(feedbackType: "click", userID: "", itemID: "z")], overwrite: false)
        }
        #expect(try store.counts() == (8, 301, 301))
    }

    @Test func itemsInACategoryMatchWholeCategoriesOnly() throws {
        let store = try EventStore(path: path)
        try store.upsertItems([
            StoredItem(itemID: "both", categories: ["Comedy", "Drama"]),
            StoredItem(itemID: "longer", categories: ["Comedy Drama"]),
            StoredItem(itemID: "quoted", categories: [#"a","b"#]),
            StoredItem(itemID: "b", categories: ["b"]),
            StoredItem(itemID: "accented", categories: ["Comédie", "é/ü"]),
            StoredItem(itemID: "none"),
        ])
        #expect(try store.items(inCategory: "Comedy") == ["both"])
        #expect(try store.items(inCategory: "Drama") == ["both"])
        #expect(try store.items(inCategory: "Comedy Drama") == ["longer"])
        // `"b"` occurs inside the escaped text of `a","b` too; only the whole category counts.
        #expect(try store.items(inCategory: "b") == ["b"])
        #expect(try store.items(inCategory: #"a","b"#) == ["quoted"])
        #expect(try store.items(inCategory: "Comédie") == ["accented"])
        #expect(try store.items(inCategory: "é/ü") == ["accented"])
        #expect(try store.items(inCategory: "Com").isEmpty)
        #expect(try store.items(inCategory: "").isEmpty)
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

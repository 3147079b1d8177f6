import Foundation
import Testing
import _RecStoreTestSupport
import _RecTestSupport

@testable import RecStore

/// The store's contract, run against both backends: SQLite and PostgreSQL.
struct EventStoreTests {
    @Test(arguments: StoreBackend.allCases)
    func feedbackSurvivesReopeningAndKeepsTimeOrder(backend: StoreBackend) async throws {
        let location = try await backend.newLocation()
        do {
            let store = try await EventStores.open(location)
            try await store.insertFeedback(
                [
                    StoredFeedback(feedbackType: "like", userID: "u", itemID: "b", timestamp: "2020-01-02T00:00:00Z"),
                    StoredFeedback(feedbackType: "like", userID: "u", itemID: "a", timestamp: "2020-01-01T00:00:00Z"),
                ], overwrite: false)
            await store.close()
        }
        let reopened = try await EventStores.open(location)
        #expect(try await reopened.feedback(ofUser: "u").map(\.itemID) == ["a", "b"])
        #expect(try await reopened.user("u") != nil)
        #expect(try await reopened.item("a") != nil)
        await reopened.close()
    }

    @Test(arguments: StoreBackend.allCases)
    func aRejectedBatchWritesNothing(backend: StoreBackend) async throws {
        let (store, _) = try await backend.makeStore()
        await #expect(throws: StoreError.invalid(field: "[1].ItemId", reason: "must not be empty")) {
            try await store.insertFeedback(
                [
                    StoredFeedback(feedbackType: "like", userID: "u", itemID: "ok"),
                    StoredFeedback(feedbackType: "like", userID: "u", itemID: ""),
                ],
                overwrite: true)
        }
        await #expect(throws: StoreError.invalid(field: "[0].Value", reason: "must be a finite number")) {
            try await store.insertFeedback(
                [StoredFeedback(feedbackType: "like", userID: "u", itemID: "ok", value: .nan)], overwrite: true)
        }
        await #expect(throws: StoreError.invalid(field: "[0].UserId", reason: "is longer than 256 bytes")) {
            try await store.upsertUsers([StoredUser(userID: String(repeating: "x", count: 257))])
        }
        #expect(try await store.counts() == (0, 0, 0))
        await #expect(throws: StoreError.badCursor) { try await store.users(count: 3, after: "%%%") }
        await store.close()
    }

    @Test(arguments: StoreBackend.allCases)
    func concurrentCommitsEachGetTheirOwnCountAndAllLand(backend: StoreBackend) async throws {
        let (store, _) = try await backend.makeStore()
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
        #expect(try await store.counts() == (8, 301, 301))
        await #expect(throws: StoreError.invalid(field: "[0].UserId", reason: "must not be empty")) {
            try await store.commitFeedback(
                [StoredFeedback(feedbackType: "click", userID: "", itemID: "z")], overwrite: false)
        }
        #expect(try await store.counts() == (8, 301, 301))
        await store.close()
    }

    @Test(arguments: StoreBackend.allCases)
    func postKeepsAndPutOverwritesFeedback(backend: StoreBackend) async throws {
        let (store, _) = try await backend.makeStore()
        let first = StoredFeedback(
            feedbackType: "rate", userID: "u", itemID: "i", value: 2, timestamp: "2020-01-01T00:00:00Z")
        var second = first
        second.value = 5
        second.comment = "again"
        #expect(try await store.commitFeedback([first], overwrite: false) == 1)
        #expect(try await store.commitFeedback([second], overwrite: false) == 0)
        #expect(try await store.feedback(ofUser: "u").map(\.value) == [2])
        #expect(try await store.insertFeedback([second], overwrite: true) == 1)
        #expect(try await store.feedback(ofUser: "u") == [second])
        #expect(try await store.feedback(ofUser: "u", type: "other").isEmpty)
        #expect(try await store.deleteFeedback(user: "u", item: "i") == 1)
        #expect(try await store.feedback(ofUser: "u").isEmpty)
        #expect(try await store.counts() == (1, 1, 0))
        await store.close()
    }

    @Test(arguments: StoreBackend.allCases)
    func cursorsVisitEveryRowOnceInOrder(backend: StoreBackend) async throws {
        let (store, _) = try await backend.makeStore()
        // Identifiers compare by bytes on both backends: "B" < "a" < "b" < "é".
        let ids = ["b", "a", "é", "B", "a1", "a10", "a2"]
        try await store.upsertUsers(ids.map { StoredUser(userID: $0, labels: .array([.string($0)]), comment: "c") })
        try await store.upsertItems(
            ids.enumerated().map {
                StoredItem(itemID: $1, categories: ["k"], timestamp: "2020-01-01T00:00:0\($0)Z")
            })
        for (position, id) in ids.enumerated() {
            try await store.insertFeedback(
                [StoredFeedback(feedbackType: "view", userID: id, itemID: ids[(position + 1) % ids.count])],
                overwrite: false)
        }
        var users: [String] = []
        var items: [String] = []
        var feedback: [StoredFeedback] = []
        var cursor = ""
        repeat {
            let page = try await store.users(count: 3, after: cursor)
            users += page.users.map(\.userID)
            cursor = page.cursor
        } while !cursor.isEmpty
        repeat {
            let page = try await store.items(count: 2, after: cursor)
            items += page.items.map(\.itemID)
            cursor = page.cursor
        } while !cursor.isEmpty
        repeat {
            let page = try await store.feedback(count: 4, after: cursor)
            feedback += page.feedback
            cursor = page.cursor
        } while !cursor.isEmpty
        let byteOrder = ids.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        #expect(users == byteOrder)
        #expect(items == byteOrder)
        #expect(feedback.map(\.userID) == ids)
        #expect(try await store.user("a") == StoredUser(userID: "a", labels: .array([.string("a")]), comment: "c"))
        await store.close()
    }

    @Test(arguments: StoreBackend.allCases)
    func patchesAndDeletionsChangeOnlyWhatTheyName(backend: StoreBackend) async throws {
        let (store, _) = try await backend.makeStore()
        try await store.upsertItems([
            StoredItem(itemID: "x", categories: ["a"], timestamp: "2021-01-01T00:00:00Z", comment: "Title X"),
            StoredItem(itemID: "y", timestamp: "2022-01-01T00:00:00Z"),
        ])
        try await store.insertFeedback(
            [
                StoredFeedback(feedbackType: "like", userID: "u1", itemID: "x"),
                StoredFeedback(feedbackType: "like", userID: "u2", itemID: "x"),
                StoredFeedback(feedbackType: "like", userID: "u2", itemID: "y"),
            ], overwrite: false)
        #expect(
            try await store.patchItem("x", isHidden: true, categories: nil, timestamp: nil, labels: nil, comment: nil)
                == 1)
        #expect(
            try await store.patchItem(
                "nope", isHidden: true, categories: nil, timestamp: nil, labels: nil, comment: nil)
                == 0)
        #expect(
            try await store.item("x")
                == StoredItem(
                    itemID: "x", isHidden: true, categories: ["a"], timestamp: "2021-01-01T00:00:00Z",
                    comment: "Title X"))
        #expect(try await store.hiddenItems() == ["x"])
        let (ranked, hidden) = try await store.rankingInputs(ofUser: "u2")
        #expect(ranked.map(\.itemID) == ["x", "y"] && hidden == ["x"])
        // An item's feedback, for placing it from its users.
        #expect(try await store.feedbackOnItem("x").map(\.userID).sorted() == ["u1", "u2"])
        #expect(try await store.feedbackOnItem("y").map { [$0.type, $0.userID] } == [["like", "u2"]])
        #expect(try await store.feedbackOnItem("nothing").isEmpty)
        #expect(try await store.latestItems(count: 5).map(\.itemID) == ["y", "x"])
        #expect(try await store.patchUser("u1", labels: .string("l"), comment: nil) == 1)
        #expect(try await store.user("u1") == StoredUser(userID: "u1", labels: .string("l"), comment: ""))
        #expect(try await store.patchUser("nobody", labels: nil, comment: "c") == 0)
        #expect(try await store.deleteUser("u2") == 1)
        #expect(try await store.feedback(ofUser: "u2").isEmpty)
        #expect(try await store.deleteItem("x") == 1)
        #expect(try await store.counts() == (1, 1, 0))
        await store.close()
    }

    @Test(arguments: StoreBackend.allCases)
    func itemsInACategoryMatchWholeCategoriesOnly(backend: StoreBackend) async throws {
        let (store, _) = try await backend.makeStore()
        try await store.upsertItems([
            StoredItem(itemID: "both", categories: ["Comedy", "Drama"]),
            StoredItem(itemID: "longer", categories: ["Comedy Drama"]),
            StoredItem(itemID: "quoted", categories: [#"a","b"#]),
            StoredItem(itemID: "b", categories: ["b"]),
            StoredItem(itemID: "accented", categories: ["Comédie", "é/ü"]),
            StoredItem(itemID: "none"),
        ])
        #expect(try await store.items(inCategory: "Comedy") == ["both"])
        #expect(try await store.items(inCategory: "Drama") == ["both"])
        #expect(try await store.items(inCategory: "Comedy Drama") == ["longer"])
        // `"b"` occurs inside the escaped text of `a","b` too; only the whole category counts.
        #expect(try await store.items(inCategory: "b") == ["b"])
        #expect(try await store.items(inCategory: #"a","b"#) == ["quoted"])
        #expect(try await store.items(inCategory: "Comédie") == ["accented"])
        #expect(try await store.items(inCategory: "é/ü") == ["accented"])
        #expect(try await store.items(inCategory: "Com").isEmpty)
        #expect(try await store.items(inCategory: "").isEmpty)
        await store.close()
    }

    @Test(arguments: StoreBackend.allCases)
    func titleSearchIgnoresASCIICaseAndTakesWildcardsLiterally(backend: StoreBackend) async throws {
        let (store, _) = try await backend.makeStore()
        try await store.upsertItems([
            StoredItem(itemID: "1", comment: "The Matrix"), StoredItem(itemID: "2", comment: "100% Love"),
            StoredItem(itemID: "3", comment: "a_b"), StoredItem(itemID: "4", comment: "axb"),
            StoredItem(itemID: "5", comment: "back\\slash"), StoredItem(itemID: "6", comment: "ÉTÉ"),
        ])
        #expect(try await store.items(titleContaining: "matrix", count: 10).map(\.itemID) == ["1"])
        #expect(try await store.items(titleContaining: "%", count: 10).map(\.itemID) == ["2"])
        #expect(try await store.items(titleContaining: "_", count: 10).map(\.itemID) == ["3"])
        #expect(try await store.items(titleContaining: "\\", count: 10).map(\.itemID) == ["5"])
        #expect(try await store.items(titleContaining: "ÉTÉ", count: 10).map(\.itemID) == ["6"])
        #expect(try await store.items(titleContaining: "", count: 2).map(\.itemID) == ["1", "2"])
        await store.close()
    }

    @Test(arguments: StoreBackend.allCases)
    func popularCountsPositiveTypesOnly(backend: StoreBackend) async throws {
        let (store, _) = try await backend.makeStore()
        try await store.insertFeedback(
            [
                StoredFeedback(feedbackType: "like", userID: "u1", itemID: "x"),
                StoredFeedback(feedbackType: "like", userID: "u2", itemID: "x"),
                StoredFeedback(feedbackType: "view", userID: "u1", itemID: "y"),
                StoredFeedback(feedbackType: "view", userID: "u2", itemID: "y"),
                StoredFeedback(feedbackType: "view", userID: "u3", itemID: "y"),
            ], overwrite: true)
        #expect(try await store.popularItems(types: ["like"], count: 5).map(\.itemID) == ["x"])
        #expect(try await store.popularItems(types: [], count: 5).map(\.itemID) == ["y", "x"])
        #expect(try await store.popularItems(types: [], count: 5).map(\.count) == [3, 2])
        await store.close()
    }

    /// The ranking read as of a time leaves out later rows (impressions written back with a
    /// delay), and reads no times unless asked.
    @Test(arguments: StoreBackend.allCases)
    func rankingInputsAsOfATimeLeaveLaterRowsOut(backend: StoreBackend) async throws {
        let (store, _) = try await backend.makeStore()
        try await store.insertFeedback(
            [
                StoredFeedback(feedbackType: "like", userID: "u", itemID: "a", timestamp: "2026-01-01T00:00:00Z"),
                StoredFeedback(feedbackType: "read", userID: "u", itemID: "b", timestamp: "2026-01-02T00:00:00Z"),
                StoredFeedback(feedbackType: "read", userID: "u", itemID: "c", timestamp: "2026-01-03T00:00:00Z"),
            ], overwrite: true)
        let asOf = "2026-01-02T00:00:00Z"
        let timed = try await store.rankingInputs(ofUser: "u", asOf: asOf, times: true).feedback
        #expect(timed.map(\.itemID) == ["a", "b"])
        #expect(timed.map(\.timestamp) == ["2026-01-01T00:00:00Z", asOf])
        let untimed = try await store.rankingInputs(ofUser: "u", asOf: asOf, times: false).feedback
        #expect(untimed.map(\.itemID) == ["a", "b"] && untimed.allSatisfy { $0.timestamp.isEmpty })
        #expect(untimed.map(\.type) == ["like", "read"])
        await store.close()
    }

    /// A window counts only the rows at or after its start: older rows and rows without a time
    /// are left out.
    @Test(arguments: StoreBackend.allCases)
    func popularOverAWindowCountsItsRowsOnly(backend: StoreBackend) async throws {
        let (store, _) = try await backend.makeStore()
        let old = "2026-01-01T00:00:00Z"
        let new = "2026-03-01T00:00:00Z"
        try await store.insertFeedback(
            [
                StoredFeedback(feedbackType: "like", userID: "u1", itemID: "x", timestamp: old),
                StoredFeedback(feedbackType: "like", userID: "u2", itemID: "x", timestamp: old),
                StoredFeedback(feedbackType: "like", userID: "u3", itemID: "x"),
                StoredFeedback(feedbackType: "like", userID: "u1", itemID: "y", timestamp: new),
            ], overwrite: true)
        #expect(try await store.popularItems(types: [], count: 5).map(\.itemID) == ["x", "y"])
        let recent = try await store.popularItems(types: ["like"], count: 5, since: "2026-02-01T00:00:00Z")
        #expect(recent.map(\.itemID) == ["y"])
        #expect(recent.map(\.count) == [1])
        await store.close()
    }

    @Test(arguments: StoreBackend.allCases)
    func publishedModelsGetIncreasingVersions(backend: StoreBackend) async throws {
        let (store, _) = try await backend.makeStore()
        #expect(try await store.latestPublishedModel() == nil)
        #expect(try await store.publishModel(name: "als-1", kind: "als", report: "") == 1)
        #expect(try await store.publishModel(name: "als-2", kind: "als", report: #"{"ndcg":0.3}"#) == 2)
        let latest = try await store.latestPublishedModel()
        #expect(latest?.version == 2 && latest?.name == "als-2" && latest?.report == #"{"ndcg":0.3}"#)
        #expect(latest.flatMap { StoreTimestamp.unixSeconds($0.publishedAt) } != nil)
        await store.close()
    }

    @Test(arguments: StoreBackend.allCases)
    func theTrainingLogIsWhatTheStoreHoldsInTimeOrder(backend: StoreBackend) async throws {
        let (store, _) = try await backend.makeStore()
        try await store.insertFeedback(
            [
                StoredFeedback(
                    feedbackType: "buy", userID: "u1", itemID: "b", value: 4, timestamp: "2020-01-03T00:00:00Z"),
                StoredFeedback(
                    feedbackType: "buy", userID: "u1", itemID: "a", value: 3, timestamp: "2020-01-01T00:00:00Z"),
                StoredFeedback(feedbackType: "view", userID: "u2", itemID: "a", timestamp: "2020-01-02T00:00:00Z"),
                StoredFeedback(feedbackType: "buy", userID: "gone", itemID: "c", timestamp: "2020-01-02T00:00:00Z"),
            ], overwrite: false)
        #expect(try await store.deleteUser("gone") == 1)
        let log = try await store.interactionLog(types: [])
        #expect(log.userIDs.externalIDs.sorted() == ["u1", "u2"])
        #expect(!log.itemIDs.externalIDs.contains("c"))
        #expect((0..<log.count).map { log.itemIDs[log.items[$0]] } == ["a", "a", "b"])
        #expect(log.timestamps == [1_577_836_800, 1_577_923_200, 1_578_009_600])
        #expect(log.ratings == [3, 1, 4])
        let bought = try await store.interactionLog(types: ["buy"])
        #expect(bought.count == 2 && bought.userIDs.externalIDs == ["u1"])
        await store.close()
    }
}

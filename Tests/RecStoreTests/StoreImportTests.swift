import Foundation
import GRDB
import RecData
import Testing
import _RecStoreTestSupport
import _RecTestSupport

@testable import RecStore

/// `reckit db import`: the bulk path writes what the row-by-row path would, keeps the indexes
/// the ranking read needs, and formats times as Foundation does.
struct StoreImportTests {
    /// Foundation writes times before 1583 in the Julian calendar; RFC 3339 (and the store) use
    /// the proleptic Gregorian one, so those are compared by reading them back only.
    @Test func timestampsMatchFoundationsISO8601() {
        let formatter = ISO8601DateFormatter()
        var generator = SeededGenerator(seed: 11)
        var times: [Double] = [0, -1, 86_399, 86_400, 951_782_400, 4_102_444_800, -2_208_988_800, 1_634_847_323.9]
        times += (0..<2_000).map { _ in Double.random(in: -5e10...2.5e11, using: &generator) }
        for time in times {
            let text = StoreTimestamp.text(unixSeconds: time)
            if time >= -12_212_553_600 {
                #expect(text == formatter.string(from: Date(timeIntervalSince1970: time.rounded(.down))), "\(time)")
            }
            // Reading it back (the store's training log) gives the whole second.
            #expect(StoreTimestamp.unixSeconds(text) == time.rounded(.down), "\(text)")
        }
        #expect(StoreTimestamp.unixSeconds("") == nil && StoreTimestamp.unixSeconds("yesterday") == nil)
        #expect(StoreTimestamp.unixSeconds("2020-01-01T01:00:00+01:00") == 1_577_836_800)
        #expect(StoreTimestamp.text(unixSeconds: -62_135_596_800) == "0001-01-01T00:00:00Z")
        #expect(StoreTimestamp.text(unixSeconds: -12_219_292_800) == "1582-10-15T00:00:00Z")
    }

    @Test func jsonTextMatchesFoundationsEncoder() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let strings = [
            "", "Comedy", "a/b", "q\"x", "back\\slash", "\u{00}\u{01}\u{1F}\n\t\r\u{08}\u{0C}", "\u{7F}", "é✓😀",
            "\u{2028}", "Children's",
        ]
        var values: [JSONValue] = [.null, .bool(true), .bool(false), .array([]), .array(strings.map(JSONValue.string))]
        values += strings.map(JSONValue.string)
        values += [.array([.null, .array([.string("x/y"), .bool(false)])])]
        // Numbers and objects take the encoder's path; the result must be the same text.
        values += [.number(1.5), .array([.string("a"), .number(2)]), .object(["b": .number(1), "a": .string("/")])]
        for value in values {
            let expected = String(decoding: try encoder.encode(value), as: UTF8.self)
            #expect(value.text == expected, "\(value)")
            #expect(JSONValue(text: value.text) == value)
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func aBulkImportStoresEveryRowAndKeepsTheLastEventOfAPair(backend: StoreBackend) async throws {
        let folder = temporaryDirectory("import")
        try SyntheticLog(users: 50, items: 40, events: 900, seed: 5).write(to: folder, name: "imp")
        let dataset = try DatasetCatalog.load(folder.path)
        let (store, _) = try await backend.makeStore()
        // Rows there before the import: one is overwritten, one stays.
        let log = dataset.interactions
        let (firstUser, firstItem) = (log.userIDs[log.users[0]], log.itemIDs[log.items[0]])
        try await store.insertFeedback(
            [
                StoredFeedback(feedbackType: "view", userID: firstUser, itemID: firstItem, value: -7),
                StoredFeedback(feedbackType: "old", userID: "earlier", itemID: "thing"),
            ], overwrite: false)
        var reports: [Int] = []
        let counts = try await StoreImport.load(dataset, into: store, feedbackType: "view", batchSize: 256) {
            phase, done, _ in
            if phase == "importing feedback" { reports.append(done) }
        }
        // Repeated (user, item) pairs keep one row: the last event's.
        var last = [[Int32]: Int]()
        for index in 0..<log.count { last[[log.users[index], log.items[index]]] = index }
        #expect(try await store.counts() == (log.userCount + 1, log.itemCount + 1, last.count + 1))
        #expect(counts.feedback == last.count)
        #expect(reports.last == last.count && reports.count == (last.count + 255) / 256)
        for (pair, index) in last.prefix(200) {
            let stored = try await store.feedback(ofUser: log.userIDs[pair[0]], type: "view").filter {
                $0.itemID == log.itemIDs[pair[1]]
            }
            #expect(stored.map(\.value) == [Double(log.ratings?[index] ?? 1)])
            #expect(stored.map(\.timestamp) == [StoreTimestamp.text(unixSeconds: log.timestamps?[index] ?? 0)])
        }
        // Each user's history comes back in time order; the title and genres are the item's.
        let stored = try await store.feedback(ofUser: firstUser)
        #expect(stored.map(\.timestamp) == stored.map(\.timestamp).sorted())
        #expect(try await store.item(firstItem)?.comment == dataset.title(ofItem: log.items[0]))
        #expect(try await store.feedback(ofUser: "earlier").count == 1)
        await store.close()
    }

    /// Training from the store (`train --db`, `trainer`) sees the items' titles and categories
    /// as the data set had them, and changes made through the API.
    @Test(arguments: StoreBackend.allCases)
    func theStoreGivesBackTheItemsTitlesAndCategories(backend: StoreBackend) async throws {
        let folder = temporaryDirectory("features")
        try SyntheticLog(users: 30, items: 25, events: 400, seed: 8).write(to: folder, name: "f")
        let dataset = try DatasetCatalog.load(folder.path)
        let (store, _) = try await backend.makeStore()
        try await StoreImport.load(dataset, into: store, feedbackType: "view")
        let log = dataset.interactions
        let changed = log.itemIDs[Int32(0)]
        #expect(
            try await store.patchItem(
                changed, isHidden: nil, categories: ["New"], timestamp: nil, labels: nil, comment: "") == 1)

        let trained = try await Dataset.fromStore(store, types: [])
        let table = try #require(trained.itemFeatures)
        guard case .token(let titles) = table.column(named: "title")?.values,
            case .tokenSequence(let genres) = table.column(named: "genre")?.values,
            case .tokenSequence(let original) = dataset.itemFeatures?.column(named: "genre")?.values
        else {
            Issue.record("columns: \(table.columns.map(\.name))")
            return
        }
        #expect(trained.interactions.itemCount == log.itemCount)
        for item in 1..<log.itemCount {
            let row = Int(try #require(trained.interactions.itemIDs.index(of: log.itemIDs[Int32(item)])))
            #expect(titles[row] == dataset.title(ofItem: Int32(item)))
            #expect(genres[row] == original[item])
        }
        let row = Int(try #require(trained.interactions.itemIDs.index(of: changed)))
        #expect(genres[row] == ["New"])
        #expect(
            trained.title(ofItem: Int32(row)) == changed, "an emptied title is missing, the item's identifier shows")
        // A store whose items have neither gives no table.
        let (bare, _) = try await backend.makeStore()
        try await bare.insertFeedback(
            [StoredFeedback(feedbackType: "view", userID: "u", itemID: "i")], overwrite: false)
        #expect(try await Dataset.fromStore(bare, types: []).itemFeatures == nil)
        await store.close()
        await bare.close()
    }

    @Test func aBulkImportRebuildsTheIndexes() async throws {
        let folder = temporaryDirectory("import")
        try SyntheticLog(users: 50, items: 40, events: 900, seed: 5).write(to: folder, name: "imp")
        let dataset = try DatasetCatalog.load(folder.path)
        let store = try SQLiteEventStore(path: folder.appendingPathComponent("events.sqlite").path)
        try await StoreImport.load(dataset, into: store, feedbackType: "view", batchSize: 256)
        let user = dataset.interactions.userIDs[dataset.interactions.users[0]]
        let indexes = try await store.database.read { db in
            try String.fetchAll(
                db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'feedback'")
        }
        #expect(Set(indexes).isSuperset(of: ["feedback_by_user", "feedback_by_item"]))
        // The ranking read uses the covering index, not a scan.
        let plan = try await store.database.read { db in
            try Row.fetchAll(
                db, sql: "EXPLAIN QUERY PLAN SELECT type, item_id FROM feedback WHERE user_id = ? ORDER BY timestamp",
                arguments: [user]
            ).map { $0["detail"] as String }
        }
        #expect(plan.contains { $0.contains("feedback_by_user") }, "\(plan)")
    }

    @Test func anInterruptedBulkLoadGetsItsIndexesBack() throws {
        let path = temporaryDirectory("bulk").appendingPathComponent("events.sqlite").path
        struct Stop: Error {}
        do {
            let store = try SQLiteEventStore(path: path)
            #expect(throws: Stop.self) {
                try store.bulkLoad {
                    try store.appendFeedback([StoredFeedback(feedbackType: "like", userID: "u", itemID: "i")])
                    throw Stop()
                }
            }
        }
        let reopened = try SQLiteEventStore(path: path)
        #expect(try reopened.feedback(ofUser: "u").map(\.itemID) == ["i"])
        let indexes = try reopened.database.read { db in
            try String.fetchAll(
                db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'feedback'")
        }
        #expect(Set(indexes).isSuperset(of: ["feedback_by_user", "feedback_by_item"]))
    }
}

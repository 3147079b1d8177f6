import Foundation
import GRDB
import RecData
import Testing
import _RecTestSupport

@testable import RecStore

/// `reckit db import`: the bulk path writes what the row-by-row path would, keeps the indexes
/// the ranking read needs, and formats times as Foundation does.
struct StoreImportTests {
    @Test func timestampsMatchFoundationsISO8601() {
        let formatter = ISO8601DateFormatter()
        var generator = SeededGenerator(seed: 11)
        var times: [Double] = [0, -1, 86_399, 86_400, 951_782_400, 4_102_444_800, -2_208_988_800, 1_634_847_323.9]
        times += (0..<2_000).map { _ in Double.random(in: -5e10...2.5e11, using: &generator) }
        for time in times {
            #expect(
                StoreTimestamp.text(unixSeconds: time)
                    == formatter.string(from: Date(timeIntervalSince1970: time.rounded(.down))), "\(time)")
        }
    }

    @Test func aBulkImportStoresEveryRowAndRebuildsTheIndexes() throws {
        let folder = temporaryDirectory("import")
        try SyntheticLog(users: 50, items: 40, events: 900, seed: 5).write(to: folder, name: "imp")
        let dataset = try DatasetCatalog.load(folder.path)
        let store = try EventStore(path: folder.appendingPathComponent("events.sqlite").path)
        var reports: [Int] = []
        let counts = try StoreImport.load(dataset, into: store, feedbackType: "view", batchSize: 256) {
            phase, done, _ in
            if phase == "importing feedback" { reports.append(done) }
        }
        let log = dataset.interactions
        // Repeated (user, item) pairs keep one row.
        var pairs = Set<[Int32]>()
        for index in 0..<log.count { pairs.insert([log.users[index], log.items[index]]) }
        #expect(try store.counts() == (log.userCount, log.itemCount, pairs.count))
        #expect(counts.feedback == log.count)
        #expect(reports.last == log.count && reports.count == (log.count + 255) / 256)
        // Each user's history comes back in time order, with their last rating per item.
        let user = log.userIDs[log.users[0]]
        let stored = try store.feedback(ofUser: user)
        #expect(stored.map(\.timestamp) == stored.map(\.timestamp).sorted())
        #expect(Set(stored.map(\.itemID)).count == stored.count)
        let indexes = try store.database.read { db in
            try String.fetchAll(
                db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'feedback'")
        }
        #expect(Set(indexes).isSuperset(of: ["feedback_by_user", "feedback_by_item"]))
        // The ranking read uses the covering index, not a scan.
        let plan = try store.database.read { db in
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
            let store = try EventStore(path: path)
            #expect(throws: Stop.self) {
                try store.bulkLoad {
                    try store.appendFeedback([StoredFeedback(feedbackType: "like", userID: "u", itemID: "i")])
                    throw Stop()
                }
            }
        }
        let reopened = try EventStore(path: path)
        #expect(try reopened.feedback(ofUser: "u").map(\.itemID) == ["i"])
        let indexes = try reopened.database.read { db in
            try String.fetchAll(
                db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'feedback'")
        }
        #expect(Set(indexes).isSuperset(of: ["feedback_by_user", "feedback_by_item"]))
    }
}

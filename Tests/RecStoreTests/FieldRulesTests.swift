import Foundation
import GRDB
import Testing
import _RecStoreTestSupport
import _RecTestSupport

@testable import RecStore

/// What each field accepts (issue 43: timestamps were stored as sent, "not a time" included).
struct FieldRulesTests {
    @Test(
        arguments: [
            ("2026-01-02T15:04:05Z", "2026-01-02T15:04:05Z"),
            ("2026-01-02t15:04:05z", "2026-01-02T15:04:05Z"),
            ("2026-01-02T15:04:05.999+01:00", "2026-01-02T14:04:05Z"),
            ("2026-01-01T00:30:00-01:00", "2026-01-01T01:30:00Z"),
            ("2024-02-29T23:59:60Z", "2024-02-29T23:59:59Z"),
            ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"),
            ("1500-06-01T12:00:00Z", "1500-06-01T12:00:00Z"),
            ("", ""),
        ])
    func rfc3339TimesAreStoredAsUTC(text: String, stored: String) throws {
        #expect(try FieldRules.timestamp(text, at: "Timestamp") == stored)
        if !stored.isEmpty { #expect(StoreTimestamp.unixSeconds(stored) == StoreTimestamp.rfc3339(stored)) }
    }

    @Test(
        arguments: [
            "not a time", "2026-13-45T99:00:00Z", "2026-02-29T00:00:00Z", "2026-04-31T00:00:00Z",
            "2026-01-02T24:00:00Z", "2026-01-02T15:60:00Z", "2026-01-02 15:04:05Z", "2026-01-02T15:04:05",
            "2026-01-02T15:04:05+1:00", "2026-01-02T15:04:05.Z", "2026-01-02", "1700000000", "2026-01-02T15:04:05Zjunk",
            "0000-12-31T00:00:00Z",
        ])
    func anythingElseIsRefusedWithTheField(text: String) {
        #expect(throws: StoreError.self) { try FieldRules.timestamp(text, at: "[2].Timestamp") }
        do {
            _ = try FieldRules.timestamp(text, at: "[2].Timestamp")
        } catch {
            #expect("\(error)".hasPrefix("[2].Timestamp: "))
        }
        #expect(!StoreTimestamp.isStoreForm(text))
    }

    @Test func storeFormIsExactlyWhatTheStoreWrites() {
        for seconds in [-62_135_596_800.0, -1, 0, 1_700_000_000.5, 253_402_300_799] {
            let text = StoreTimestamp.text(unixSeconds: seconds)
            #expect(StoreTimestamp.isStoreForm(text), "\(text)")
            #expect(StoreTimestamp.rfc3339(text) == seconds.rounded(.down))
        }
        #expect(!StoreTimestamp.isStoreForm("2026-01-02T15:04:05+00:00"))
        #expect(!StoreTimestamp.isStoreForm("2026-01-02t15:04:05z"))
    }

    @Test(
        arguments: [
            ("", "must not be empty"), (String(repeating: "é", count: 129), "is longer than 256 bytes"),
            ("a\u{0}b", "contains the control character U+0000"),
            ("tab\there", "contains the control character U+0009"),
            ("del\u{7F}", "contains the control character U+007F"),
            ("c1\u{85}", "contains the control character U+0085"),
        ])
    func identifiersRefuseControlCharactersAndLength(id: String, reason: String) {
        #expect(throws: StoreError.invalid(field: "UserId", reason: reason)) {
            try FieldRules.identifier(id, at: "UserId")
        }
    }

    @Test func identifiersMayBeAnyOtherText() throws {
        for id in ["42", "user name", "ユーザー", "a/b?c=d", "🙂", String(repeating: "x", count: 256)] {
            try FieldRules.identifier(id, at: "UserId")
        }
    }

    @Test func textAndLabelsHaveALimit() throws {
        try FieldRules.text("a line\nand a tab\t", at: "Comment")
        #expect(throws: StoreError.invalid(field: "Comment", reason: "contains the character U+0000")) {
            try FieldRules.text("nul\u{0}", at: "Comment")
        }
        #expect(throws: StoreError.invalid(field: "Comment", reason: "is longer than 65536 bytes")) {
            try FieldRules.text(String(repeating: "x", count: 65_537), at: "Comment")
        }
        #expect(throws: StoreError.invalid(field: "Labels", reason: "is longer than 65536 bytes as JSON")) {
            try FieldRules.labels(.array(Array(repeating: .string("0123456789"), count: 6_000)), at: "Labels")
        }
        #expect(throws: StoreError.invalid(field: "Categories[1]", reason: "must not be empty")) {
            try FieldRules.categories(["a", ""], at: "Categories")
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func aBatchWithABadTimestampWritesNothingOnEitherBackend(backend: StoreBackend) async throws {
        let (store, _) = try await backend.makeStore()
        let good = StoredFeedback(feedbackType: "buy", userID: "u", itemID: "i", timestamp: "2026-01-02T15:04:05+02:00")
        var bad = good
        bad.itemID = "j"
        bad.timestamp = "2026-13-45T99:00:00Z"
        for overwrite in [false, true] {
            await #expect(throws: StoreError.self) {
                try await store.commitFeedback([good, bad], overwrite: overwrite)
            }
            await #expect(throws: StoreError.self) {
                try await store.insertFeedback([good, bad], overwrite: overwrite)
            }
        }
        await #expect(throws: StoreError.self) {
            try await store.upsertItems([StoredItem(itemID: "k", timestamp: "yesterday")])
        }
        #expect(try await store.counts() == (0, 0, 0))
        // A good batch is stored with its time in UTC, so that text order is time order.
        _ = try await store.commitFeedback([good], overwrite: false)
        #expect(try await store.feedback(ofUser: "u").map(\.timestamp) == ["2026-01-02T13:04:05Z"])
        try await store.upsertItems([StoredItem(itemID: "k", timestamp: "2026-01-02T00:00:00.5-00:30")])
        #expect(try await store.item("k")?.timestamp == "2026-01-02T00:30:00Z")
        await #expect(throws: StoreError.self) {
            try await store.patchItem("k", isHidden: nil, categories: nil, timestamp: "soon", labels: nil, comment: nil)
        }
        #expect(try await store.item("k")?.timestamp == "2026-01-02T00:30:00Z")
        await store.close()
    }
}

/// Two processes on one SQLite file (issue 43: a second server died at startup with
/// "database is locked").
struct SQLiteLockTests {
    /// Holds a write transaction on `path` for `seconds` on a thread of its own; returns once it
    /// holds it, with a semaphore signalled when it has let go.
    func holdWriteLock(_ path: String, seconds: Double) throws -> DispatchSemaphore {
        let holder = try DatabaseQueue(path: path)
        let (started, done) = (DispatchSemaphore(value: 0), DispatchSemaphore(value: 0))
        Thread.detachNewThread {
            try? holder.write { db in
                try db.execute(sql: "INSERT INTO users (id) VALUES ('holder')")
                started.signal()
                Thread.sleep(forTimeInterval: seconds)
            }
            done.signal()
        }
        started.wait()
        return done
    }

    @Test func aSecondStoreWaitsForTheLockWithinTheBusyTimeout() async throws {
        let path = temporaryDirectory("lock").appendingPathComponent("events.sqlite").path
        _ = try SQLiteEventStore(path: path)
        let holder = try holdWriteLock(path, seconds: 1.5)
        // Opening migrates (a write): before the fix it failed at once with SQLITE_BUSY.
        let second = try SQLiteEventStore(path: path)
        _ = try await second.commitFeedback(
            [StoredFeedback(feedbackType: "like", userID: "u", itemID: "i")], overwrite: false)
        holder.wait()
        #expect(try second.counts().users == 2)
    }

    @Test func aLockHeldPastTheTimeoutIsAClearErrorNamingPostgreSQL() throws {
        let path = temporaryDirectory("lock").appendingPathComponent("events.sqlite").path
        let first = try SQLiteEventStore(path: path, busyTimeout: 0.2)
        let holder = try holdWriteLock(path, seconds: 2)
        do {
            try first.insertFeedback([StoredFeedback(feedbackType: "like", userID: "u", itemID: "i")], overwrite: false)
            Issue.record("the write should have timed out")
        } catch {
            let mapped = try #require(StoreError.mapped(error))
            guard case .unavailable(let reason) = mapped else { throw mapped }
            #expect(reason.contains("PostgreSQL"))
        }
        #expect(throws: StoreError.self) { _ = try SQLiteEventStore(path: path, busyTimeout: 0.2) }
        holder.wait()
    }
}

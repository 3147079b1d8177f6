import Foundation
import Testing
import _RecStoreTestSupport
import _RecTestSupport

@testable import RecStore

/// The dashboard's counts of feedback per type and day, on both backends.
struct FeedbackStatsTests {
    @Test(arguments: StoreBackend.allCases)
    func feedbackIsCountedPerTypeAndDayOverTheLastDaysOfTheStore(backend: StoreBackend) async throws {
        let (store, _) = try await backend.makeStore()
        #expect(try await store.feedbackPerDay(days: 7).isEmpty)
        try await store.insertFeedback(
            [
                StoredFeedback(feedbackType: "like", userID: "u1", itemID: "a", timestamp: "2025-12-31T12:00:00Z"),
                StoredFeedback(feedbackType: "like", userID: "u1", itemID: "b", timestamp: "2026-01-01T00:00:00Z"),
                StoredFeedback(feedbackType: "like", userID: "u2", itemID: "b", timestamp: "2026-01-01T23:59:59Z"),
                StoredFeedback(feedbackType: "click", userID: "u2", itemID: "a", timestamp: "2026-01-01T08:00:00Z"),
                StoredFeedback(feedbackType: "click", userID: "u3", itemID: "c", timestamp: "2026-01-03T00:00:00Z"),
                // No timestamp: on no day.
                StoredFeedback(feedbackType: "like", userID: "u3", itemID: "a"),
            ], overwrite: false)
        func counts(_ days: Int) async throws -> [String] {
            try await store.feedbackPerDay(days: days).map { "\($0.type) \($0.day) \($0.count)" }
        }
        // Three days end on the newest row's day, 2026-01-03: 2026-01-02 has nothing.
        #expect(try await counts(3) == ["click 2026-01-01 1", "like 2026-01-01 2", "click 2026-01-03 1"])
        #expect(
            try await counts(4) == [
                "like 2025-12-31 1", "click 2026-01-01 1", "like 2026-01-01 2", "click 2026-01-03 1",
            ])
        #expect(try await counts(1) == ["click 2026-01-03 1"])
        #expect(try await counts(0).isEmpty)
        await store.close()
    }

    @Test func theFirstDayCrossesMonthsAndYears() {
        #expect(StoreStats.firstDay(newest: "2026-03-01T05:00:00Z", days: 2) == "2026-02-28")
        #expect(StoreStats.firstDay(newest: "2024-03-01T05:00:00Z", days: 2) == "2024-02-29")
        #expect(StoreStats.firstDay(newest: "2026-01-01T00:00:00Z", days: 1) == "2026-01-01")
        #expect(StoreStats.firstDay(newest: "", days: 3) == nil)
    }
}

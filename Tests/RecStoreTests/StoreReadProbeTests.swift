import Foundation
import RecData
import Testing
import _RecTestSupport

@testable import RecStore

/// The measurement behind `reckit bench store-read`.
struct StoreReadProbeTests {
    /// Users 1...3 with two events each: every read returns two rows.
    @Test func everyReadOfAUserWithTwoEventsReturnsTwoRows() async throws {
        let store = try SQLiteEventStore(path: temporaryDirectory("probe").appendingPathComponent("events.sqlite").path)
        let log = InteractionLog(pairs: (1...3).flatMap { user in [("\(user)", "a"), ("\(user)", "b")] })
        try await StoreImport.load(Dataset(name: "probe", interactions: log), into: store, feedbackType: "like")
        let summary = try await StoreReadProbe.measure(store, users: 3, requests: 30, seed: 1)
        #expect(summary.requests == 30 && summary.storeFeedback == 6)
        #expect(summary.rowsRead == 60 && summary.rowsPerRead == 2)
        #expect(summary.p50 <= summary.p99 && summary.p99 <= summary.max)
        // Only user 1, drawn five times.
        #expect(try await StoreReadProbe.measure(store, users: 1, requests: 5, seed: 1).rowsRead == 10)
    }
}

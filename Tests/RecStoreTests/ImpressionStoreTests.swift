import Foundation
import GRDB
import Testing
import _RecStoreTestSupport
import _RecTestSupport

@testable import RecStore

/// Impressions and their attribution (issue 47), on both backends: feedback counts for an
/// impression's arm when it is positive, on a shown item, by the same user, within the window;
/// once per impression and item however many rows match; a batch stored twice is stored once.
struct ImpressionStoreTests {
    static func impression(
        _ id: String, arm: String, user: String, items: [String], at time: String, until: String,
        experiment: String = "e", first: Int = 1
    ) -> StoredImpression {
        StoredImpression(
            requestID: id, experiment: experiment, arm: arm, userID: user, route: "recommend", items: items,
            firstPosition: first, time: time, until: until)
    }

    static let impressions = [
        impression(
            "r1", arm: "a", user: "u1", items: ["x", "y", "z"], at: "2026-12-01T10:00:00Z",
            until: "2026-12-01T11:00:00Z"),
        impression("r2", arm: "a", user: "u1", items: ["y"], at: "2026-12-01T10:30:00Z", until: "2026-12-01T11:30:00Z"),
        impression(
            "r3", arm: "b", user: "u2", items: ["x", "y"], at: "2026-12-02T09:00:00Z", until: "2026-12-02T10:00:00Z",
            first: 3),
        impression("r4", arm: "b", user: "u3", items: [], at: "2026-12-02T09:00:00Z", until: "2026-12-02T10:00:00Z"),
        impression(
            "r5", arm: "a", user: "u1", items: ["x"], at: "2026-12-01T10:00:00Z", until: "2026-12-01T11:00:00Z",
            experiment: "other"),
    ]

    static func feedback(_ type: String, _ user: String, _ item: String, _ time: String) -> StoredFeedback {
        StoredFeedback(feedbackType: type, userID: user, itemID: item, timestamp: time)
    }

    @Test(arguments: StoreBackend.allCases)
    func clicksWithinTheWindowCountOnceForTheNewestImpression(backend: StoreBackend) async throws {
        let (store, _) = try await backend.makeStore()
        #expect(try await store.insertImpressions(Self.impressions) == 5)
        // Written again (a retried batch, or through another replica): nothing new.
        #expect(try await store.insertImpressions(Array(Self.impressions.prefix(2))) == 0)
        try await store.insertFeedback(
            [
                // y clicked and bought at 10:40: inside r1's and r2's windows, counted once, for
                // r2, the newest impression that showed it (position 1, gain 1).
                Self.feedback("click", "u1", "y", "2026-12-01T10:40:00Z"),
                Self.feedback("buy", "u1", "y", "2026-12-01T10:40:00Z"),
                // x clicked before r1 was shown: not attributed.
                Self.feedback("click", "u1", "x", "2026-12-01T09:59:59Z"),
                // z clicked exactly when r1's window closes: not attributed (the window is half-open).
                Self.feedback("click", "u1", "z", "2026-12-01T11:00:00Z"),
                // u2 clicks x (position 3) within r3's window, and y read (not a click type).
                Self.feedback("click", "u2", "x", "2026-12-02T09:10:00Z"),
                Self.feedback("read", "u2", "y", "2026-12-02T09:10:00Z"),
                // Another user's click on a shown item: not theirs.
                Self.feedback("click", "u3", "x", "2026-12-02T09:10:00Z"),
            ], overwrite: false)
        // Written twice: the feedback key keeps one row.
        try await store.insertFeedback([Self.feedback("click", "u1", "y", "2026-12-01T10:40:00Z")], overwrite: true)
        let rows = try await store.experimentOutcomes(
            experiment: "e", clickTypes: ["click", "buy"], conversionTypes: ["buy"])
        let gain3 = 1 / log2(4.0)
        #expect(
            rows == [
                ExperimentUserDay(
                    arm: "a", userID: "u1", day: "2026-12-01", impressions: 2, clicks: 1, conversions: 1, gain: 1),
                ExperimentUserDay(
                    arm: "b", userID: "u2", day: "2026-12-02", impressions: 1, clicks: 1, conversions: 0, gain: gain3),
                ExperimentUserDay(
                    arm: "b", userID: "u3", day: "2026-12-02", impressions: 1, clicks: 0, conversions: 0, gain: 0),
            ])
        // Every type counts when none is named: u2's read of y too.
        let any = try await store.experimentOutcomes(experiment: "e", clickTypes: [], conversionTypes: [])
        #expect(any.first { $0.userID == "u2" }?.clicks == 2)
        await store.close()
    }

    /// Impressions stored before migration v7 (an `impression_items` row per shown item, here
    /// written out of order) are moved into their rows: positions, attribution and gains as before.
    @Test(arguments: StoreBackend.allCases)
    func impressionsStoredBeforeV7AreMovedIntoTheirRows(backend: StoreBackend) async throws {
        let location = try await backend.newLocation()
        let old = [
            "INSERT INTO impressions (request_id, experiment, arm, user_id, route, time, until) VALUES "
                + "('r1', 'e', 'a', 'u1', 'recommend', '2026-12-01T10:00:00Z', '2026-12-01T11:00:00Z'), "
                + "('r2', 'e', 'a', 'u1', 'recommend', '2026-12-01T10:30:00Z', '2026-12-01T11:30:00Z'), "
                + "('r4', 'e', 'b', 'u3', 'recommend', '2026-12-02T09:00:00Z', '2026-12-02T10:00:00Z')",
            "INSERT INTO impression_items (request_id, position, item_id, gain) VALUES "
                + "('r1', 5, 'x', 0), ('r1', 3, 'y', 0), ('r1', 4, 'z', 0), ('r2', 1, 'y', 0)",
        ]
        switch backend {
        case .sqlite:
            let queue = try DatabaseQueue(path: location)
            try SQLiteEventStore.migrator.migrate(queue, upTo: "v6: published flow configurations")
            try await queue.write { db in for statement in old { try db.execute(sql: statement) } }
            try queue.close()
        case .postgres:
            // Migrated, then taken back to v6's tables.
            await (try await EventStores.open(location)).close()
            let back = [
                "ALTER TABLE impressions DROP COLUMN first_position, DROP COLUMN items",
                PostgresEventStore.impressionsMigration.statements[3],
                "DELETE FROM reckit_migrations WHERE name = '\(PostgresEventStore.impressionItemsMigration.name)'",
            ]
            for statement in back + old { try await StoreBackend.execute(statement, on: location) }
        }
        let store = try await EventStores.open(location)
        try await store.insertFeedback(
            [
                // y: counted once, for r2 (position 1); z: r1's position 4.
                Self.feedback("click", "u1", "y", "2026-12-01T10:40:00Z"),
                Self.feedback("click", "u1", "z", "2026-12-01T10:10:00Z"),
            ], overwrite: false)
        let rows = try await store.experimentOutcomes(experiment: "e", clickTypes: ["click"], conversionTypes: [])
        #expect(
            rows == [
                ExperimentUserDay(
                    arm: "a", userID: "u1", day: "2026-12-01", impressions: 2, clicks: 2, conversions: 2,
                    gain: 1 + 1 / log2(5.0)),
                ExperimentUserDay(
                    arm: "b", userID: "u3", day: "2026-12-02", impressions: 1, clicks: 0, conversions: 0, gain: 0),
            ])
        // The moved rows keep their request ids: written again, nothing new.
        #expect(try await store.insertImpressions(Array(Self.impressions.prefix(2))) == 0)
        await store.close()
    }

    @Test(arguments: StoreBackend.allCases)
    func retentionDeletesOldImpressionsAndDefinitionsAreReplaced(backend: StoreBackend) async throws {
        let (store, _) = try await backend.makeStore()
        try await store.insertImpressions(Self.impressions)
        #expect(try await store.deleteImpressions(before: "2026-12-02T00:00:00Z") == 3)
        let left = try await store.experimentOutcomes(experiment: "e", clickTypes: [], conversionTypes: [])
        #expect(left.map(\.userID) == ["u2", "u3"])
        #expect(try await store.experimentOutcomes(experiment: "other", clickTypes: [], conversionTypes: []).isEmpty)

        try await store.saveExperiments([StoredExperiment(name: "e", definition: "{}")])
        try await store.saveExperiments([
            StoredExperiment(name: "e", definition: "{\"v\":2}"), StoredExperiment(name: "d", definition: "{}"),
        ])
        let saved = try await store.experiments()
        #expect(saved.map(\.name) == ["d", "e"] && saved[1].definition == "{\"v\":2}")
        #expect(saved.allSatisfy { StoreTimestamp.isStoreForm($0.updatedAt) })
        await store.close()
    }
}

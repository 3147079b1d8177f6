import ArgumentParser
import Foundation
import RecEval
import RecStore
import Testing
import _RecTestSupport

@testable import RecKitCLI

/// `reckit experiment report` (issue 47) over a store as servers leave it: the definition they
/// recorded, impressions and clicks.
struct ExperimentCommandTests {
    static let definition = """
        {"clickTypes":["click"],"conversionTypes":["click"],"experiment":{"arms":[{"name":"a","share":0.5},\
        {"name":"b","share":0.5}],"name":"e","salt":"e","start":"2026-12-01T00:00:00Z"},"tau":0.05,"window":3600}
        """

    /// Users u0…u7, alternately in arms a and b, each shown x and y on two days; b's users but
    /// u7 click y on the second day.
    func makeStore(at path: String) async throws {
        let store = try SQLiteEventStore(path: path)
        try store.saveExperiments([StoredExperiment(name: "e", definition: Self.definition)])
        var impressions: [StoredImpression] = []
        var clicks: [StoredFeedback] = []
        for user in 0..<8 {
            for day in ["01", "02"] {
                impressions.append(
                    StoredImpression(
                        requestID: "r\(user)-\(day)", experiment: "e", arm: user % 2 == 0 ? "a" : "b",
                        userID: "u\(user)",
                        route: "recommend", items: ["x", "y"], time: "2026-12-\(day)T10:00:00Z",
                        until: "2026-12-\(day)T11:00:00Z"))
            }
            if user % 2 == 1 && user != 7 {
                clicks.append(
                    StoredFeedback(
                        feedbackType: "click", userID: "u\(user)", itemID: "y", timestamp: "2026-12-02T10:05:00Z"))
            }
        }
        try store.insertImpressions(impressions)
        try store.insertFeedback(clicks, overwrite: false)
    }

    @Test func theReportReadsTheStoreAndWritesPlots() async throws {
        let folder = temporaryDirectory("experiment-report")
        let db = folder.appendingPathComponent("events.sqlite").path
        let html = folder.appendingPathComponent("e.html").path
        try await makeStore(at: db)
        let report = try #require(
            try RecKitCommand.parseAsRoot(["experiment", "report", "e", "--db", db, "--html", html])
                as? ExperimentCommand.Report)
        try await report.run()
        let page = try String(contentsOfFile: html, encoding: .utf8)
        #expect(page.contains("data-charts=\"3\"") && page.contains("<td>a</td>") && page.contains("<td>b</td>"))
        #expect(page.contains("b − a</b>, clicks per user: 0.7500"))
        let missing = try #require(
            try RecKitCommand.parseAsRoot(["experiment", "report", "nope", "--db", db]) as? ExperimentCommand.Report)
        await #expect(throws: (any Error).self) { try await missing.run() }
    }

    @Test func theTableListsArmsTheDifferenceAndDays() {
        let start = Date(timeIntervalSince1970: 1_796_083_200)
        let rows = (0..<6).map { user in
            ExperimentObservation(
                arm: user % 2 == 0 ? "control" : "treatment", user: "u\(user)", day: "2026-12-01",
                outcome: UserOutcome(impressions: 2, clicks: user % 2 + user % 3))
        }
        let report = ExperimentReport(
            name: "e", start: start, stop: nil, arms: [("control", 0.5), ("treatment", 0.5)], tau: 0.05,
            observations: rows, now: start.addingTimeInterval(60))
        let table = ExperimentCommand.Report.table(report)
        #expect(table.hasPrefix("experiment e: 2026-12-01T00:00:00Z to open, running"))
        #expect(table.contains("treatment - control, clicks per user:"))
        #expect(table.contains("mSPRT (Johari et al. 2022)"))
        #expect(table.split(separator: "\n").filter { $0.hasPrefix("2026-12-01") }.count == 2)
    }
}

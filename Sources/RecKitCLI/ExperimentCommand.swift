import ArgumentParser
import Foundation
import RecEval
import RecServer
import RecStore

/// `reckit experiment report NAME --db URL`: an online experiment's results from the store that
/// its servers write impressions to (issue 47).
struct ExperimentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiment", abstract: "Read the results of online A/B experiments.",
        subcommands: [Report.self])

    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print an experiment's per-arm figures, the always-valid test and the figures per day.",
            discussion:
                "The experiment is read from the store, where every `reckit serve --config` that declares it records it; clicks are attributed from the store's impressions and feedback as the server's /api/experiments/NAME does. With --html, a report with per-day plots is written too."
        )

        @Argument(help: "The experiment's name ([[experiments]] name in the flow's file).")
        var name: String
        @Option(
            name: .long,
            help: ArgumentHelp(
                "Event store the servers write to: a SQLite file or a postgres:// URL.", valueName: "path-or-url"))
        var db: String
        @Option(
            name: .long, help: ArgumentHelp("Also write an HTML report with per-day plots here.", valueName: "file"))
        var html: String?

        func run() async throws {
            try await runReporting {
                let store = try await EventStores.open(db)
                let records = try await ExperimentResults.storedRecords(store)
                guard let record = records.first(where: { $0.experiment.name == name }) else {
                    let known = records.map(\.experiment.name)
                    throw ValidationError(
                        "\(db) records no experiment \(name)"
                            + (known.isEmpty
                                ? "; start `reckit serve --config` with it first"
                                : "; it records: \(known.joined(separator: ", "))"))
                }
                let report = try await ExperimentResults.report(record, store: store)
                await store.close()
                print(Self.table(report))
                if let html {
                    try ReportHTML.render(report).write(toFile: html, atomically: true, encoding: .utf8)
                    print("wrote \(html)")
                }
            }
        }

        /// The arms' figures, the difference, and the days.
        static func table(_ report: ExperimentReport) -> String {
            func figure(_ estimate: Estimate) -> String {
                String(format: "%.4f [%.4f, %.4f]", estimate.value, estimate.lower, estimate.upper)
            }
            let stop = report.stop.map { StoreTimestamp.text(unixSeconds: $0.timeIntervalSince1970) } ?? "open"
            var lines = [
                "experiment \(report.name): \(StoreTimestamp.text(unixSeconds: report.start.timeIntervalSince1970)) to \(stop), \(report.running ? "running" : "not running")",
                "",
                "arm              share    users  impressions   clicks  CTR [95%]                  conversions/user [95%]     online NDCG [95%]",
            ]
            for arm in report.arms {
                let m = arm.metrics
                lines.append(
                    arm.name.padding(toLength: 16, withPad: " ", startingAt: 0)
                        + String(format: " %5.2f %8d %12d %8d  ", arm.share, m.users, m.impressions, m.clicks)
                        + [figure(m.ctr), figure(m.conversionsPerUser), figure(m.ndcg)].map {
                            $0.padding(toLength: 27, withPad: " ", startingAt: 0)
                        }.joined())
            }
            lines.append("")
            if let difference = report.difference, report.arms.count >= 2 {
                lines.append(
                    "\(report.arms[1].name) - \(report.arms[0].name), clicks per user: "
                        + String(
                            format: "%.4f, always-valid 95%% interval [%.4f, %.4f], p = %.4g", difference.estimate,
                            difference.low, difference.high, difference.pValue) + " (\(ExperimentReport.method))")
            } else {
                lines.append("difference: not yet (each arm needs two users with some variance)")
            }
            lines.append("")
            lines.append("day          arm                 users  impressions   clicks")
            for day in report.daily {
                lines.append(
                    "\(day.day)   \(day.arm.padding(toLength: 16, withPad: " ", startingAt: 0))"
                        + String(format: " %8d %12d %8d", day.users, day.impressions, day.clicks))
            }
            return lines.joined(separator: "\n")
        }
    }
}

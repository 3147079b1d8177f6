import Foundation

/// An online experiment's report (`reckit experiment report NAME --html FILE`, issue 47): the
/// arms' figures with their 95% intervals, the always-valid test, and per-day plots.
extension ReportHTML {
    public static func render(_ report: ExperimentReport) -> String {
        let days = Array(Set(report.daily.map(\.day))).sorted()
        func series(_ value: (ExperimentReport.Day) -> Double) -> [(String, [(Double, Double)])] {
            report.arms.map { arm in
                (
                    arm.name,
                    days.enumerated().compactMap { index, day in
                        report.daily.first { $0.day == day && $0.arm == arm.name }.map {
                            (Double(index + 1), value($0))
                        }
                    }
                )
            }
        }
        let xLabel = days.first.map { "day, 1 = \($0)" } ?? "day"
        let charts = [
            section("Users per day", lineChart(series: series { Double($0.users) }, xLabel: xLabel, yLabel: "users")),
            section(
                "Impressions per day",
                lineChart(series: series { Double($0.impressions) }, xLabel: xLabel, yLabel: "impressions")),
            section(
                "Click-through rate per day (clicks / impressions)",
                lineChart(
                    series: series { $0.impressions > 0 ? Double($0.clicks) / Double($0.impressions) : 0 },
                    xLabel: xLabel, yLabel: "CTR")),
        ]
        let stop = report.stop.map { "\($0)" } ?? "open"
        var body = """
            <p>From \(escape("\(report.start)")) to \(escape(stop)); \(report.running ? "running" : "not running"). \
            Intervals are 95% over users (the delta method for the ratios); the difference is tested with the \
            \(escape(ExperimentReport.method)), looked at the end of every day.</p>
            <table><tr><th>arm</th><th>share</th><th>users</th><th>impressions</th><th>clicks</th>\
            <th>CTR [95%]</th><th>conversions per user [95%]</th><th>online NDCG [95%]</th></tr>

            """
        for arm in report.arms {
            let m = arm.metrics
            let cells = [
                String(format: "%.2f", arm.share), "\(m.users)", "\(m.impressions)", "\(m.clicks)", interval(m.ctr),
                interval(m.conversionsPerUser), interval(m.ndcg),
            ].map { "<td class=\"n\">\($0)</td>" }.joined()
            body += "<tr><td>\(escape(arm.name))</td>\(cells)</tr>\n"
        }
        body += "</table>\n"
        if let difference = report.difference, report.arms.count >= 2 {
            body +=
                "<p><b>\(escape(report.arms[1].name)) − \(escape(report.arms[0].name))</b>, clicks per user: "
                + String(
                    format: "%.4f, always-valid 95%% interval [%.4f, %.4f], p = %.4g</p>", difference.estimate,
                    difference.low, difference.high, difference.pValue)
        } else {
            body += "<p>No test yet: each arm needs two users with some variance.</p>"
        }
        return page(title: "RecKit experiment — \(report.name)", charts: charts, body: body)
    }

    static func interval(_ estimate: Estimate) -> String {
        String(format: "%.4f [%.4f, %.4f]", estimate.value, estimate.lower, estimate.upper)
    }
}

import Foundation

/// A comparison as one self-contained HTML file: inline CSS and SVG charts, no network, no
/// scripts needed to read it. A small inline script marks each chart that laid out with a
/// non-empty box (`data-rendered` on `<body>`), which the browser test reads.
public enum ReportHTML {
    static let palette = [
        "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
        "#bcbd22", "#17becf",
    ]

    public static func render(_ report: ComparisonReport) -> String {
        let entries = report.entries
        var charts: [String] = []
        charts.append(
            section(
                "Accuracy at 10",
                barChart(
                    groups: ["ndcg@10", "recall@10", "hit@10", "mrr@10"],
                    series: entries.map { entry in
                        (entry.model, ["ndcg@10", "recall@10", "hit@10", "mrr@10"].map { entry.metrics[$0] ?? 0 })
                    })))
        charts.append(
            section(
                "Recall@K, K = 1…\(report.maxK)",
                lineChart(
                    series: entries.map { entry in
                        (entry.model, (1...report.maxK).map { (Double($0), entry.metrics["recall@\($0)"] ?? 0) })
                    }, xLabel: "K", yLabel: "Recall@K")))
        charts.append(
            section(
                "Where the top-10 lists fall in the popularity ranking (decile 1 = most popular tenth of the catalogue)",
                barChart(
                    groups: (1...10).map { "decile \($0)" },
                    series: [("training interactions", report.interactionsByDecile)]
                        + entries.map { ($0.model, $0.recommendedByDecile) })))
        let curves = entries.filter { !$0.epochs.isEmpty }
        if !curves.isEmpty {
            charts.append(
                section(
                    "Training curves: validation NDCG@10 per epoch",
                    lineChart(
                        series: curves.map { entry in
                            (entry.model, entry.epochs.map { (Double($0.epoch), $0.validation["ndcg@10"] ?? 0) })
                        }, xLabel: "epoch", yLabel: "NDCG@10")))
            charts.append(
                section(
                    "Training curves: loss per epoch",
                    lineChart(
                        series: curves.map { entry in (entry.model, entry.epochs.map { (Double($0.epoch), $0.loss) }) },
                        xLabel: "epoch", yLabel: "loss")))
        }
        let table = figuresTable(report)
        let cards = entries.map(card).joined(separator: "\n")
        let summary = """
            <p>Seed \(report.seed); \(report.users) users, \(report.items) items, \(report.interactions) interactions; \
            \(report.evaluatedUsers) users evaluated with full ranking. RecKit \(escape(report.reckitVersion)), \(escape(report.date)).</p>
            \(table)
            """
        return page(
            title: "RecKit comparison — \(report.dataset) \(report.splitProtocol)",
            heading:
                "RecKit comparison: \(escape(report.dataset)), protocol <code>\(escape(report.splitProtocol))</code>",
            charts: charts, body: summary, footer: "<h2>Model cards</h2>\n\(cards)")
    }

    /// A tuning run: validation NDCG@10 per trial (and the best so far), and the trials' settings.
    public static func render(_ result: TuningResult) -> String {
        let objective = result.objective
        let values = result.trials.map { (Double($0.trial), $0.metrics[objective] ?? 0) }
        var best = -Double.infinity
        let bestSoFar = values.map { point -> (Double, Double) in
            best = max(best, point.1)
            return (point.0, best)
        }
        let chart = section(
            "Tuning trials: validation \(objective) (trial 0 = defaults)",
            lineChart(series: [("trial", values), ("best so far", bestSoFar)], xLabel: "trial", yLabel: objective))
        let keys = Set(result.trials.flatMap { $0.parameters.keys }).sorted()
        let rows = result.trials.map { trial in
            "<tr><td class=\"n\">\(trial.trial)</td>"
                + keys.map { "<td class=\"n\">\(escape(trial.parameters[$0] ?? "default"))</td>" }.joined()
                + "<td class=\"n\">\(f4(trial.metrics[objective]))</td><td class=\"n\">\(String(format: "%.1f", trial.seconds))</td></tr>"
        }.joined(separator: "\n")
        let table =
            "<table><tr><th>trial</th>" + keys.map { "<th>\(escape($0))</th>" }.joined()
            + "<th>validation \(escape(objective))</th><th>seconds</th></tr>\n\(rows)</table>"
        let summary = """
            <p>Best: trial \(result.best.trial), validation \(f4(result.best.metrics[objective])) against \
            \(f4(result.defaults.metrics[objective])) for the defaults. Test (once each): best \
            \(f4(result.bestTest["ndcg@10"])) NDCG@10, defaults \(f4(result.defaultTest["ndcg@10"])).</p>
            """
        return page(title: "RecKit tuning: \(result.model)", charts: [chart], body: summary + table)
    }

    /// A feature selection: contribution per group (bars) and the forward path.
    public static func render(_ result: FeatureSelectionResult) -> String {
        let groups = result.ablation.map(\.group.description)
        let chart = section(
            "Contribution of each feature group (validation \(result.objective) with all groups − without it)",
            barChart(groups: groups, series: [("contribution", result.ablation.map { max(0, $0.contribution) })]))
        let forward =
            result.forward.isEmpty
            ? ""
            : section(
                "Greedy forward selection",
                lineChart(
                    series: [
                        (
                            "forward",
                            [(0, result.withNone)]
                                + result.forward.enumerated().map { (Double($0.offset + 1), $0.element.objective) }
                        )
                    ], xLabel: "groups added", yLabel: result.objective))
        let rows = result.ablation.map {
            "<tr><td>\(escape($0.group.description))</td><td class=\"n\">\(f4($0.without))</td><td class=\"n\">\(String(format: "%+.4f", $0.contribution))</td></tr>"
        }.joined(separator: "\n")
        let body = """
            <p>\(escape(result.model)): all groups \(f4(result.withAll)), none \(f4(result.withNone)). \
            Forward path: \(result.forward.map { escape($0.added.description) }.joined(separator: " → ")).</p>
            <table><tr><th>group (most useful first)</th><th>without it</th><th>contribution</th></tr>
            \(rows)</table>
            """
        return page(
            title: "RecKit feature selection: \(result.model)", charts: [chart] + (forward.isEmpty ? [] : [forward]),
            body: body)
    }

    /// One self-contained page: the shared style, `body`, the chart sections, `footer`, and the
    /// inline script that marks how many charts laid out (`data-rendered`, read by the tests).
    /// `heading` is HTML; it defaults to the escaped title.
    static func page(title: String, heading: String? = nil, charts: [String], body: String, footer: String = "")
        -> String
    {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
        <style>
        body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
        table { border-collapse: collapse; margin: 1em 0; } td, th { padding: 3px 8px; border-bottom: 1px solid #ddd; }
        td.n { text-align: right; font-variant-numeric: tabular-nums; } h2 { margin-top: 1.6em; }
        .card { display: inline-block; vertical-align: top; border: 1px solid #ccc; border-radius: 6px;
                padding: 6px 12px; margin: 4px; font-size: 12px; }
        svg text { font: 11px system-ui, sans-serif; }
        </style></head>
        <body data-charts="\(charts.count)">
        <h1>\(heading ?? escape(title))</h1>
        \(body)
        \(charts.joined(separator: "\n"))
        \(footer)
        <script>
        const ok = [...document.querySelectorAll("svg.chart")].filter(s => {
          const b = s.getBBox(); return b.width > 0 && b.height > 0 && s.querySelectorAll("path,rect,circle").length > 0;
        }).length;
        document.body.setAttribute("data-rendered", String(ok));
        </script>
        </body></html>

        """
    }

    static func section(_ title: String, _ svg: String) -> String { "<h2>\(escape(title))</h2>\n\(svg)" }

    static func figuresTable(_ report: ComparisonReport) -> String {
        let header = [
            "model", "NDCG@10", "Recall@10", "HR@10", "NDCG@20", "Recall@20", "coverage@10", "Gini@10", "mean pop@10",
            "train s", "p50 ms", "p99 ms", "size MiB", "peak MiB",
        ]
        var rows = ""
        for entry in report.entries {
            let m = entry.metrics
            let cells = [
                f4(m["ndcg@10"]), f4(m["recall@10"]), f4(m["hit@10"]), f4(m["ndcg@20"]), f4(m["recall@20"]),
                f4(m["coverage@10"]), f4(m["gini@10"]), String(format: "%.1f", m["avgpop@10"] ?? 0),
                String(format: "%.2f", entry.trainingSeconds), String(format: "%.3f", entry.latencyP50),
                String(format: "%.3f", entry.latencyP99), String(format: "%.2f", Double(entry.sizeBytes) / 1_048_576),
                String(format: "%.0f", Double(entry.peakMemoryBytes) / 1_048_576),
            ]
            rows +=
                "<tr><td>\(escape(entry.model))</td>" + cells.map { "<td class=\"n\">\($0)</td>" }.joined() + "</tr>\n"
        }
        return "<table><tr>" + header.map { "<th>\($0)</th>" }.joined() + "</tr>\n" + rows + "</table>"
    }

    static func card(_ entry: ComparisonEntry) -> String {
        let parameters = entry.parameters.sorted { $0.key < $1.key }
            .map { "\(escape($0.key)) = \(escape($0.value))" }.joined(separator: "<br>")
        let stopped = entry.epochs.isEmpty ? "" : "<br>epochs run: \(entry.epochs.count)"
        return "<div class=\"card\"><b>\(escape(entry.model))</b><br>\(parameters)\(stopped)</div>"
    }

    static func f4(_ value: Double?) -> String { String(format: "%.4f", value ?? 0) }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    // MARK: Charts

    static let (width, height, left, right, top, bottom) = (760.0, 300.0, 56.0, 150.0, 12.0, 40.0)

    static func frame(_ body: String, yMax: Double, xLabels: [(Double, String)], yLabel: String) -> String {
        let plotHeight = height - top - bottom
        var svg =
            "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\">\n"
        for tick in 0...4 {
            let value = yMax * Double(tick) / 4
            let y = top + plotHeight * (1 - Double(tick) / 4)
            svg += "<line x1=\"\(left)\" x2=\"\(width - right)\" y1=\"\(y)\" y2=\"\(y)\" stroke=\"#eee\"/>"
            svg +=
                "<text x=\"\(left - 4)\" y=\"\(y + 4)\" text-anchor=\"end\">\(String(format: "%.3g", value))</text>\n"
        }
        for (x, label) in xLabels {
            svg += "<text x=\"\(x)\" y=\"\(height - bottom + 14)\" text-anchor=\"middle\">\(escape(label))</text>"
        }
        svg +=
            "<text x=\"12\" y=\"\(top + plotHeight / 2)\" transform=\"rotate(-90 12 \(top + plotHeight / 2))\" text-anchor=\"middle\">\(escape(yLabel))</text>\n"
        svg += "<path d=\"M\(left) \(top) V\(height - bottom) H\(width - right)\" stroke=\"#555\" fill=\"none\"/>\n"
        return svg + body + "</svg>"
    }

    static func legend(_ names: [String]) -> String {
        names.enumerated().map { index, name in
            let y = top + 14 * Double(index) + 6
            return
                "<rect x=\"\(width - right + 10)\" y=\"\(y - 8)\" width=\"10\" height=\"10\" fill=\"\(palette[index % palette.count])\"/>"
                + "<text x=\"\(width - right + 24)\" y=\"\(y + 1)\">\(escape(name))</text>"
        }.joined(separator: "\n")
    }

    static func niceMax(_ value: Double) -> Double {
        guard value > 0, value.isFinite else { return 1 }
        let magnitude = pow(10, floor(log10(value)))
        for step in [1.0, 2.0, 2.5, 5.0, 10.0] where step * magnitude >= value { return step * magnitude }
        return 10 * magnitude
    }

    /// One line per series over a shared x axis.
    static func lineChart(series: [(String, [(Double, Double)])], xLabel: String, yLabel: String) -> String {
        let points = series.flatMap(\.1)
        let xMin = points.map(\.0).min() ?? 0
        let xMax = max(points.map(\.0).max() ?? 1, xMin + 1)
        let yMax = niceMax(points.map(\.1).filter(\.isFinite).max() ?? 1)
        let plotWidth = width - left - right
        let plotHeight = height - top - bottom
        func px(_ x: Double) -> Double { left + (x - xMin) / (xMax - xMin) * plotWidth }
        func py(_ y: Double) -> Double { top + plotHeight * (1 - min(max(y.isFinite ? y : 0, 0), yMax) / yMax) }
        var body = ""
        for (index, (_, values)) in series.enumerated() where !values.isEmpty {
            let path = values.enumerated().map { i, p in "\(i == 0 ? "M" : "L")\(px(p.0)) \(py(p.1))" }.joined(
                separator: " ")
            body +=
                "<path d=\"\(path)\" stroke=\"\(palette[index % palette.count])\" stroke-width=\"2\" fill=\"none\"/>\n"
            if values.count == 1, let only = values.first {
                body +=
                    "<circle cx=\"\(px(only.0))\" cy=\"\(py(only.1))\" r=\"3\" fill=\"\(palette[index % palette.count])\"/>"
            }
        }
        let span = xMax - xMin
        let tickValues =
            span <= 8 ? Array(stride(from: xMin, through: xMax, by: 1)) : (0...4).map { xMin + span * Double($0) / 4 }
        let ticks = tickValues.map { (px($0), String(format: "%.0f", $0)) }
        return frame(
            body + legend(series.map(\.0)), yMax: yMax, xLabels: ticks + [(left + plotWidth / 2, "")],
            yLabel: "\(yLabel) (x: \(xLabel))")
    }

    /// Grouped bars: one group per label, one bar per series.
    static func barChart(groups: [String], series: [(String, [Double])]) -> String {
        let yMax = niceMax(series.flatMap(\.1).filter(\.isFinite).max() ?? 1)
        let plotWidth = width - left - right
        let plotHeight = height - top - bottom
        let groupWidth = plotWidth / Double(max(1, groups.count))
        let barWidth = groupWidth * 0.8 / Double(max(1, series.count))
        var body = ""
        for (s, (_, values)) in series.enumerated() {
            for (g, value) in values.enumerated() where g < groups.count {
                let clamped = min(max(value.isFinite ? value : 0, 0), yMax)
                let h = plotHeight * clamped / yMax
                let x = left + groupWidth * Double(g) + groupWidth * 0.1 + barWidth * Double(s)
                body +=
                    "<rect x=\"\(x)\" y=\"\(top + plotHeight - h)\" width=\"\(barWidth)\" height=\"\(h)\" fill=\"\(palette[s % palette.count])\"><title>\(escape(series[s].0)) \(escape(groups[g])): \(String(format: "%.4f", value))</title></rect>\n"
            }
        }
        let labels = groups.enumerated().map { (left + groupWidth * (Double($0.offset) + 0.5), $0.element) }
        return frame(body + legend(series.map(\.0)), yMax: yMax, xLabels: labels, yLabel: "")
    }
}

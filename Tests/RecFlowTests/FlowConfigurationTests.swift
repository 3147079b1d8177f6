import Foundation
import RecData
import RecModels
import Testing
import _RecTestSupport

@testable import RecFlow

/// `reckit config check` (issue 45): the examples are valid, and bad files are refused with the
/// line and key of every problem.
struct FlowConfigurationTests {
    let folder = temporaryDirectory("flow-config")

    /// A model directory (`model.json`) at `path` under `folder`, as `reckit train --out` leaves.
    func makeModel(_ path: String) throws {
        if path.hasSuffix("ranker") {
            try Self.ranker().save(to: folder.appendingPathComponent(path))
            return
        }
        let (log, _) = Fixtures.checkerboard()
        let bundle = try ModelBundle.train(.popularity, dataset: Dataset(name: "board", interactions: log)) {
            TrainingRecord(
                dataset: "board", interactions: log.count, users: log.userCount, items: log.itemCount, seconds: $0)
        }
        try bundle.save(to: folder.appendingPathComponent(path))
    }

    /// A factorization machine fitted on the checkerboard's ratings.
    static func ranker() throws -> CTRRanker {
        let dataset = try CTRDataset(name: "board", log: Fixtures.ratedCheckerboard())
        return try CTRRanker.fit(
            kind: .fm, parameters: ["epochs": "2", "batch_size": "64"], dataset: dataset,
            split: dataset.split(.random, seed: 1))
    }

    func parse(_ text: String) throws -> FlowConfiguration {
        try FlowConfiguration.parse(text, file: "flow.toml", directory: folder)
    }

    /// The problems of `text`, as (line, key) pairs.
    func problems(_ text: String) -> [ConfigurationError] {
        do {
            _ = try parse(text)
            return []
        } catch let errors as ConfigurationErrors {
            return errors.errors
        } catch {
            return [ConfigurationError(line: nil, key: "?", reason: "\(error)")]
        }
    }

    @Test func theExamplesAreValidOnceTheirModelsExist() throws {
        let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../../examples")
        let files = try FileManager.default.contentsOfDirectory(atPath: examples.path).filter { $0.hasSuffix(".toml") }
        #expect(files.count >= 3)
        for file in files {
            let text = try String(contentsOf: examples.appendingPathComponent(file), encoding: .utf8)
            // Before training, each missing model directory is the only problem.
            let before = problems(text)
            #expect(
                before.allSatisfy { $0.key.hasSuffix(".path") && $0.reason.contains("holds no model") }, "\(before)")
            for problem in before {
                let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
                let path = try #require(lines[(problem.line ?? 1) - 1].split(separator: "\"").dropFirst().first)
                try makeModel(String(path))
            }
            let flow = try parse(text)
            #expect(!flow.sources.isEmpty, "\(file)")
        }
        let shop = try parse(String(contentsOf: examples.appendingPathComponent("shop.toml"), encoding: .utf8))
        #expect(shop.replacement == ReplacementConfiguration())
        #expect(shop.sources.map(\.kind) == [.repeatPurchase, .model, .popular, .external])
        #expect(shop.sources[2].window == 30 * 86_400 && shop.sources[2].perCategory)
        #expect(shop.sources[3].timeout == 0.15)
        #expect(shop.ranker.merge == .roundRobin && shop.ranker.quotas["buy_again"] == 4)
        #expect(shop.rules.map(\.kind) == [.categoryCap, .hideLabel] && shop.rules[0].maximum == 3)
    }

    @Test(
        arguments: [
            // 1. TOML syntax.
            ("[recommend\nx = 1", 1, "(syntax)"),
            // 2. An unknown section.
            ("[servr]\nport = 1", 1, "servr"),
            // 3. An unknown key in a section.
            ("[server]\nhots = \"a\"", 2, "server.hots"),
            // 4. A wrong type.
            ("[server]\nport = \"8087\"", 2, "server.port"),
            // 5. A number out of range.
            ("[server]\nport = 70000", 2, "server.port"),
            // 6. No sources at all.
            ("[server]\nport = 8087", nil, "recommend.sources"),
            // 7. An unknown source type.
            ("[[recommend.sources]]\nname = \"a\"\ntype = \"magic\"", 3, "recommend.sources[0].type"),
            // 8. A source without a name.
            ("[[recommend.sources]]\ntype = \"latest\"", 1, "recommend.sources[0]"),
            // 9. Two sources with one name.
            (
                "[[recommend.sources]]\nname = \"a\"\ntype = \"latest\"\n[[recommend.sources]]\nname = \"a\"\ntype = \"popular\"",
                5, "recommend.sources[1].name"
            ),
            // 10. A reference to a model source that does not exist.
            (
                "[[recommend.sources]]\nname = \"n\"\ntype = \"item_to_item\"\nmodel = \"als\"", 4,
                "recommend.sources[0].model"
            ),
            // 11. A model directory that holds no model.
            (
                "[[recommend.sources]]\nname = \"m\"\ntype = \"model\"\npath = \"nowhere\"", 4,
                "recommend.sources[0].path"
            ),
            // 12. A duration that is not one.
            (
                "[[recommend.sources]]\nname = \"p\"\ntype = \"popular\"\nwindow = \"a week\"", 4,
                "recommend.sources[0].window"
            ),
            // 13. Ranker weights naming an unknown source.
            (
                "[[recommend.sources]]\nname = \"p\"\ntype = \"popular\"\n[recommend.ranker]\nweights = { q = 1.0 }", 5,
                "recommend.ranker.weights.q"
            ),
            // 14. A decay out of range.
            (
                "[recommend.replacement]\nenable_replacement = true\npositive_replacement_decay = 1.5\n[[recommend.sources]]\nname = \"p\"\ntype = \"popular\"",
                3, "recommend.replacement.positive_replacement_decay"
            ),
            // 15. An external source with a URL that is not http.
            (
                "[[recommend.sources]]\nname = \"x\"\ntype = \"external\"\nurl = \"ftp://host/items\"", 4,
                "recommend.sources[0].url"
            ),
            // 16. An unknown rule, after a good one.
            (
                "[[recommend.sources]]\nname = \"p\"\ntype = \"popular\"\n[[recommend.rules]]\ntype = \"category_cap\"\n[[recommend.rules]]\ntype = \"shuffle\"",
                7, "recommend.rules[1].type"
            ),
            // 17. An experiment whose arms' shares do not sum to 1 (issue 47).
            (
                Self.popular
                    + "[[experiments]]\nname = \"e\"\nstart = \"2026-12-01T00:00:00Z\"\n[[experiments.arms]]\nname = \"a\"\nshare = 0.5\n[[experiments.arms]]\nname = \"b\"\nshare = 0.4",
                7, "experiments[0].arms"
            ),
            // 18. A start that is not an RFC 3339 time.
            (
                Self.popular
                    + "[[experiments]]\nname = \"e\"\nstart = \"tomorrow\"\n[[experiments.arms]]\nname = \"a\"\nshare = 1",
                6, "experiments[0].start"
            ),
            // 19. An arm whose model directory holds no model, in the second experiment.
            (
                Self.popular + Self.experiment("e", stop: "2026-12-08T00:00:00Z")
                    + "[[experiments]]\nname = \"f\"\nstart = \"2026-12-09T00:00:00Z\"\n[[experiments.arms]]\nname = \"a\"\nshare = 0.5\n[[experiments.arms]]\nname = \"b\"\nshare = 0.5\nmodel = \"nowhere\"",
                23, "experiments[1].arms[1].model"
            ),
            // 20. Two experiments running at once.
            (Self.popular + Self.experiment("e") + Self.experiment("f"), 16, "experiments[1].start"),
            // 21. An attribution window that is not a duration.
            (
                Self.popular + "[impressions]\nattribution_window = \"soon\"\n", 5, "impressions.attribution_window"
            ),
        ] as [(String, Int?, String)])
    func aBadFileIsRefusedWithTheLineAndKey(text: String, line: Int?, key: String) {
        let found = problems(text)
        #expect(found.contains { $0.line == line && $0.key == key }, "\(found)")
    }

    static let popular = "[[recommend.sources]]\nname = \"p\"\ntype = \"popular\"\n"

    /// An experiment of two arms (the main flow and a model) from 2026-12-01, 10 lines.
    static func experiment(_ name: String, stop: String? = nil) -> String {
        """
        [[experiments]]
        name = "\(name)"
        start = "2026-12-01T00:00:00Z"
        \(stop.map { "stop = \"\($0)\"" } ?? "window = \"30m\"")
        [[experiments.arms]]
        name = "a"
        share = 0.5
        [[experiments.arms]]
        name = "b"
        share = 0.5

        """
    }

    @Test func experimentsAreReadWithTheirArmsWindowsAndImpressionSettings() throws {
        try makeModel("models/pop")
        try Self.popular.write(to: folder.appendingPathComponent("other.toml"), atomically: true, encoding: .utf8)
        let text = """
            [recommend.data_source]
            positive_feedback_types = ["click", "buy"]

            [[recommend.sources]]
            name = "p"
            type = "popular"

            [impressions]
            record = "always"
            attribution_window = "2h"
            retention = "30d"
            conversion_types = ["buy"]

            [[experiments]]
            name = "flows"
            salt = "s1"
            start = "2026-12-01T00:00:00Z"
            stop = "2026-12-15T00:00:00Z"
            tau = 0.1
            [[experiments.arms]]
            name = "control"
            share = 0.25
            [[experiments.arms]]
            name = "other"
            share = 0.25
            config = "other.toml"
            [[experiments.arms]]
            name = "pop"
            share = 0.5
            model = "models/pop"
            """
        let flow = try parse(text)
        let experiment = try #require(flow.experiments.first)
        #expect(experiment.name == "flows" && experiment.definition.salt == "s1" && experiment.tau == 0.1)
        #expect(experiment.window == nil)
        #expect(experiment.definition.start == Date(timeIntervalSince1970: 1_796_083_200))
        #expect(experiment.definition.stop == Date(timeIntervalSince1970: 1_796_083_200 + 14 * 86_400))
        #expect(experiment.arms.map(\.name) == ["control", "other", "pop"])
        #expect(experiment.arms.map(\.isMainFlow) == [true, false, false])
        #expect(experiment.arms[1].config == "other.toml" && experiment.arms[2].model == "models/pop")
        #expect(flow.impressions.recordAlways && flow.impressions.attributionWindow == 7_200)
        #expect(flow.impressions.retention == 30 * 86_400 && flow.impressions.conversionTypes == ["buy"])
        #expect(flow.runningExperiment(at: Date(timeIntervalSince1970: 1_796_083_200 + 86_400))?.name == "flows")
        #expect(flow.runningExperiment(at: Date(timeIntervalSince1970: 1_796_083_199)) == nil)
        let one = flow.oneModelFlow(name: "pop", model: "models/pop")
        #expect(one.sources.map(\.kind) == [.model] && one.positiveFeedbackTypes == ["click", "buy"])
        // An arm's file may not hold experiments of its own.
        try (Self.popular + Self.experiment("inner")).write(
            to: folder.appendingPathComponent("other.toml"), atomically: true, encoding: .utf8)
        #expect(problems(text).map(\.key) == ["experiments[0].arms[1].config"])
    }

    @Test func everyProblemIsReportedNotOnlyTheFirst() {
        let text = """
            [server]
            port = 0
            color = "blue"

            [[recommend.sources]]
            name = "p"
            type = "popular"
            candidates = -1
            """
        let found = problems(text)
        #expect(found.map(\.key) == ["server.port", "server.color", "recommend.sources[0].candidates"])
        #expect(found.map(\.line) == [2, 3, 8])
        let described = ConfigurationErrors(file: "flow.toml", errors: found).description
        #expect(described.hasPrefix("flow.toml:line 2: server.port: 0 is outside 1...65535"))
    }
}

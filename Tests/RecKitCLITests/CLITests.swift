import ArgumentParser
import Foundation
import RecData
import RecEval
import RecModels
import Tensors
import Testing
import _RecTestSupport

@testable import RecKitCLI

struct CLITests {
    /// Runs a parsed command, awaiting it when it is asynchronous (`train`, `serve`, `db import`).
    static func run(_ command: any ParsableCommand) async throws {
        if var asynchronous = command as? any AsyncParsableCommand {
            try await asynchronous.run()
        } else {
            var synchronous = command
            try synchronous.run()
        }
    }

    /// A small data folder in RecBole's atomic format: the checkerboard, with scrambled
    /// timestamps so that every user's held-out items are items the others train on.
    func fixtureFolder() -> URL {
        let folder = temporaryDirectory("cli")
        let (log, _) = Fixtures.checkerboard(groups: 3, size: 8)
        var text = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
        for index in 0..<log.count {
            text +=
                "\(log.userIDs[log.users[index]])\t\(log.itemIDs[log.items[index]])\t\(3 + index % 3)\t\(index * 7919 % log.count)\n"
        }
        writeFile(folder, "board.inter", text)
        writeFile(
            folder, "board.item",
            "item_id:token\ttitle:token\n"
                + log.itemIDs.externalIDs.map { "\($0)\tMovie \($0)" }.joined(separator: "\n") + "\n")
        return folder
    }

    @Test func evaluateParsesIntoAConfiguration() throws {
        let command = try RecKitCommand.parseAsRoot([
            "evaluate", "--data", "x", "--model", "ease", "--param", "lambda=10", "--protocol", "seq-loo", "--k",
            "5,10",
            "--seed", "7", "--min-rating", "4", "--k-core", "2",
        ])
        let evaluate = try #require(command as? EvaluateCommand)
        let config = try evaluate.configuration()
        #expect(config.model == .ease)
        #expect(config.parameters == ["lambda": "10"])
        #expect(config.splitProtocol == .sequentialLeaveOneOut)
        #expect(config.evaluation.ks == [5, 10])
        #expect(config.seed == 7)
        #expect(config.preprocessing == Preprocessing(minimumRating: 4, userCore: 2, itemCore: 2))
        let recbole = try RecKitCommand.parseAsRoot([
            "evaluate", "--data", "x", "--model", "pop", "--recbole-benchmark", "--float32-timestamps",
        ])
        let recboleConfig = try #require(recbole as? EvaluateCommand).configuration()
        #expect(
            recboleConfig.preprocessing
                == Preprocessing(minimumRating: 3, userCore: 10, itemCore: 10, float32Timestamps: true))
    }

    @Test(arguments: [
        ["evaluate", "--data", "x", "--model", "svd"],
        ["evaluate", "--data", "x", "--model", "ease", "--protocol", "bogus"],
        ["evaluate", "--data", "x", "--model", "ease", "--param", "lambda"],
        ["evaluate", "--data", "x", "--model", "ease", "--k", "0"],
        ["data", "fetch", "ml-50"],
        ["recommend", "--model", "m"],
        ["data", "stats", "--data", "x", "--duplicates", "some"],
    ])
    func badArgumentsFailValidation(arguments: [String]) {
        #expect(throws: (any Error).self) { try RecKitCommand.parseAsRoot(arguments) }
    }

    @Test func trainRecommendAndSimilarRunOnAFolder() async throws {
        let folder = fixtureFolder()
        let modelDirectory = temporaryDirectory("cli-model")
        let train = try RecKitCommand.parseAsRoot([
            "train", "--data", folder.path, "--model", "itemknn", "--out", modelDirectory.path,
        ])
        try await Self.run(train)
        let bundle = try ModelBundle.load(from: modelDirectory)
        #expect(bundle.itemIndex("i0-0").map { bundle.itemTitles[Int($0)] } == "Movie i0-0")
        let recommendations = try bundle.recommendations(user: "u0-0", count: 3)
        #expect(recommendations.first?.itemID == "i0-0")
        #expect(!(recommendations.first?.reasons.isEmpty ?? true))
        var recommend = try RecKitCommand.parseAsRoot(["recommend", "--model", modelDirectory.path, "--user", "u1-2"])
        try recommend.run()
        var similar = try RecKitCommand.parseAsRoot(["similar", "--model", modelDirectory.path, "--item", "Movie i0-0"])
        try similar.run()
        var unknown = try RecKitCommand.parseAsRoot(["recommend", "--model", modelDirectory.path, "--user", "nobody"])
        #expect(throws: ExitCode.failure) { try unknown.run() }
    }

    @Test func aSequenceModelTrainsWithAnEpochLogAndACheckpointAndRecommends() async throws {
        let folder = fixtureFolder()
        let out = temporaryDirectory("cli-seq")
        let log = out.appendingPathComponent("epochs.jsonl")
        let checkpoint = out.appendingPathComponent("run.ckpt")
        let train = try RecKitCommand.parseAsRoot([
            "train", "--data", folder.path, "--model", "gru4rec", "--protocol", "seq-loo", "--param", "epochs=3",
            "--param", "hidden_size=8", "--param", "embedding_size=8", "--epoch-log", log.path, "--checkpoint",
            checkpoint.path, "--out", out.appendingPathComponent("model").path,
        ])
        try await Self.run(train)
        let lines = try String(contentsOf: log, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3)
        let first = try JSONDecoder().decode(EpochRecord.self, from: Data(lines[0].utf8))
        #expect(first.epoch == 1 && first.validation["ndcg@10"] != nil)
        #expect(FileManager.default.fileExists(atPath: checkpoint.path))
        let bundle = try ModelBundle.load(from: out.appendingPathComponent("model"))
        #expect(bundle.epochs.count == 3)
        #expect(try bundle.recommendations(user: "u0-0", count: 3).count == 3)
    }

    @Test func compareWritesATableJSONAndAReportThatChromiumRenders() throws {
        let folder = fixtureFolder()
        let out = temporaryDirectory("cli-compare")
        let html = out.appendingPathComponent("report.html")
        var compare = try RecKitCommand.parseAsRoot([
            "compare", "--data", folder.path, "--models", "pop,itemknn,gru4rec", "--param", "gru4rec.epochs=4",
            "--param", "gru4rec.hidden_size=8", "--param", "itemknn.k=5", "--report", html.path,
        ])
        try compare.run()
        let text = try String(contentsOf: html, encoding: .utf8)
        // Bars, Recall@K, popularity deciles, and two training-curve charts for gru4rec.
        #expect(text.contains("data-charts=\"5\""))
        #expect(!text.contains("http://") || !text.contains("src=\"http"))
        #expect(text.contains("k = 5"))
        let rendered = try Chromium.render(
            html, screenshot: artifactsDirectory().appendingPathComponent("compare-report.png"))
        #expect(rendered.dom.contains("data-rendered=\"5\""), "\(rendered.dom.prefix(300))")
        #expect(rendered.screenshotBytes > 10_000)
    }

    @Test func compareRejectsParametersForModelsItDoesNotRun() {
        #expect(throws: (any Error).self) {
            try RecKitCommand.parseAsRoot(["compare", "--data", "x", "--models", "pop", "--param", "ease.lambda=3"])
        }
    }

    @Test func searchDimensionsParse() throws {
        #expect(try SearchDimension(parsing: "10,50,100") == .choice(["10", "50", "100"]))
        #expect(try SearchDimension(parsing: "1..8") == .interval(low: 1, high: 8, log: false, integer: true))
        #expect(
            try SearchDimension(parsing: "1e-4..1e-2:log")
                == .interval(low: 1e-4, high: 1e-2, log: true, integer: false))
        #expect(try SearchDimension(parsing: "0.5..2log") == .interval(low: 0.5, high: 2, log: true, integer: false))
        #expect(throws: (any Error).self) { try SearchDimension(parsing: "5..1") }
        #expect(throws: (any Error).self) { try SearchDimension(parsing: "0..1:log") }
        var generator = SplitMix64(seed: 3)
        for _ in 0..<200 {
            let value = try #require(
                Double(
                    SearchDimension.interval(low: 1e-4, high: 1e-2, log: true, integer: false)
                        .sample(using: &generator)))
            #expect(value >= 1e-4 && value <= 1e-2)
        }
    }

    @Test func tuningSearchesValidationResumesFromItsLogAndTestsOnce() throws {
        let folder = fixtureFolder()
        let log = temporaryDirectory("tune").appendingPathComponent("trials.jsonl")
        var config = ExperimentConfiguration(data: folder.path)
        config.model = .itemKNN
        let space = ["k": try SearchDimension(parsing: "1,2,3,5,8,13")]
        var first: [TuningTrial] = []
        let short = try Tuner.run(config, space: space, trials: 3, log: log, onTrial: { first.append($0) })
        #expect(first.map(\.trial) == [0, 1, 2])
        #expect(first[0].parameters.isEmpty)
        var second: [TuningTrial] = []
        let long = try Tuner.run(config, space: space, trials: 5, log: log, onTrial: { second.append($0) })
        #expect(second.map(\.trial) == [3, 4])
        #expect(Array(long.trials.prefix(3)) == short.trials)
        let best = try #require(long.trials.map { $0.metrics["ndcg@10"] ?? 0 }.max())
        #expect(long.best.metrics["ndcg@10"] == best)
        #expect(long.bestTest["ndcg@10"] != nil && long.defaultTest["ndcg@10"] != nil)
        #expect(try String(contentsOf: log, encoding: .utf8).split(separator: "\n").count == 5)
        try expectChartsRender(ReportHTML.render(long), named: "tune-report", charts: 1)
    }

    /// Writes `html`, loads it in headless Chromium and checks that every chart laid out.
    func expectChartsRender(_ html: String, named name: String, charts: Int) throws {
        let page = temporaryDirectory(name).appendingPathComponent("\(name).html")
        try Data(html.utf8).write(to: page)
        #expect(html.contains("data-charts=\"\(charts)\""))
        let rendered = try Chromium.render(page, screenshot: artifactsDirectory().appendingPathComponent("\(name).png"))
        #expect(rendered.dom.contains("data-rendered=\"\(charts)\""), "\(name)")
    }

    @Test func featureSelectionRanksEveryGroupAndForwardStepsOnlyImprove() throws {
        let folder = fixtureFolder()
        // A genre that names the item's block (informative) and a column of noise.
        let (log, _) = Fixtures.checkerboard(groups: 3, size: 8)
        writeFile(
            folder, "board.item",
            "item_id:token\tgenre:token\tnoise:token\n"
                + log.itemIDs.externalIDs.enumerated().map { index, id in
                    "\(id)\tG\(id.dropFirst().prefix(1))\tN\(index * 7 % 5)"
                }.joined(separator: "\n") + "\n")
        var config = ExperimentConfiguration(data: folder.path)
        config.model = .hybrid
        config.parameters = ["epochs": "5", "factors": "8"]
        var runs: [String] = []
        let result = try FeatureSelection.run(config, onRun: { label, _ in runs.append(label) })
        #expect(Set(result.ablation.map(\.group.description)) == ["item.genre", "item.noise"])
        #expect(zip(result.ablation, result.ablation.dropFirst()).allSatisfy { $0.contribution >= $1.contribution })
        for effect in result.ablation { #expect(abs(effect.contribution - (result.withAll - effect.without)) < 1e-12) }
        var previous = result.withNone
        for step in result.forward {
            #expect(step.objective > previous)
            previous = step.objective
        }
        #expect(runs.count >= 4)
        try expectChartsRender(
            ReportHTML.render(result), named: "features-report", charts: result.forward.isEmpty ? 1 : 2)
    }

    @Test func similarDescribesANewItemThroughTheContentEncoder() async throws {
        let folder = fixtureFolder()
        let directory = temporaryDirectory("cli-textcnn")
        let train = try RecKitCommand.parseAsRoot([
            "train", "--data", folder.path, "--model", "textcnn", "--param", "factors=8", "--param", "epochs=20",
            "--out", directory.path,
        ])
        try await Self.run(train)
        let bundle = try ModelBundle.load(from: directory)
        let list = try #require(try bundle.similarItems(toFields: ["title": "Movie i1-9"], count: 5))
        #expect(list.count == 5)
        #expect(try bundle.contentScore(fields: ["title": "Movie i1-9"], user: UserID("u1-0")) != nil)
        var similar = try RecKitCommand.parseAsRoot([
            "similar", "--model", directory.path, "--field", "title=Movie i1-9", "--user", "u1-0",
        ])
        try similar.run()
        let knn = temporaryDirectory("cli-knn")
        let trainKNN = try RecKitCommand.parseAsRoot([
            "train", "--data", folder.path, "--model", "itemknn", "--out", knn.path,
        ])
        try await Self.run(trainKNN)
        var refused = try RecKitCommand.parseAsRoot(["similar", "--model", knn.path, "--field", "title=Movie"])
        #expect(throws: ExitCode.failure) { try refused.run() }
    }

    @Test func splitWritesAtomicFilesThatLoadBack() throws {
        let folder = fixtureFolder()
        let out = temporaryDirectory("cli-split")
        var split = try RecKitCommand.parseAsRoot([
            "data", "split", "--data", folder.path, "--protocol", "gen-rs", "--seed", "3", "--out", out.path,
        ])
        try split.run()
        let original = try Dataset.load(path: folder.path).interactions
        var total = 0
        for part in ["train", "valid", "test"] {
            total += try Dataset.load(path: out.appendingPathComponent("board.\(part).inter").path).interactions.count
        }
        #expect(total == original.count)
    }

    @Test func evaluateRunsEndToEndOnTheWithheldItems() throws {
        let folder = fixtureFolder()
        var config = ExperimentConfiguration(data: folder.path)
        config.splitProtocol = .generalRandom
        config.model = .ease
        config.parameters = ["lambda": "0.5"]
        config.evaluation.ks = [2, 10]
        let (record, _, _) = try Experiment.run(config)
        #expect(record.evaluatedUsers == 24)
        // Candidates are the held-out item, the group's withheld item and 16 items of other
        // groups that score about 0: the held-out item lands in the top 2 for nearly everyone
        // (a random split can leave an item with too few training users to score well).
        #expect(record.metrics["hit@2"] ?? 0 >= 0.9)
        #expect(record.peakMemoryBytes > 0)
        var stats = try RecKitCommand.parseAsRoot(["data", "stats", "--data", folder.path, "--json"])
        try stats.run()
    }

    @Test func helpTextMatchesTheSnapshot() throws {
        let help = RecKitCommand.helpMessage(for: EvaluateCommand.self, columns: 100)
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "Snapshots/evaluate-help.txt")
        if ProcessInfo.processInfo.environment["RECKIT_RECORD_SNAPSHOTS"] != nil {
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try help.write(to: url, atomically: true, encoding: .utf8)
        }
        #expect(help == (try String(contentsOf: url, encoding: .utf8)))
    }
}

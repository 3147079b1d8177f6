import ArgumentParser
import Foundation
import RecData
import RecEval
import RecFlow
import RecModels
import RecStore

/// `reckit config evaluate FILE --data D --protocol temporal`: the accuracy of a recommendation
/// flow, through the flow: the protocol's training events go into a new event store, the flow is
/// built over it, and every test user's answer is ranked against their held-out items. With
/// `--each-source`, every source alone (the same machinery, no ranker, no rules) beside it.
struct ConfigEvaluate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Measure a flow's accuracy on a protocol's test users, through the flow, beside each source alone.",
        discussion:
            "Train the flow's models on the same protocol's training part first (`reckit train --protocol temporal`). Windows of popular sources count back from the present, not from the split: leave them out of a flow you evaluate."
    )

    @Argument(help: "The configuration file (TOML).")
    var file: String
    @OptionGroup var data: DataOptions
    @Option(name: .long, help: "Protocol: gen-rs or temporal.")
    var `protocol` = "temporal"
    @Option(name: .long, help: "Seed of the split.")
    var seed: UInt64 = 2020
    @Flag(name: .long, help: "Also evaluate every source alone.")
    var eachSource = false
    @Option(name: .long, help: "Evaluate at most this many test users (the first, in user order). (default: all)")
    var users: Int?

    func run() async throws {
        let configuration = try FlowConfiguration.read(file: file)
        let dataset = try data.load()
        let split = try DataSplit.make(try parseProtocol(`protocol`), log: dataset.interactions, seed: seed)
        var cases = Evaluator.cases(for: split, phase: .test)
        if let users { cases = Array(cases.prefix(users)) }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("reckit-flow-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try SQLiteEventStore(path: folder.appendingPathComponent("train.sqlite").path)
        var training = dataset
        training.interactions = split.trainingLog()
        _ = try await StoreImport.load(training, into: store, feedbackType: "rating")
        var flows: [(String, FlowConfiguration, Set<String>?)] = [("flow", configuration, nil)]
        if eachSource {
            var alone = configuration
            alone.ranker = RankerConfiguration()
            alone.rules = []
            for source in configuration.sources { flows.append(("\(source.name) alone", alone, [source.name])) }
        }
        let directory = URL(fileURLWithPath: file).deletingLastPathComponent()
        print("\(cases.count) test users of \(dataset.name) (\(`protocol`), seed \(seed)); NDCG@10, Recall@10, HR@10")
        for (name, flowConfiguration, proposers) in flows {
            let flow = try Flow.build(flowConfiguration, directory: directory, store: store, proposers: proposers)
            let start = Date()
            let metrics = try await Self.evaluate(flow, cases: cases, log: split.log, store: store)
            let seconds = Date().timeIntervalSince(start)
            print(
                String(
                    format: "%@  %.4f  %.4f  %.4f  (%.1f ms per user)",
                    name.padding(toLength: 28, withPad: " ", startingAt: 0),
                    metrics[2], metrics[0], metrics[4], 1000 * seconds / Double(max(1, cases.count))))
        }
        store.close()
    }

    /// Mean `[recall, precision, ndcg, mrr, hit]` at 10 of the flow's answers: each user's top 10
    /// after their masked items (training and validation items) are taken out.
    static func evaluate(_ flow: Flow, cases: [EvaluationCase], log: InteractionLog, store: any EventStore)
        async throws -> [Double]
    {
        var sums = [Double](repeating: 0, count: Metrics.names.count)
        for evaluation in cases {
            let masked = Set(evaluation.mask.map { log.itemIDs[$0] })
            let user = log.userIDs[evaluation.user]
            let request = try await flow.request(user: user, count: 10 + masked.count, store: store)
            let answer = await flow.recommend(request).items.map(\.itemID).filter { !masked.contains($0) }.prefix(10)
            let position = Dictionary(answer.enumerated().map { ($1, $0 + 1) }) { first, _ in first }
            let ranks = evaluation.targets.map { position[log.itemIDs[$0]] ?? Int.max }
            for (index, value) in Metrics.atK(10, ranks: ranks).enumerated() { sums[index] += value }
        }
        return sums.map { $0 / Double(max(1, cases.count)) }
    }
}

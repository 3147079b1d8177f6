import ArgumentParser
import Foundation
import RecData
import RecEval
import RecFlow
import RecModels

extension BenchCommand {
    /// `reckit bench experiment`: online A/B experiments replayed from MovieLens (issue 47).
    struct ExperimentBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "experiment",
            abstract: "A/B experiments replayed from a data set, tested with an always-valid test (mSPRT).",
            discussion: """
                The data are split by time (the temporal protocol); both arms' models train on the \
                oldest 80%. Each user with events in the newest 10% arrives once, in a seeded \
                order, is assigned an arm by RecKit's salted hash (a new salt per experiment), sees \
                the arm's top 10 without the items already rated, and clicks an item at position p \
                (1 at the top) with probability 1/sqrt(p) when it is among their own newest-10% \
                events; a click on an item they rated 4 or 5 is a conversion. After every --batch \
                users the mSPRT (Johari et al. 2022) compares the arms' clicks per user, beside a \
                fixed-horizon z-test read at every look. The population line projects how many \
                users the mSPRT would need for the arms' true difference under the click model.

                --users beyond the replayed users draws every arrival with replacement from them, \
                as a new user (a fresh id for the hash, fresh clicks): a larger population of \
                users like the replayed ones, whose arms' true difference is the population line's.

                Arms: `--arms ease,pop`, or model:key=value:... as `--arms als:factors=64,als:factors=56`. \
                --aa runs the first arm against itself. With --experiments above 1, the share of \
                experiments that rejected is printed (for --aa, the false-positive share).
                """)

        @Option(name: .long, help: "Data set: ml-100k, ml-1m, or a path.")
        var data: String = "ml-1m"
        @Option(name: .long, help: "The two arms, comma-separated: model or model:key=value:...")
        var arms: String = "ease,pop"
        @Flag(name: .long, help: "A/A: the first arm against itself.")
        var aa = false
        @Option(name: .long, help: "Experiments to run (a new salt, arrival order and clicks each).")
        var experiments: Int = 1
        @Option(name: .long, help: "Seed of the arrivals, the clicks and the salts.")
        var seed: UInt64 = 47
        @Option(name: .long, help: "Users between two looks at the tests.")
        var batch: Int = 50
        @Option(name: .long, help: "The mSPRT's mixing standard deviation, in clicks per user.")
        var tau: Double = ExperimentSimulator.defaultTau
        @Option(name: .long, help: "Significance level.")
        var alpha: Double = 0.05
        @Option(
            name: .long,
            help: ArgumentHelp(
                "Arrivals per experiment; above the replayed users, each arrival is a new user drawn with replacement.",
                valueName: "n"))
        var users: Int?

        func validate() throws {
            guard experiments > 0, batch > 0 else {
                throw ValidationError("--experiments and --batch must be positive")
            }
            guard tau > 0, tau.isFinite else { throw ValidationError("--tau must be positive") }
            guard alpha > 0, alpha < 1 else { throw ValidationError("--alpha must be in (0, 1)") }
            if let users, users < 2 { throw ValidationError("--users must be at least 2") }
            _ = try armModels()
        }

        /// `--arms` as two arm models (the first twice with `--aa`).
        func armModels() throws -> [ExperimentSimulator.ArmModel] {
            let parsed = try arms.split(separator: ",").map { spec -> ExperimentSimulator.ArmModel in
                let parts = spec.split(separator: ":").map(String.init)
                guard let name = parts.first, let kind = ModelKind(rawValue: name) else {
                    throw ValidationError("--arms: unknown model in \(spec)")
                }
                return ExperimentSimulator.ArmModel(
                    kind: kind, parameters: try keyValues(Array(parts.dropFirst()), option: "--arms", form: "key=value")
                )
            }
            if aa, let first = parsed.first { return [first, first] }
            guard parsed.count == 2 else {
                throw ValidationError("--arms needs two arms (or one with --aa), got \(arms)")
            }
            return parsed
        }

        func run() throws {
            try runReporting {
                var configuration = ExperimentConfiguration(data: data)
                configuration.splitProtocol = .temporal
                let prepared = try Experiment.prepare(configuration)
                var options = ExperimentSimulator.Options()
                options.experiments = experiments
                options.seed = seed
                options.batch = batch
                options.test = MixtureSPRT(tau: tau, alpha: alpha)
                options.maximumUsers = users
                let models = try armModels()
                // A salt per experiment: independent assignments, by the hash serving uses.
                let definitions = try (0..<experiments).map { experiment in
                    try OnlineExperiment(
                        name: "bench", salt: "bench-\(seed)-\(experiment)",
                        arms: ["A", "B"].map { OnlineExperiment.Arm(name: $0, share: 0.5) },
                        start: Date(timeIntervalSince1970: 0))
                }
                let report = try ExperimentSimulator.replay(prepared, arms: models, options: options) { experiment in
                    { user in definitions[experiment].arm(for: user).name == "B" ? 1 : 0 }
                }
                print(Self.describe(report))
            }
        }

        static func describe(_ report: ExperimentSimulator.ReplayReport) -> String {
            let summary = report.summary
            let options = summary.options
            var lines = [
                "\(report.dataset), temporal split: \(report.users) replayed users; A = \(report.arms[0].label), "
                    + "B = \(report.arms[1].label) (trained in "
                    + report.trainingSeconds.map { String(format: "%.1f s", $0) }.joined(separator: ", ") + ")",
                String(
                    format: "mSPRT tau %.3g clicks/user, alpha %.3g, a look every %d users; %d experiment%@, seed %llu",
                    options.test.tau, options.test.alpha, options.batch, summary.outcomes.count,
                    summary.outcomes.count == 1 ? "" : "s", options.seed),
            ]
            let p = report.projection
            lines.append(
                String(
                    format: "population (click model, exact): clicks/user A %.4f, B %.4f, B - A %+.4f; %@",
                    p.meanA, p.meanB, p.effect,
                    p.users.map { "the mSPRT would need about \($0) users (half in each arm)" }
                        ?? "no difference for the mSPRT to find"))
            if summary.outcomes.count == 1, let outcome = summary.outcomes.first {
                lines += describe(outcome, alpha: options.test.alpha)
            } else {
                let (share, naive) = (summary.rejectionShare, summary.naiveRejectionShare)
                lines.append(
                    String(
                        format: "always-valid test rejected in %.3f of the experiments (± %.3f binomial s.e.)%@",
                        share, summary.standardError(of: share),
                        summary.medianDetectionUsers.map { ", median \($0) users to rejection" } ?? ""))
                lines.append(
                    String(
                        format: "fixed-horizon z-test looked at every batch rejected in %.3f (± %.3f)", naive,
                        summary.standardError(of: naive)))
            }
            return lines.joined(separator: "\n")
        }

        static func describe(_ outcome: ExperimentSimulator.Outcome, alpha: Double) -> [String] {
            func estimate(_ e: Estimate) -> String { String(format: "%.4f [%.4f, %.4f]", e.value, e.lower, e.upper) }
            var lines = ["arm\tusers\timpressions\tclicks\tCTR [95%]\tconversions/user [95%]\tonline NDCG [95%]"]
            for (name, arm) in zip(["A", "B"], outcome.arms) {
                lines.append(
                    "\(name)\t\(arm.users)\t\(arm.impressions)\t\(arm.clicks)\t\(estimate(arm.ctr))\t"
                        + "\(estimate(arm.conversionsPerUser))\t\(estimate(arm.ndcg))")
            }
            if let difference = outcome.difference, let interval = outcome.interval {
                lines.append(
                    String(
                        format: "B - A clicks/user %+.4f, always-valid %.0f%% interval [%.4f, %.4f], p = %.4g",
                        difference.estimate, 100 * (1 - alpha), interval.lowerBound, interval.upperBound,
                        outcome.pValue))
            }
            let total = outcome.arms.reduce(0) { $0 + $1.users }
            func detection(_ d: ExperimentSimulator.Detection?, _ name: String) -> String {
                guard let d else { return "\(name): did not reject within \(total) users (\(outcome.looks) looks)" }
                return "\(name): rejected after \(d.users) users, \(d.impressions) impressions (look \(d.look))"
            }
            lines.append(detection(outcome.alwaysValid, "always-valid test"))
            lines.append(detection(outcome.naive, "fixed-horizon z-test looked at every batch"))
            return lines
        }
    }
}

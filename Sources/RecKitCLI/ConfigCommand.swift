import ArgumentParser
import Foundation
import RecFlow
import RecStore

/// `reckit config check FILE`: a recommendation flow's configuration, every problem reported.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Check recommendation-flow configuration files and measure their accuracy.",
        subcommands: [Check.self, ConfigEvaluate.self, Publish.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Report every problem of a flow configuration (TOML), each with its line and key.",
            discussion:
                "Exits 0 and prints a summary of the flow when the file is valid; otherwise prints one line per problem (FILE:line N: key: reason) and exits 1. Model directories are looked up relative to the file."
        )

        @Argument(help: "The configuration file (TOML).")
        var file: String

        func run() throws {
            do {
                let flow = try FlowConfiguration.read(file: file)
                print(Self.summary(flow, file: file))
            } catch let errors as ConfigurationErrors {
                printError(errors.description)
                throw ExitCode.failure
            }
        }

        /// One line per source, the ranker and the rules.
        static func summary(_ flow: FlowConfiguration, file: String) -> String {
            var lines = ["\(file): valid; \(flow.sources.count) source(s), ranker \(flow.ranker.kind.rawValue)"]
            for source in flow.sources {
                lines.append("  source \(source.name): \(source.kind.rawValue), \(source.candidates) candidates")
            }
            if flow.ranker.kind == .none { lines.append("  merge: \(flow.ranker.merge.rawValue)") }
            for rule in flow.rules { lines.append("  rule: \(rule.kind.rawValue)") }
            if let replacement = flow.replacement {
                lines.append(
                    "  replacement: positive decay \(replacement.positiveDecay), read decay \(replacement.readDecay)")
            }
            return (lines + experimentLines(flow)).joined(separator: "\n")
        }

        /// The experiments, their arms and windows, and what is recorded (issue 47).
        static func experimentLines(_ flow: FlowConfiguration) -> [String] {
            func time(_ date: Date) -> String { StoreTimestamp.text(unixSeconds: date.timeIntervalSince1970) }
            let clicks =
                flow.positiveFeedbackTypes.isEmpty ? "every type" : flow.positiveFeedbackTypes.joined(separator: ", ")
            var lines: [String] = []
            for experiment in flow.experiments {
                let definition = experiment.definition
                let window = experiment.window ?? flow.impressions.attributionWindow
                lines.append(
                    "  experiment \(experiment.name): \(time(definition.start)) to \(definition.stop.map(time) ?? "open"), salt \(definition.salt), attribution window \(Int(window)) s, tau \(experiment.tau)"
                )
                for arm in experiment.arms {
                    let serves = arm.config.map { "flow \($0)" } ?? arm.model.map { "model \($0)" } ?? "this flow"
                    lines.append("    arm \(arm.name): share \(arm.share), \(serves)")
                }
            }
            if !flow.experiments.isEmpty || flow.impressions.recordAlways {
                let settings = flow.impressions
                let conversions =
                    settings.conversionTypes.isEmpty
                    ? "the click types" : settings.conversionTypes.joined(separator: ", ")
                lines.append(
                    "  impressions: recorded \(settings.recordAlways ? "for every answer" : "for experiments' answers"), kept \(settings.retention.map { "\(Int($0)) s" } ?? "forever"); clicks: \(clicks); conversions: \(conversions)"
                )
            }
            return lines
        }
    }

    /// `reckit config publish FILE --db URL`: servers started with `--config` over that store
    /// serve this file's flow from their next check (`--published-poll`).
    struct Publish: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Publish a flow configuration to the store; every server started with --config over it serves it.",
            discussion:
                "The file is checked first (as config check does) and refused with its problems. Each server builds the published flow with model paths relative to its own --config file, so keep the models at the same relative paths on every replica. A configuration a server cannot build is logged there and skipped; the flow it serves stays."
        )

        @Argument(help: "The configuration file (TOML).")
        var file: String
        @Option(
            name: .long,
            help: ArgumentHelp("The event store: a SQLite file or a postgres:// URL.", valueName: "path-or-url"))
        var db: String

        func run() async throws {
            let text: String
            do {
                _ = try FlowConfiguration.read(file: file)
                text = try String(contentsOfFile: file, encoding: .utf8)
            } catch let errors as ConfigurationErrors {
                printError(errors.description)
                throw ExitCode.failure
            }
            let store = try await EventStores.open(db)
            let version = try await store.publishConfiguration(text)
            await store.close()
            print("published \(file) as configuration \(version)")
        }
    }
}

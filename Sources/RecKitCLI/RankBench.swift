import ArgumentParser
import Foundation
import RecData
import RecModels
import Tensors

extension BenchCommand {
    /// `reckit bench rank`: a click-through ranker's time per request, its tape-free inference
    /// path beside the training graph, in one process on one thread.
    struct RankBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rank",
            abstract: "Microseconds per ranking request of a ctr ranker: the fast path beside the training graph.",
            discussion: """
                Requests are seeded: a user of the ranker's table, --candidates distinct items of \
                its table, a random hour and weekday, and a sequence of --history items (the flow \
                passes the newest 50). Each request is scored by both paths in turn (alternating \
                which goes first) after --warmup untimed requests; p50 and p99 are over \
                --requests. Both paths run on one thread: RECKIT_THREADS=1 is set before the \
                numeric core starts and OpenBLAS is held at one thread. The largest relative \
                difference of their scores is printed beside the times.
                """)

        @Option(name: .long, help: "Ranker directory (evaluate --protocol ctr --save-model DIR).")
        var model: String
        @Option(name: .long, help: "Candidates per request.")
        var candidates: Int = 200
        @Option(name: .long, help: "Timed requests.")
        var requests: Int = 1000
        @Option(name: .long, help: "Items in each request's sequence.")
        var history: Int = 50
        @Option(name: .long, help: "Untimed requests first.")
        var warmup: Int = 20
        @Option(name: .long, help: "Seed of the requests.")
        var seed: UInt64 = 7

        func validate() throws {
            guard candidates > 0, requests > 0, history >= 0, warmup >= 0 else {
                throw ValidationError(
                    "--candidates and --requests must be positive, --history and --warmup not negative")
            }
        }

        func run() throws {
            // Before anything reads Parallel.threadCount (a lazily read constant).
            setenv("RECKIT_THREADS", "1", 1)
            try runReporting {
                let ranker = try CTRRanker.load(from: URL(fileURLWithPath: model, isDirectory: true))
                let users = ranker.users.keys.sorted()
                let items = ranker.items.keys.sorted()
                guard !users.isEmpty, items.count >= candidates else {
                    throw ValidationError(
                        "the ranker's tables hold \(users.count) users and \(items.count) items; --candidates is \(candidates)"
                    )
                }
                let report = try BLAS.withSingleThreadedKernels { try measure(ranker, users: users, items: items) }
                print(
                    "\(ranker.kind.rawValue) (\(model)): \(candidates) candidates, sequence \(history), \(requests) requests after \(warmup) warm-up; threads: \(Parallel.threadCount), OpenBLAS 1"
                )
                for (name, times) in [("fast path", report.fast), ("graph", report.graph)] {
                    print(
                        String(
                            format: "%@ p50 %.1f µs, p99 %.1f µs, mean %.1f µs",
                            name.padding(
                                toLength: 10, withPad: " ", startingAt: 0), times.quantile(0.5), times.quantile(0.99),
                            times.reduce(0, +) / Double(times.count)))
                }
                print(
                    String(
                        format: "graph / fast: p50 %.1f×, p99 %.1f×; largest relative score difference %.2e",
                        report.graph.quantile(0.5) / report.fast.quantile(0.5),
                        report.graph.quantile(0.99) / report.fast.quantile(0.99), report.difference))
            }
        }

        /// Times of both paths in microseconds, and their largest relative score difference.
        func measure(_ ranker: CTRRanker, users: [String], items: [String]) throws -> (
            fast: [Double], graph: [Double], difference: Double
        ) {
            var generator = SeededGenerator(seed: seed)
            var (fast, graph, difference): ([Double], [Double], Double) = ([], [], 0)
            for r in 0..<(warmup + requests) {
                var picked = Set<Int>()
                while picked.count < candidates { picked.insert(generator.nextInt(below: items.count)) }
                let request = RankingRequest(
                    user: users[generator.nextInt(below: users.count)], candidates: picked.sorted().map { items[$0] },
                    hour: generator.nextInt(below: 24), weekday: generator.nextInt(below: 7),
                    sequence: (0..<history).map { _ in items[generator.nextInt(below: items.count)] })
                var scores: [CTRScoringPath: [Float]] = [:]
                var times: [CTRScoringPath: Double] = [:]
                for path in r % 2 == 0 ? [CTRScoringPath.fast, .graph] : [.graph, .fast] {
                    let start = DispatchTime.now().uptimeNanoseconds
                    scores[path] = try ranker.score(request, path: path)
                    times[path] = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e3
                }
                guard r >= warmup, let f = scores[.fast], let g = scores[.graph] else { continue }
                fast.append(times[.fast] ?? 0)
                graph.append(times[.graph] ?? 0)
                for (a, b) in zip(f, g) { difference = max(difference, Double(abs(a - b) / max(abs(b), 1e-30))) }
            }
            return (fast, graph, difference)
        }
    }
}

import Foundation
import RecData
import RecModels
import RecRetrieval

/// Recall and latency of an item index against exact scoring, one query at a time, for a seeded
/// sample of a model's users: what `reckit bench ann` prints.
public enum ANNProbe {
    /// One search width: recall@`count` against exact scoring, latency in milliseconds, and how
    /// many queries the index could not answer (ranked exactly instead, with that time added).
    public struct Row: Sendable, Codable, Equatable {
        public var ef: Int
        public var recall: Double
        public var p50: Double
        public var p99: Double
        public var fallbacks: Int
        /// Exact scoring's median over the index's.
        public var speedUp: Double
    }

    public struct Report: Sendable, Codable, Equatable {
        public var model: String
        public var items: Int
        public var users: Int
        public var count: Int
        public var index: String
        /// Exact scoring's latency, in milliseconds.
        public var exactP50: Double
        public var exactP99: Double
        public var rows: [Row]
    }

    /// Draws `users` users (with repetition) with `seed`, ranks each exactly, then searches
    /// `index` at each width in `widths`, with the user's history excluded on both sides.
    public static func measure(
        _ bundle: ModelBundle, index: ItemIndex, users: Int, seed: UInt64, count: Int, widths: [Int]
    ) throws -> Report {
        guard let source = bundle.model as? any InnerProductRetrieval else {
            throw RetrievalError.unsupportedModel(type(of: bundle.model).kind.rawValue)
        }
        var generator = SeededGenerator(seed: seed)
        let sample = (0..<min(users, bundle.userIDs.count)).map { _ in
            Int32.random(in: 0..<Int32(bundle.userIDs.count), using: &generator)
        }
        let contexts = sample.map { ScoringContext(user: $0, history: bundle.histories[Int($0)]) }
        let seen = contexts.map { Set($0.history) }
        let queries = try source.retrievalQueries(contexts)
        var exactTimes: [Double] = []
        var exact: [Set<Int32>] = []
        var scores = [Float](repeating: 0, count: bundle.model.itemCount)
        for (r, context) in contexts.enumerated() {
            let start = DispatchTime.now().uptimeNanoseconds
            try bundle.model.score(context, into: &scores)
            let top = TopK.select(count, from: scores) { !seen[r].contains($0) }
            exactTimes.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            exact.append(Set(top.map(\.item)))
        }
        let exactMedian = exactTimes.quantile(0.5)
        let rows = try widths.map { width in
            var times: [Double] = []
            var hits = 0
            var fallbacks = 0
            for r in contexts.indices {
                let start = DispatchTime.now().uptimeNanoseconds
                let found = try index.search(queries.row(r), count: count, ef: width, excluding: seen[r]) {
                    !seen[r].contains($0)
                }
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
                if let found {
                    hits += found.filter { exact[r].contains($0.item) }.count
                } else {
                    // Served by exact scoring: its answer and its time.
                    fallbacks += 1
                    hits += count
                    times[r] += exactTimes[r]
                }
            }
            let median = times.quantile(0.5)
            return Row(
                ef: width, recall: Double(hits) / Double(count * contexts.count), p50: median,
                p99: times.quantile(0.99),
                fallbacks: fallbacks, speedUp: exactMedian / max(median, 1e-9))
        }
        return Report(
            model: type(of: bundle.model).kind.rawValue, items: index.itemCount, users: contexts.count, count: count,
            index: index.settings.summary, exactP50: exactMedian, exactP99: exactTimes.quantile(0.99), rows: rows)
    }
}

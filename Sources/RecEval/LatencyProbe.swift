import Foundation
import RecData
import RecModels

/// Measures how long a model takes to score one request, as the server will call it.
public enum LatencyProbe {
    /// Latency percentiles, in milliseconds.
    public struct Summary: Sendable, Codable, Equatable {
        public var model: String
        public var historyLength: Int
        public var requests: Int
        public var p50: Double
        public var p90: Double
        public var p99: Double
        public var mean: Double
    }

    /// Times `requests` calls of `score` for users the model never saw (no user index), each with
    /// a history of `historyLength` distinct items drawn with `seed`: the fold-in path, plus
    /// scoring every item.
    public static func foldIn(_ model: any Recommender, historyLength: Int, requests: Int, seed: UInt64 = 7) throws
        -> Summary
    {
        var generator = SeededGenerator(seed: seed)
        let items = model.itemCount
        guard items > 0 else { throw ModelError.notFitted }
        var scores = [Float](repeating: 0, count: items)
        var latencies: [Double] = []
        latencies.reserveCapacity(requests)
        for _ in 0..<requests {
            var pool = Array(0..<Int32(items))
            generator.shuffle(&pool)
            let context = ScoringContext(history: Array(pool.prefix(historyLength)))
            let start = DispatchTime.now().uptimeNanoseconds
            try model.score(context, into: &scores)
            latencies.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        latencies.sort()
        func at(_ q: Double) -> Double { latencies[min(latencies.count - 1, Int(q * Double(latencies.count)))] }
        return Summary(
            model: type(of: model).kind.rawValue, historyLength: historyLength, requests: requests, p50: at(0.5),
            p90: at(0.9), p99: at(0.99), mean: latencies.reduce(0, +) / Double(max(1, latencies.count)))
    }
}

import Foundation
import RecData

/// Times the store read a recommendation request makes (`rankingInputs`: the user's history and
/// the hidden items) for users drawn from the ids 1...N, as `reckit data synth` writes them.
public enum StoreReadProbe {
    public struct Summary: Sendable, Codable, Equatable {
        public var requests: Int
        /// Feedback rows in the store, and read in all.
        public var storeFeedback: Int
        public var rowsRead: Int
        /// Milliseconds.
        public var p50: Double
        public var p99: Double
        public var max: Double
        public var rowsPerRead: Double { Double(rowsRead) / Double(Swift.max(1, requests)) }
    }

    /// `requests` reads of users drawn uniformly from 1...`users` with `seed`.
    public static func measure(_ store: any EventStore, users: Int, requests: Int, seed: UInt64) async throws
        -> Summary
    {
        var generator = SeededGenerator(seed: seed)
        var times: [Double] = []
        var rows = 0
        for _ in 0..<requests {
            let user = String(Int.random(in: 1...Swift.max(1, users), using: &generator))
            let start = DispatchTime.now().uptimeNanoseconds
            let (feedback, _) = try await store.rankingInputs(ofUser: user)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            rows += feedback.count
        }
        let counts = try await store.counts()
        return Summary(
            requests: requests, storeFeedback: counts.feedback, rowsRead: rows, p50: times.quantile(0.5),
            p99: times.quantile(0.99), max: times.max() ?? 0)
    }
}

import Foundation
import RecData
import RecModels
import Tensors

/// What a build (or a load under other search settings) measured: the index's recall@`count`
/// against exact scoring for a seeded sample of users at each search width it tried, from the
/// narrowest up, and the width it chose: the first that reached `target`, or none. Saved in
/// `ann.json` and shown on the model card.
public struct IndexCalibration: Codable, Sendable, Equatable {
    public struct Rung: Codable, Sendable, Equatable {
        public var ef: Int
        public var recall: Double
    }

    /// Users measured (the sample may be smaller than asked when the model has fewer).
    public var users: Int
    /// The index's exact head when it was measured (``ANNSettings/exactHead``; `nil` in records
    /// written before the head existed, which are measured again).
    public var exactHead: Int?
    public var seed: UInt64
    public var count: Int
    public var target: Double
    /// The widths the ladder offered, narrowest first.
    public var ladder: [Int]
    /// The widths measured, up to the first that reached the target.
    public var rungs: [Rung]
    /// The width chosen, or `nil` when no width of the ladder reached the target.
    public var ef: Int?
    /// Wall time of the measurement (exact scoring of the sample and the searches).
    public var seconds: Double

    public var reachedTarget: Bool { ef != nil }

    /// The recall at the chosen width, or the best measured when none reached the target.
    public var recall: Double {
        if let ef, let rung = rungs.first(where: { $0.ef == ef }) { return rung.recall }
        return rungs.map(\.recall).max() ?? 0
    }

    /// The width searches use: the chosen one, else the widest measured.
    public var searchWidth: Int? { ef ?? rungs.last?.ef }

    /// Whether this record answers the question `request` asks (same sample, target and ladder).
    func answers(_ request: CalibrationRequest, sampleSize: Int, exactHead: Int) -> Bool {
        users == sampleSize && self.exactHead == exactHead && seed == request.seed && count == request.count
            && target == request.target
            && ladder == request.ladder
    }

    /// For logs and cards: `recall@10 0.962 at ef 128 on 200 users (target 0.95)`.
    public var summary: String {
        let measured = String(format: "recall@%d %.3f", count, recall)
        if let ef {
            return String(format: "%@ at ef %d on %d users (target %.2f)", measured, ef, users, target)
        }
        return String(
            format: "%@ at best, up to ef %d, on %d users: below the target %.2f", measured, rungs.last?.ef ?? 0,
            users, target)
    }
}

/// How a build measures its index: the users to sample, the recall to reach and the search
/// widths to try.
public struct CalibrationRequest: Sendable, Equatable {
    /// Each width measured costs `users` searches; the exact scoring of the sample costs
    /// `users × items × dimension` multiply-adds once.
    public static let defaultLadder = [32, 64, 128, 256, 512, 1_024, 2_048]

    public var users = 200
    public var seed: UInt64 = 43
    public var count = 10
    public var target = 0.95
    public var ladder = CalibrationRequest.defaultLadder

    public init(users: Int = 200, target: Double = 0.95, ladder: [Int] = CalibrationRequest.defaultLadder) {
        self.users = users
        self.target = target
        self.ladder = ladder
    }
}

/// A seeded sample of queries to measure an index with: each user's query vector and the items
/// serving would filter out for them (their history).
public struct CalibrationSample: Sendable {
    public var queries: Matrix<Float>
    public var seen: [Set<Int32>]

    public init(queries: Matrix<Float>, seen: [Set<Int32>]) {
        self.queries = queries
        self.seen = seen
    }

    /// `users` of the model's `contexts` (drawn with `seed` from `0..<userCount`, without
    /// repeats), with the queries the model computes for them.
    public static func draw(
        from model: any InnerProductRetrieval, userCount: Int, users: Int, seed: UInt64,
        context: (Int32) -> ScoringContext
    ) throws -> CalibrationSample {
        var generator = SeededGenerator(seed: seed)
        var chosen = Array(0..<userCount)
        let size = min(users, userCount)
        for i in 0..<size { chosen.swapAt(i, Int.random(in: i..<userCount, using: &generator)) }
        let contexts = chosen.prefix(size).map { context(Int32($0)) }
        guard !contexts.isEmpty else {
            return CalibrationSample(queries: Matrix(rows: 0, columns: 0), seen: [])
        }
        return CalibrationSample(queries: try model.retrievalQueries(contexts), seen: contexts.map { Set($0.history) })
    }
}

extension ItemIndex {
    /// Measures recall@`request.count` against exact inner products over the index's items for
    /// every query of `sample` (its seen items filtered out, as serving does), at each width of
    /// the ladder from the narrowest until one reaches the target.
    public func calibrate(_ sample: CalibrationSample, request: CalibrationRequest) throws -> IndexCalibration {
        let clock = ContinuousClock()
        let start = clock.now
        let rows = sample.queries.rows
        let exact = exactTop(sample, count: request.count)
        var rungs: [IndexCalibration.Rung] = []
        var chosen: Int?
        for width in request.ladder.sorted() where rows > 0 {
            var hits = [Int](repeating: 0, count: rows)
            var failure: Error?
            let lock = NSLock()
            hits.withUnsafeMutableBufferPointer { hits in
                Parallel.forEachChunk(of: 0..<rows) { range in
                    for r in range {
                        do {
                            let seen = sample.seen[r]
                            let found = try search(
                                sample.queries.row(r), count: request.count, ef: width, excluding: seen
                            ) { !seen.contains($0) }
                            // A search the filter starves is served exactly: full marks, as in serving.
                            hits[r] = found.map { $0.filter { exact[r].contains($0.item) }.count } ?? exact[r].count
                        } catch {
                            lock.lock()
                            failure = error
                            lock.unlock()
                        }
                    }
                }
            }
            if let failure { throw failure }
            let possible = exact.reduce(0) { $0 + $1.count }
            let recall = possible == 0 ? 1 : Double(hits.reduce(0, +)) / Double(possible)
            rungs.append(.init(ef: width, recall: recall))
            if recall >= request.target {
                chosen = width
                break
            }
        }
        let elapsed = clock.now - start
        return IndexCalibration(
            users: rows, exactHead: settings.exactHead, seed: request.seed, count: request.count,
            target: request.target,
            ladder: request.ladder.sorted(), rungs: rungs, ef: rows == 0 ? nil : chosen,
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
    }

    /// Each sample query's exact top `count` among the items it has not seen.
    private func exactTop(_ sample: CalibrationSample, count: Int) -> [Set<Int32>] {
        var result = [Set<Int32>](repeating: [], count: sample.queries.rows)
        result.withUnsafeMutableBufferPointer { result in
            Parallel.forEachChunk(of: 0..<sample.queries.rows) { range in
                var scores = [Float](repeating: 0, count: items.rows)
                let columns = items.columns
                for r in range {
                    sample.queries.row(r).withUnsafeBufferPointer { q in
                        items.storage.withUnsafeBufferPointer { y in
                            guard let q = q.baseAddress, let y = y.baseAddress else { return }
                            for item in 0..<items.rows {
                                scores[item] = FactorKernels.dot(q, y + item * columns, columns)
                            }
                        }
                    }
                    let seen = sample.seen[r]
                    result[r] = Set(TopK.select(count, from: scores) { !seen.contains($0) }.map(\.item))
                }
            }
        }
        return result
    }
}

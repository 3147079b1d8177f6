/// Mean and spread of the same experiment over several split seeds.
///
/// One split of ml-100k moves NDCG@10 by several percent (the standard error of a mean over
/// 943 users), so a parity claim against another library compares against the mean of
/// several seeds, with the spread beside it.
public struct ExperimentSummary: Sendable, Codable, Equatable {
    public var runs: [ExperimentRecord]
    /// Mean of each metric over the runs.
    public var mean: [String: Double]
    /// Sample standard deviation of each metric over the runs (0 for one run).
    public var standardDeviation: [String: Double]

    public init(runs: [ExperimentRecord]) {
        self.runs = runs
        var mean: [String: Double] = [:]
        var deviation: [String: Double] = [:]
        let keys = Set(runs.flatMap { $0.metrics.keys })
        for key in keys {
            let values = runs.compactMap { $0.metrics[key] }
            let m = values.reduce(0, +) / Double(max(1, values.count))
            mean[key] = m
            let squares = values.reduce(0) { $0 + ($1 - m) * ($1 - m) }
            deviation[key] = values.count > 1 ? (squares / Double(values.count - 1)).squareRoot() : 0
        }
        self.mean = mean
        self.standardDeviation = deviation
    }
}

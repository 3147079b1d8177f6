extension Array where Element == Double {
    /// The value at quantile `q` (0...1): the sorted value at rank round((count - 1) · q); 0 when
    /// empty. The benchmarks' percentiles.
    public func quantile(_ q: Double) -> Double {
        let sorted = self.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted[Swift.min(sorted.count - 1, Int((Double(sorted.count - 1) * q).rounded()))]
    }
}

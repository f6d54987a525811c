/// A summary of measured durations (in milliseconds): count, median, 99th percentile
/// and maximum.
///
/// Percentiles are nearest-rank: the p-th percentile of n sorted values is the value
/// at rank ⌈p/100 · n⌉ (1-based). It is always one of the measured values, and the
/// p99 of fewer than 100 values is the maximum. With no values, only `count` is set.
public struct Distribution: Codable, Sendable, Equatable {
    public var count: Int
    public var p50: Double?
    public var p99: Double?
    public var max: Double?

    public init(_ values: [Double]) {
        let sorted = values.sorted()
        self.count = sorted.count
        self.p50 = Self.nearestRank(50, of: sorted)
        self.p99 = Self.nearestRank(99, of: sorted)
        self.max = sorted.last
    }

    /// The nearest-rank `percentile` (0–100) of `sorted` (ascending), or `nil` if empty.
    public static func nearestRank(_ percentile: Double, of sorted: [Double]) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let rank = Int((percentile / 100 * Double(sorted.count)).rounded(.up))
        return sorted[Swift.min(Swift.max(rank, 1), sorted.count) - 1]
    }
}

/// Mean and maximum of a per-node rate.
public struct MeanMax: Codable, Sendable, Equatable {
    public var mean: Double
    public var max: Double

    public init(_ values: [Double]) {
        self.mean = values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count)
        self.max = values.max() ?? 0
    }
}

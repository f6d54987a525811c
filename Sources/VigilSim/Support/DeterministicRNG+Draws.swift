import VigilCore

/// Draws the simulator needs, written out here rather than taken from the standard
/// library (`shuffle(using:)`, `Int.random(in:using:)`), whose algorithms may change
/// between toolchains: a seed must give the same run on every Swift version.
extension DeterministicRNG {
    /// A uniform integer in `0..<bound` (`bound > 0`). The modulo bias is below
    /// `bound / 2^64`, far under anything a simulation can observe.
    @inlinable
    mutating func below(_ bound: Int) -> Int {
        Int(truncatingIfNeeded: self.next() % UInt64(bound))
    }

    /// `true` with probability `p`. Draws nothing when `p` is 0 or 1, so turning loss
    /// off does not shift the stream of the other draws.
    @inlinable
    mutating func chance(_ p: Double) -> Bool {
        if p <= 0 { return false }
        if p >= 1 { return true }
        return self.nextUnit() < p
    }

    /// A uniform number of nanoseconds in `0...span` (no draw when `span` is 0).
    @inlinable
    mutating func nanoseconds(upTo span: Int64) -> Int64 {
        span <= 0 ? 0 : Int64(truncatingIfNeeded: self.next() % UInt64(span + 1))
    }

    /// `0..<count` in a uniformly random order (Fisher–Yates, Knuth vol. 2 §3.4.2).
    mutating func permutation(of count: Int) -> [Int] {
        var order = Array(0..<count)
        var i = count - 1
        while i > 0 {
            let j = self.below(i + 1)
            order.swapAt(i, j)
            i -= 1
        }
        return order
    }
}

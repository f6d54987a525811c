/// A point on a monotonic clock, in nanoseconds since an arbitrary origin.
///
/// The core never reads a clock: every entry point takes `now: Instant`. The agent
/// feeds it from the system's monotonic clock, the simulator from its virtual one.
/// Plain `Int64` nanoseconds keep the hot path free of `Duration`'s 128-bit math.
public struct Instant: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) {
        self.nanoseconds = nanoseconds
    }

    public static let zero = Instant(nanoseconds: 0)
    /// Later than any instant a run reaches; "no deadline".
    public static let distantFuture = Instant(nanoseconds: .max / 2)

    public static func < (lhs: Instant, rhs: Instant) -> Bool {
        lhs.nanoseconds < rhs.nanoseconds
    }

    public static func + (lhs: Instant, rhs: Duration) -> Instant {
        Instant(nanoseconds: lhs.nanoseconds &+ rhs.nanoseconds)
    }

    public static func - (lhs: Instant, rhs: Duration) -> Instant {
        Instant(nanoseconds: lhs.nanoseconds &- rhs.nanoseconds)
    }

    public static func - (lhs: Instant, rhs: Instant) -> Duration {
        .nanoseconds(lhs.nanoseconds &- rhs.nanoseconds)
    }

    public var description: String {
        let ms = Double(self.nanoseconds) / 1e6
        return "\(ms)ms"
    }
}

extension Duration {
    /// This duration in whole nanoseconds (saturating far outside any protocol timing).
    @inlinable
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = self.components
        return seconds &* 1_000_000_000 &+ attoseconds / 1_000_000_000
    }

    /// This duration in (fractional) milliseconds, for reports.
    public var milliseconds: Double {
        Double(self.nanoseconds) / 1e6
    }

    /// `self * factor`, for health-scaled timeouts.
    public func scaled(by factor: Double) -> Duration {
        .nanoseconds(Int64((Double(self.nanoseconds) * factor).rounded()))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How long a suspicion may last before the suspect is declared failed, shrinking as
/// independent observers confirm it (Lifeguard, Dadgar et al. 2018, §IV.B; the model is
/// hashicorp/memberlist suspicion.go).
///
/// With `k` expected confirmations and `c` received so far (`c ≤ k`):
///
///     timeout(c) = max(min, max - (max - min) · log(c + 1) / log(k + 1))
///     deadline   = start + timeout(c)
///
/// so the window starts at `max` and reaches exactly `min` once `k` other observers agree.
/// If `k < 1` nobody can confirm and the timeout is `min` from the start, as in memberlist.
/// memberlist truncates the timeout to whole milliseconds; here it is truncated to whole
/// nanoseconds.
///
/// A value: the caller keeps it per suspect, feeds confirmations in, and compares
/// `deadline` with its own `now`. Nothing fires by itself.
public struct SuspicionTimer: Sendable, Equatable {
    /// When the suspicion began.
    public let start: Instant
    /// Confirmations that bring the timeout down to `minimum` (memberlist's k).
    public let expectedConfirmations: Int
    /// Timeout once `expectedConfirmations` observers confirmed.
    public let minimum: Duration
    /// Timeout with no confirmation.
    public let maximum: Duration
    /// Who raised the suspicion; their own repeats are not confirmations.
    public let firstObserver: String
    /// Observers who confirmed, in order; never contains `firstObserver`, never more than
    /// `expectedConfirmations`. An array because k is small (≤ 10).
    public private(set) var confirmedBy: [String]
    /// When the suspicion expires, given the confirmations so far.
    public private(set) var deadline: Instant

    /// Starts a suspicion.
    ///
    /// - Parameters:
    ///   - start: when the suspicion began (the caller's `now`).
    ///   - k: how many independent confirmations bring the timeout down to `min`
    ///     (typically the number of other observers of the suspect). Negative means 0.
    ///   - min: shortest timeout; negative means zero.
    ///   - max: longest timeout; a value below `min` is raised to `min`.
    ///   - firstObserver: the member who raised the suspicion.
    public init(
        start: Instant,
        expectedConfirmations k: Int,
        min: Duration,
        max: Duration,
        from firstObserver: String
    ) {
        self.start = start
        self.expectedConfirmations = Swift.max(0, k)
        self.minimum = Swift.max(.zero, min)
        self.maximum = Swift.max(self.minimum, max)
        self.firstObserver = firstObserver
        self.confirmedBy = []
        self.confirmedBy.reserveCapacity(self.expectedConfirmations)
        self.deadline = start
        self.deadline = start + self.timeout
    }

    /// Starts a suspicion with the window from `lifeguard` (`suspicionMin ... suspicionMax`).
    public init(
        start: Instant,
        expectedConfirmations k: Int,
        lifeguard: Configuration.Lifeguard,
        from firstObserver: String
    ) {
        self.init(
            start: start, expectedConfirmations: k,
            min: lifeguard.suspicionMin, max: lifeguard.suspicionMax, from: firstObserver
        )
    }

    /// Independent confirmations received so far (the first observer not counted).
    public var confirmations: Int {
        self.confirmedBy.count
    }

    /// The current timeout, measured from `start`.
    public var timeout: Duration {
        Self.timeout(
            confirmations: self.confirmations, expected: self.expectedConfirmations,
            min: self.minimum, max: self.maximum
        )
    }

    /// Records that `observer` also suspects the member.
    ///
    /// - Returns: `true` if this was a new, independent confirmation and the deadline
    ///   moved closer; `false` for the first observer, a repeat, or once
    ///   `expectedConfirmations` have already been counted.
    @discardableResult
    public mutating func confirm(by observer: String) -> Bool {
        guard self.confirmations < self.expectedConfirmations,
            observer != self.firstObserver,
            !self.confirmedBy.contains(observer)
        else {
            return false
        }
        self.confirmedBy.append(observer)
        self.deadline = self.start + self.timeout
        return true
    }

    /// Whether the suspicion has run out at `now` (`now >= deadline`).
    public func isExpired(at now: Instant) -> Bool {
        now >= self.deadline
    }

    /// Time left until the deadline at `now`; zero once expired.
    public func remaining(at now: Instant) -> Duration {
        Swift.max(.zero, self.deadline - now)
    }

    /// memberlist's `remainingSuspicionTime` before subtracting the elapsed time.
    static func timeout(confirmations c: Int, expected k: Int, min: Duration, max: Duration) -> Duration {
        guard k >= 1 else {
            return min
        }
        let fraction = log(Double(c) + 1) / log(Double(k) + 1)
        let minNs = Double(min.nanoseconds)
        let maxNs = Double(max.nanoseconds)
        let raw = (maxNs - fraction * (maxNs - minNs)).rounded(.down)
        return Swift.max(min, .nanoseconds(Int64(raw)))
    }
}

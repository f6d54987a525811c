#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Phi-accrual failure detection for one subject, as seen by one observer.
///
/// Instead of a yes/no timeout, the detector turns the silence since the last heartbeat
/// into a suspicion level, phi = -log10(P(a heartbeat is still to come this late)), from
/// the distribution of recent inter-arrival times (Hayashibara, Défago, Yared, Katayama:
/// "The φ Accrual Failure Detector", SRDS 2004). The formula, the normal approximation,
/// the seeding and the two safety settings (a floor on the standard deviation and an
/// acceptable pause added to the mean) follow Akka's `PhiAccrualFailureDetector`
/// (akka-remote, `akka.remote.PhiAccrualFailureDetector`), which is the reference:
///
///     mean' = mean + acceptablePause
///     std'  = max(std, minStdDeviation)
///     y     = (timeDiff - mean') / std'
///     e     = exp(-y * (1.5976 + 0.070566 * y * y))   // logistic approximation of the normal CDF
///     phi   = -log10(e / (1 + e))
///
/// Where this type differs from Akka, it is only to stay finite and exact:
/// - Akka writes the last line as two branches (`-log10(e/(1+e))` when late,
///   `-log10(1 - 1/(1+e))` when early) which are the same function, and returns +∞ once
///   `e` underflows (y ≳ 21, phi ≳ 323). Here the same function is evaluated as
///   `log10(1 + exp(x))` with `x = y * (1.5976 + 0.070566 * y * y)`, in a form that cannot
///   overflow, so phi keeps growing with the silence instead of jumping to +∞. It is never
///   NaN or infinite: it is capped at `PhiAccrualDetector.maximumPhi`.
/// - Intervals are kept as `Double` milliseconds (Akka: whole milliseconds), and the
///   seed's standard deviation is `estimate / 4` without Akka's integer truncation.
/// - A heartbeat at or before the last one is ignored (see `heartbeat(at:)`); Akka would
///   record a zero or negative interval.
///
/// Cost: `heartbeat(at:)` and `phi(at:)` are O(1) and do not allocate after `init`. The
/// window is a fixed ring buffer with a running sum and sum of squares; once per full
/// turn of the ring (every `windowSize` heartbeats) both sums are recomputed from the
/// ring, so floating-point drift from adding and removing samples cannot accumulate
/// over a long-lived detector. That is O(windowSize) once per `windowSize` heartbeats,
/// amortised O(1).
public struct PhiAccrualDetector: Sendable, Equatable {
    /// Phi never exceeds this. The logistic approximation makes phi grow like y³, so real
    /// silences stay far below it; it only catches degenerate inputs (a zero standard
    /// deviation with `minStdDeviation == 0`, or absurd gaps) that would otherwise give +∞.
    /// Anything above a few hundred already means "certainly not just late".
    public static let maximumPhi: Double = 1e6

    /// Suspect once phi reaches this.
    public let threshold: Double
    /// How many inter-arrival intervals the window holds (the two seed samples included).
    public let windowSize: Int
    /// Floor on the standard deviation used in phi, in milliseconds.
    private let minStdDeviationMs: Double
    /// Silence added to the mean before phi grows, in milliseconds.
    private let acceptablePauseMs: Double

    /// The ring buffer of intervals, in milliseconds. Allocated once, at full size.
    private var intervals: [Double]
    /// Where the next interval goes.
    private var nextIndex: Int = 0
    /// How many slots of `intervals` hold samples (≤ `windowSize`).
    private var count: Int = 0
    private var sum: Double = 0
    private var sumOfSquares: Double = 0

    /// When the last heartbeat arrived (possibly moved forward by `shift(by:)`); `nil`
    /// until the first one.
    public private(set) var lastHeartbeat: Instant?

    /// Creates a detector with no heartbeat yet.
    ///
    /// - Parameters:
    ///   - threshold: suspect when phi reaches this; must be > 0.
    ///   - windowSize: inter-arrival samples kept; must be ≥ 1.
    ///   - minStdDeviation: floor on the standard deviation; must not be negative.
    ///   - acceptablePause: silence tolerated before phi starts to grow; must not be negative.
    ///   - firstHeartbeatEstimate: expected interval before any has been measured (usually
    ///     the probe period); must be > 0. Like Akka, the window starts with two samples,
    ///     `estimate ∓ estimate/4`, i.e. mean = estimate and standard deviation = estimate/4.
    public init(
        threshold: Double,
        windowSize: Int,
        minStdDeviation: Duration,
        acceptablePause: Duration,
        firstHeartbeatEstimate: Duration
    ) {
        precondition(threshold > 0, "phi threshold must be > 0, got \(threshold)")
        precondition(windowSize >= 1, "phi window size must be >= 1, got \(windowSize)")
        precondition(minStdDeviation >= .zero, "phi minStdDeviation must not be negative, got \(minStdDeviation)")
        precondition(acceptablePause >= .zero, "phi acceptablePause must not be negative, got \(acceptablePause)")
        precondition(
            firstHeartbeatEstimate > .zero, "firstHeartbeatEstimate must be > 0, got \(firstHeartbeatEstimate)"
        )
        self.threshold = threshold
        self.windowSize = windowSize
        self.minStdDeviationMs = minStdDeviation.milliseconds
        self.acceptablePauseMs = acceptablePause.milliseconds
        self.intervals = Array(repeating: 0, count: windowSize)

        let estimate = firstHeartbeatEstimate.milliseconds
        let deviation = estimate / 4
        self.record(estimate - deviation)
        self.record(estimate + deviation)
    }

    /// Creates a detector from the `phi` settings of a `Configuration`.
    public init(_ phi: Configuration.Phi, firstHeartbeatEstimate: Duration) {
        self.init(
            threshold: phi.threshold,
            windowSize: phi.windowSize,
            minStdDeviation: phi.minStdDeviation,
            acceptablePause: phi.acceptablePause,
            firstHeartbeatEstimate: firstHeartbeatEstimate
        )
    }

    /// How many intervals the window holds now, the two seed samples included (so 2
    /// after `init`, at most `windowSize`).
    public var sampleCount: Int {
        self.count
    }

    /// Mean of the intervals in the window (without the acceptable pause).
    public var mean: Duration {
        Self.duration(milliseconds: self.meanMs)
    }

    /// Population standard deviation of the intervals in the window, as measured: before
    /// the `minStdDeviation` floor that `phi(at:)` applies.
    public var standardDeviation: Duration {
        Self.duration(milliseconds: self.standardDeviationMs)
    }

    /// Records a heartbeat (an ack from the subject) that arrived at `now`.
    ///
    /// - The first heartbeat only records the time; the seed samples stand in for the
    ///   history until real intervals replace them.
    /// - Like Akka, an interval that ends while the subject is suspect (phi already at the
    ///   threshold) is not added to the window, so one long outage does not inflate the
    ///   statistics and hide the next one. The time is still recorded.
    /// - A heartbeat at or before `lastHeartbeat` is ignored altogether: a duplicate
    ///   delivery at the same instant carries no interval, and one that falls inside a
    ///   silence already forgiven by `shift(by:)` is older than the time we measure from.
    public mutating func heartbeat(at now: Instant) {
        guard let last = self.lastHeartbeat else {
            self.lastHeartbeat = now
            return
        }
        guard now > last else {
            return
        }
        if !self.isSuspect(at: now) {
            self.record((now - last).milliseconds)
        }
        self.lastHeartbeat = now
    }

    /// The suspicion level at `now`: 0 before the first heartbeat (an unknown subject is
    /// not suspect), then growing with the silence since `lastHeartbeat`. Always finite,
    /// in `0 ... maximumPhi`; at `now == lastHeartbeat + mean + acceptablePause` it is
    /// -log10(0.5) ≈ 0.301.
    public func phi(at now: Instant) -> Double {
        guard let last = self.lastHeartbeat else {
            return 0
        }
        let timeDiff = (now - last).milliseconds
        let mean = self.meanMs + self.acceptablePauseMs
        let deviation = Swift.max(self.standardDeviationMs, self.minStdDeviationMs)
        return Self.phi(timeDiff: timeDiff, mean: mean, standardDeviation: deviation)
    }

    /// Whether phi at `now` has reached the threshold.
    public func isSuspect(at now: Instant) -> Bool {
        self.phi(at: now) >= self.threshold
    }

    /// Moves `lastHeartbeat` forward by `duration`, so that a silence this node caused
    /// itself (its own process was paused, its clock jumped) is not blamed on the subject.
    /// The statistics are not touched. Does nothing before the first heartbeat or for a
    /// duration that is not positive.
    public mutating func shift(by duration: Duration) {
        guard let last = self.lastHeartbeat, duration > .zero else {
            return
        }
        self.lastHeartbeat = last + duration
    }

    /// Akka's phi, evaluated as `log10(1 + exp(x))`, `x = y(1.5976 + 0.070566 y²)`.
    /// That is the same function as `-log10(e / (1 + e))` with `e = exp(-x)`, written so
    /// that neither branch can overflow: softplus(x) = max(x, 0) + log1p(exp(-|x|)).
    static func phi(timeDiff: Double, mean: Double, standardDeviation: Double) -> Double {
        var y = (timeDiff - mean) / standardDeviation
        if y.isNaN {
            // 0 / 0: a zero deviation (minStdDeviation == 0) and a heartbeat exactly on
            // the mean. Exactly on time is y = 0.
            y = 0
        }
        let x = y * (1.5976 + 0.070566 * y * y)
        let softplus = Swift.max(x, 0) + log1p(exp(-abs(x)))
        let phi = softplus / 2.302585092994046  // ln 10
        guard phi.isFinite else {
            // Only +∞ gets here (x = +∞); x = -∞ gives exp(-∞) = 0 and phi = 0 above.
            return Self.maximumPhi
        }
        return Swift.min(phi, Self.maximumPhi)
    }

    /// Whole nanoseconds, saturating instead of trapping far outside any protocol timing.
    private static func duration(milliseconds: Double) -> Duration {
        let nanoseconds = (milliseconds * 1e6).rounded()
        guard nanoseconds < 9.2e18 else { return .nanoseconds(Int64.max) }
        guard nanoseconds > -9.2e18 else { return .nanoseconds(Int64.min) }
        return .nanoseconds(Int64(nanoseconds))
    }

    // MARK: - The window

    private var meanMs: Double {
        self.sum / Double(self.count)
    }

    private var standardDeviationMs: Double {
        let mean = self.meanMs
        // Clamped: rounding can make a perfectly regular window's variance a hair below 0.
        let variance = Swift.max(0, self.sumOfSquares / Double(self.count) - mean * mean)
        return variance.squareRoot()
    }

    /// Adds an interval, dropping the oldest once the window is full.
    private mutating func record(_ interval: Double) {
        if self.count == self.windowSize {
            let oldest = self.intervals[self.nextIndex]
            self.sum -= oldest
            self.sumOfSquares -= oldest * oldest
        } else {
            self.count += 1
        }
        self.intervals[self.nextIndex] = interval
        self.sum += interval
        self.sumOfSquares += interval * interval
        self.nextIndex += 1
        if self.nextIndex == self.windowSize {
            self.nextIndex = 0
            self.resum()
        }
    }

    /// Recomputes both sums from the ring, discarding accumulated rounding error.
    private mutating func resum() {
        var sum: Double = 0
        var sumOfSquares: Double = 0
        for index in 0..<self.count {
            let interval = self.intervals[index]
            sum += interval
            sumOfSquares += interval * interval
        }
        self.sum = sum
        self.sumOfSquares = sumOfSquares
    }
}

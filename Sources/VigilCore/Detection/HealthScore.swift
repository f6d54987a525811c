/// This node's own health, as Lifeguard's Local Health Multiplier (Dadgar, Phillips,
/// Currey: "Lifeguard: Local Health Awareness for More Accurate Failure Detection",
/// 2018, §IV.A; hashicorp/memberlist awareness.go).
///
/// A node that is slow itself (CPU starved, paused, dropping packets) misses acks from
/// healthy peers and would accuse them. So it keeps a saturating counter of evidence
/// against itself, stretches its own timeouts by `score + 1`, and stops voting on
/// failures when the score is high.
///
/// The score runs over `0 ... max` like Lifeguard's LHM with saturation S, so the largest
/// multiplier is `max + 1`. (memberlist's `AwarenessMaxMultiplier = 8` caps its score
/// at 7, i.e. at most ×8; `HealthScore(max: 8)` allows ×9.)
public struct HealthScore: Sendable, Equatable {
    /// Highest score; the lowest is 0 (healthy).
    public let max: Int
    /// Current score, always in `0 ... max`. Starts at 0.
    public private(set) var score: Int = 0

    /// - Parameter max: the saturation S; a negative value is treated as 0.
    public init(max: Int) {
        self.max = Swift.max(0, max)
    }

    /// Creates a score saturating at `lifeguard.maxHealthScore`.
    public init(_ lifeguard: Configuration.Lifeguard) {
        self.init(max: lifeguard.maxHealthScore)
    }

    /// Adds `delta` to the score, clamped to `0 ... max`.
    ///
    /// - Returns: whether the score changed (worth a log line or a gauge update).
    @discardableResult
    public mutating func apply(_ delta: Int) -> Bool {
        let old = self.score
        // Compared before adding, so no delta can overflow.
        if delta >= 0 {
            self.score = delta >= self.max - old ? self.max : old + delta
        } else {
            self.score = delta <= -old ? 0 : old + delta
        }
        return self.score != old
    }

    /// Applies the delta Lifeguard assigns to `event`.
    ///
    /// - Returns: whether the score changed.
    @discardableResult
    public mutating func apply(_ event: HealthEvent) -> Bool {
        self.apply(event.delta)
    }

    /// The factor timeouts are multiplied by: `score + 1`, from 1 (healthy) to `max + 1`.
    public var multiplier: Int {
        self.score + 1
    }

    /// `duration * (score + 1)`: a probe timeout or interval stretched by this node's
    /// own ill health (Lifeguard §IV.A).
    public func scale(_ duration: Duration) -> Duration {
        duration * self.multiplier
    }

    /// Whether this node is healthy enough to trust its own judgement: `score <= limit`
    /// (see `Configuration.Lifeguard.voteHealthLimit`: above it, a node does not vote).
    public func isHealthy(limit: Int) -> Bool {
        self.score <= limit
    }
}

/// What moves the health score, with the deltas memberlist uses (state.go `probeNode`,
/// `refute`).
public enum HealthEvent: Sendable, Equatable, Hashable {
    /// A probe was answered in time (direct or indirect ack): −1.
    case probeSucceeded
    /// A probe got no ack and there were no relays whose nacks could tell whose fault it
    /// was: +1 (memberlist: the probe failed and `expectedNacks == 0`).
    case probeFailed
    /// A relay asked to `ping-req` sent neither an ack nor a nack: +1 per missing nack.
    /// A relay that cannot reach us is evidence that our own network is the problem.
    case missedNack
    /// This node had to refute a suspicion of itself: +1. Others failed to hear from us.
    case refutedSuspicion

    /// The change to the score.
    public var delta: Int {
        switch self {
        case .probeSucceeded: -1
        case .probeFailed: 1
        case .missedNack: 1
        case .refutedSuspicion: 1
        }
    }
}

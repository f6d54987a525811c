/// How one direction of a link treats datagrams: a loss probability and a delay of
/// `delay` plus a uniform draw from `0...jitter` per datagram, so datagrams sent
/// close together can arrive out of order (as on a real network with queues).
public struct LinkConditions: Hashable, Sendable {
    /// Probability that a datagram is lost, `0...1`. Streams are never lost.
    public var loss: Double
    public var delay: Duration
    public var jitter: Duration

    public init(loss: Double = 0, delay: Duration = .milliseconds(1), jitter: Duration = .zero) {
        self.loss = loss
        self.delay = delay
        self.jitter = jitter
    }

    /// A perfect link with no delay at all.
    public static let ideal = LinkConditions(loss: 0, delay: .zero, jitter: .zero)
}

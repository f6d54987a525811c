/// A network split during the scenario: `share` of the nodes (picked at random) are
/// cut off from the rest `start` after convergence, for `duration`.
public struct PartitionSpec: Sendable, Equatable, CustomStringConvertible {
    /// Fraction of nodes on the split-off side, `0 < share < 1`.
    public var share: Double
    /// Offset from the start of the scenario phase.
    public var start: Duration
    public var duration: Duration
    /// Only the split-off side's traffic to the rest is blocked (it still hears them).
    public var oneWay: Bool

    public init(share: Double, start: Duration, duration: Duration, oneWay: Bool = false) {
        self.share = share
        self.start = start
        self.duration = duration
        self.oneWay = oneWay
    }

    /// `0.4@120s+30s`, with ` one-way` appended for a one-way cut.
    public var description: String {
        let text = "\(self.share)@\(Self.seconds(self.start))+\(Self.seconds(self.duration))"
        return self.oneWay ? text + " one-way" : text
    }

    private static func seconds(_ d: Duration) -> String {
        let ms = d.nanoseconds / 1_000_000
        return ms % 1000 == 0 ? "\(ms / 1000)s" : "\(ms)ms"
    }
}

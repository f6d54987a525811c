/// A network split during the scenario: `share` of the nodes (picked at random) are
/// cut off from the rest `start` after convergence (or, with no `start`, at a time
/// drawn from the seed such that the cut heals inside the scenario), for `duration`.
public struct PartitionSpec: Sendable, Equatable, CustomStringConvertible {
    /// Fraction of nodes on the split-off side, `0 < share < 1`.
    public var share: Double
    /// Offset from the start of the scenario phase; `nil`: drawn from the seed.
    public var start: Duration?
    public var duration: Duration
    /// Only the split-off side's traffic to the rest is blocked (it still hears them).
    public var oneWay: Bool

    public init(share: Double, start: Duration?, duration: Duration, oneWay: Bool = false) {
        self.share = share
        self.start = start
        self.duration = duration
        self.oneWay = oneWay
    }

    /// `0.4@120s+30s` (`0.4 for 30s` with a seeded start), with ` one-way` appended for
    /// a one-way cut.
    public var description: String {
        let text =
            self.start.map { "\(self.share)@\(Self.seconds($0))+\(Self.seconds(self.duration))" }
            ?? "\(self.share) for \(Self.seconds(self.duration))"
        return self.oneWay ? text + " one-way" : text
    }

    private static func seconds(_ d: Duration) -> String {
        let ms = d.nanoseconds / 1_000_000
        return ms % 1000 == 0 ? "\(ms / 1000)s" : "\(ms)ms"
    }
}

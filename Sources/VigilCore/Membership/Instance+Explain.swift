/// Why this node believes what it believes about one member (`vigil explain`).
public struct Explanation: Sendable, Equatable {
    public var name: String
    public var status: MemberStatus
    public var incarnation: UInt64
    /// The member's observers in this node's view.
    public var observers: [String]
    /// Whether this node is one of them (and so probes it).
    public var observedHere: Bool
    /// This node's phi for it now, if it observes it.
    public var phi: Double?
    /// Time since this node's last ack from it, if it observes it.
    public var sinceLastAck: Duration?
    /// Whether this node's latest probe round of it failed, if it observes it.
    public var lastProbeRoundFailed: Bool?
    /// Whose suspicion of the current incarnation this node heard of.
    public var suspectedBy: [String]
    /// Until the suspicion window runs out, if suspected.
    public var suspicionRemaining: Duration?
    /// Observers whose valid vote against the current incarnation this node holds.
    public var votes: [String]
    /// The voters of the certificate, if failed.
    public var certifiedBy: [String]?
    /// Refutations seen in the flap window, and whether that makes it flapping.
    public var recentRefutations: Int
    public var flapping: Bool
}

extension Instance {
    /// Everything this node knows that decides `name`'s status here, or `nil` if it
    /// does not know the member.
    public func explain(_ name: String, now: Instant) -> Explanation? {
        guard let member = self.member(named: name) else { return nil }
        let entry = self.entries[name]
        let watch = self.watches[name]
        let window = self.configuration.quorum.flapWindow
        let recent = entry?.refutations.filter { now - $0 <= window }.count ?? 0
        return Explanation(
            name: name, status: member.status, incarnation: member.incarnation,
            observers: self.rings.observers(of: name), observedHere: watch != nil,
            phi: watch?.detector.phi(at: now),
            sinceLastAck: watch?.detector.lastHeartbeat.map { now - $0 },
            lastProbeRoundFailed: watch?.lastRoundFailed,
            suspectedBy: self.suspicionDetail(of: name).observers,
            suspicionRemaining: entry?.suspicion.map { $0.remaining(at: now) },
            votes: (entry?.votes.values.filter { $0.incarnation == member.incarnation }.map(\.observer) ?? []).sorted(),
            certifiedBy: self.certificate(for: name)?.votes.map(\.observer),
            recentRefutations: recent, flapping: entry.map { self.isFlapping($0) } ?? false)
    }
}

/// Cumulative counts of what this node's engine did since it was made: what the shell
/// cannot see from the directives alone (which ping was a probe, which round failed).
/// Every count only grows; the agent turns them into Prometheus counters.
///
/// Plain integers in a value type: counting costs an add, never an allocation.
public struct InstanceStats: Sendable, Equatable {
    /// Probes started: pings to a subject or to a random member, each opening a round.
    public internal(set) var probesSent: UInt64 = 0
    /// Probe rounds that ended without an ack, directly or through relays.
    public internal(set) var probesFailed: UInt64 = 0
    /// `ping-req`s sent to relays because a direct ack was late (one per relay asked).
    public internal(set) var indirectProbes: UInt64 = 0
    /// Acks received for this node's probes (each gives one round-trip sample).
    public internal(set) var acksReceived: UInt64 = 0
    /// Nacks received from relays (Lifeguard: the relay is fine, the target is silent).
    public internal(set) var nacksReceived: UInt64 = 0
    /// Suspicions this node raised itself from its own failed probe rounds.
    public internal(set) var suspicionsRaised: UInt64 = 0
    /// Times a member became `suspect` in this node's view (raised here or heard of).
    public internal(set) var membersSuspected: UInt64 = 0
    /// Suspicions heard of and set aside because this node, an observer of the
    /// subject, had an ack from it within the last probe period.
    public internal(set) var suspicionsOutweighed: UInt64 = 0
    /// Suspicions from a lone observer that this node, not an observer of the subject,
    /// held back until a second observer agreed (most are never corroborated).
    public internal(set) var suspicionsHeld: UInt64 = 0
    /// Times this node refuted a suspicion of itself by raising its incarnation.
    public internal(set) var refutations: UInt64 = 0
    /// Failure votes this node signed.
    public internal(set) var votesCast: UInt64 = 0
    /// Members this node moved to `failed` on a valid certificate (not those it first
    /// learned of as already failed, when joining).
    public internal(set) var certificates: UInt64 = 0
    /// Datagrams the engine asked the shell to send (sync streams not included).
    public internal(set) var messagesSent: UInt64 = 0
    /// Gossip updates piggybacked on those datagrams.
    public internal(set) var updatesSent: UInt64 = 0
    /// Round-trip samples dropped because the shell did not drain them in time
    /// (see `Instance.roundTripCapacity`).
    public internal(set) var roundTripsDropped: UInt64 = 0

    public init() {}
}

/// The phi of one subject this node observes and currently suspects.
public struct SuspectPhi: Sendable, Equatable {
    public var name: String
    public var phi: Double

    public init(name: String, phi: Double) {
        self.name = name
        self.phi = phi
    }
}

/// What the core asks its shell (agent or simulator) to do. Returned by every input.
public enum Directive: Equatable, Sendable {
    /// Send `packet` as one datagram (UDP); the core keeps it under the MTU.
    case send(Packet, to: Address)
    /// Send `packet` over a stream (TCP); used for sync, which may exceed the MTU.
    case stream(Packet, to: Address)
    /// Call `tick(now:)` at this instant. Replaces any wake-up asked for before.
    case wake(at: Instant)
    /// Tell the world (CLI `monitor`, logs, metrics, the simulator's bookkeeping).
    case publish(MembershipEvent)
    /// Write this durably (fsync) before carrying out the directives after it: a
    /// vote must not leave before it is on disk, or a restart could vote twice; an HA
    /// step is on disk before it is gossiped on.
    case persist(DurableRecord)
    /// Only the leader, only for a certified failure: power `order.node` off, verify it,
    /// and report with `Instance.fenceCompleted`.
    case fence(FenceOrder)
    /// Only the leader, only after the node's fence was confirmed: recover its
    /// instances and report with `Instance.recoveryCompleted`.
    case recover(RecoveryOrder)
}

/// State that must survive a crash of the agent.
public enum DurableRecord: Equatable, Sendable {
    /// The election's term and vote (Raft's `currentTerm`, `votedFor`).
    case election(ElectionRecord)
    /// A step of a failed node's HA lifecycle this node just stored (made here as
    /// leader, or gossiped or synced from one): the shell appends it to its journal and
    /// hands the newest of each node back with `Instance.restore(haRecords:)` at start.
    case ha(HARecord)
}

/// Something observable happened to the membership.
public enum MembershipEvent: Equatable, Sendable {
    /// A member's status or incarnation changed in this node's view
    /// (`from == nil`: first heard of it).
    case statusChanged(member: String, from: MemberStatus?, to: MemberStatus, incarnation: UInt64)
    /// A member was declared failed here, with the certificate that proves it.
    case failureCertified(FailureCertificate)
    /// This node refuted a suspicion of itself by moving to `incarnation`.
    case refuted(incarnation: UInt64)
    /// This node learned a valid certificate against itself. It stops refuting and
    /// voting; only a restart (a new, higher incarnation) brings it back.
    case declaredFailed(FailureCertificate)
    /// A known name showed up with a different identity key; the update was refused.
    case identityConflict(name: String, address: Address)
    /// This node's own probes all fail: it suspects itself, not the world, and does
    /// not vote until it hears from peers again (`false` when that ends).
    case isolated(Bool)
    /// Lifeguard local health score changed (0 is healthy).
    case healthChanged(score: Int)
    /// A datagram was dropped before reaching the protocol, and why.
    case dropped(reason: DropReason)
    /// This node's idea of the leader changed: `leader` leads `term` (this node
    /// itself when it won), or `nil` when no leader is known (lease lost, new term).
    case leaderChanged(term: UInt64, leader: String?)
    /// A failed node's HA lifecycle moved (here or as gossiped by the leader).
    case haChanged(HARecord)
    /// A newer cluster keyring record was adopted (issued here, gossiped or synced):
    /// the shell decodes its payload, applies and persists the keys, then reports
    /// what it holds with `Instance.reportKeys(primary:installed:now:)`.
    case keyringChanged(KeyringRecord)
}

/// Why an input was dropped (counted by the shell's metrics).
/// (The shell adds its own reasons for what never reaches the core: bad seal, replay,
/// undecodable bytes.)
public enum DropReason: String, Equatable, Sendable, CaseIterable {
    /// A packet claiming to come from this node itself.
    case fromSelf
    /// A ping meant for another node (an address reused by a different member).
    case wrongTarget
    /// A vote or departure whose signature does not verify against the signer's key.
    case badSignature
    /// An ack for no outstanding probe (late, duplicated, or forged).
    case staleSequence
    /// An election message from a member that is not live here (or unknown).
    case notAMember
    /// A signed record (a cluster keyring) from an issuer this node has no identity
    /// key for, so its signature cannot be checked.
    case unknownSigner
}

/// The proof that `subject` at `incarnation` failed: more than half of its observers'
/// signed votes. Any member can check it against its own view (`Instance.verify(_:)`).
public struct FailureCertificate: Hashable, Sendable {
    public var subject: String
    public var incarnation: UInt64
    public var votes: [Vote]

    public init(subject: String, incarnation: UInt64, votes: [Vote]) {
        self.subject = subject
        self.incarnation = incarnation
        self.votes = votes
    }
}

import VigilCrypto

/// Where a failed node stands on its way back to service (DESIGN.md "HA lifecycle of
/// a node"): healthy → failed (certificate) → fencing → fenced → recovering →
/// recovered, or fence-failed / recovery-failed, each retried with backoff; a brake
/// holds fencing for an operator when too much failed at once.
public enum HAPhase: UInt8, Sendable, Equatable, CaseIterable, CustomStringConvertible {
    /// The blast-radius brake is engaged: nothing is fenced until an operator approves.
    case awaitingApproval = 1
    /// The leader runs the node's fence levels.
    case fencing = 2
    /// Every fence level failed; retried with backoff. Nothing is recovered.
    case fenceFailed = 3
    /// Power-off verified: the node can touch no shared resource any more.
    case fenced = 4
    /// The leader asked the cloud to restart the node's instances elsewhere.
    case recovering = 5
    /// The recovery driver failed; retried with backoff.
    case recoveryFailed = 6
    /// The cloud accepted the recovery (Masakari notification, Nova evacuations).
    case recovered = 7
    /// An operator let a brake-held fence go ahead (`vigil fence approve`); the leader
    /// fences next.
    case approved = 8
    /// An operator returned a fenced node to service (`vigil fence unfence`): until
    /// then a fenced node that comes back stays out of the quorum denominator and out
    /// of the leader's work.
    case unfenced = 9

    /// Whether the node's power is known to be off in this phase.
    public var isFenced: Bool {
        switch self {
        case .fenced, .recovering, .recoveryFailed, .recovered: true
        case .awaitingApproval, .approved, .fencing, .fenceFailed, .unfenced: false
        }
    }

    /// The stage of a life this phase belongs to. A life only moves forward through
    /// them — before the fence (0), fenced (1), back in service (2) — so a record of a
    /// later stage wins over any record of an earlier one of the same life, whatever
    /// its term: a late "fence failed" never undoes a confirmed fence, and a late
    /// recovery never undoes an unfence.
    public var stage: UInt8 {
        switch self {
        case .awaitingApproval, .approved, .fencing, .fenceFailed: 0
        case .fenced, .recovering, .recoveryFailed, .recovered: 1
        case .unfenced: 2
        }
    }

    public var description: String {
        switch self {
        case .awaitingApproval: "awaiting-approval"
        case .fencing: "fencing"
        case .fenceFailed: "fence-failed"
        case .fenced: "fenced"
        case .recovering: "recovering"
        case .recoveryFailed: "recovery-failed"
        case .recovered: "recovered"
        case .approved: "approved"
        case .unfenced: "unfenced"
        }
    }
}

/// One step of a failed node's HA lifecycle, as the leader of `term` recorded it,
/// signed by that leader and gossiped, so that every member knows it and a new leader
/// resumes instead of starting over. The term is the fencing token.
public struct HARecord: Hashable, Sendable {
    /// The failed node.
    public var node: String
    /// The life of the node this is about: a restart is a new life, with its own record.
    public var life: UInt32
    /// The leader's term when this step was taken (the fencing token).
    public var term: UInt64
    /// Orders the steps of one (node, life) within a term.
    public var sequence: UInt32
    public var phase: HAPhase
    /// The member that took this step and signed it: the leader for the automatic
    /// steps, the node an operator ran `vigil fence approve/confirm/unfence` on for
    /// theirs.
    public var leader: String
    /// Fence or recovery attempts so far in this phase.
    public var attempts: UInt16
    /// For history: the method and what it said (`redfish: PowerState Off`), at most
    /// 255 bytes of UTF-8.
    public var detail: String
    public var signature: Signature

    public init(
        node: String, life: UInt32, term: UInt64, sequence: UInt32, phase: HAPhase, leader: String, attempts: UInt16,
        detail: String, signature: Signature
    ) {
        self.node = node
        self.life = life
        self.term = term
        self.sequence = sequence
        self.phase = phase
        self.leader = leader
        self.attempts = attempts
        self.detail = detail
        self.signature = signature
    }

    /// Newer wins: a later life, then a later stage of that life (``HAPhase/stage``),
    /// then a later term (a new leader's step supersedes whatever an old one was
    /// doing), then a later step. Two different records that tie on all of these (a
    /// leader and an operator acting at once) are ordered by phase and signer, so
    /// every member keeps the same one whatever order they arrive in.
    public var precedence: Precedence {
        Precedence(
            life: self.life, stage: self.phase.stage, term: self.term, sequence: self.sequence,
            phase: self.phase.rawValue, signer: self.leader)
    }

    public struct Precedence: Comparable, Sendable {
        var life: UInt32
        var stage: UInt8
        var term: UInt64
        var sequence: UInt32
        var phase: UInt8
        var signer: String

        public static func < (lhs: Precedence, rhs: Precedence) -> Bool {
            (lhs.life, lhs.stage, lhs.term, lhs.sequence, lhs.phase, lhs.signer)
                < (rhs.life, rhs.stage, rhs.term, rhs.sequence, rhs.phase, rhs.signer)
        }
    }

    /// The bytes the leader signs: a domain tag, then every field.
    public static func signedBytes(
        node: String, life: UInt32, term: UInt64, sequence: UInt32, phase: HAPhase, leader: String, attempts: UInt16,
        detail: String
    ) -> [UInt8] {
        var bytes: [UInt8] = Array("vigil.ha.v1".utf8)
        bytes.appendLengthPrefixed(node)
        bytes.appendBigEndian(life)
        bytes.appendBigEndian(term)
        bytes.appendBigEndian(sequence)
        bytes.append(phase.rawValue)
        bytes.appendLengthPrefixed(leader)
        bytes.appendBigEndian(attempts)
        bytes.appendLengthPrefixed(detail)
        return bytes
    }

    public var signedBytes: [UInt8] {
        Self.signedBytes(
            node: self.node, life: self.life, term: self.term, sequence: self.sequence, phase: self.phase,
            leader: self.leader, attempts: self.attempts, detail: self.detail)
    }
}

/// The leader asks its shell to fence `node`: run its fence levels, verify power-off,
/// then report with `Instance.fenceCompleted(_:confirmed:detail:now:)`.
public struct FenceOrder: Hashable, Sendable {
    public var node: String
    public var life: UInt32
    /// The fencing token.
    public var term: UInt64
    /// The node's last known address (for drivers that need it, and the simulator).
    public var address: Address

    public init(node: String, life: UInt32, term: UInt64, address: Address) {
        self.node = node
        self.life = life
        self.term = term
        self.address = address
    }
}

/// The leader asks its shell to recover `node`'s instances (only ever after the node's
/// fence was confirmed), then to report with `Instance.recoveryCompleted`.
public struct RecoveryOrder: Hashable, Sendable {
    public var node: String
    public var life: UInt32
    public var term: UInt64

    public init(node: String, life: UInt32, term: UInt64) {
        self.node = node
        self.life = life
        self.term = term
    }
}

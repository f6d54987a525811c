import VigilCrypto

/// One protocol message as it crosses the network, before sealing (the agent seals;
/// the core never sees keys of the cluster keyring).
///
/// Every packet names its sender and carries one `Message` plus piggybacked
/// `Update`s (SWIM's infection-style dissemination, §4.1). The binary layout lives
/// in `WireCodec.swift`; message and update type numbers are append-only.
public struct Packet: Equatable, Sendable {
    /// The sending member's name.
    public var sender: String
    public var message: Message
    /// Membership news riding along, most important first.
    public var gossip: [Update]

    public init(sender: String, message: Message, gossip: [Update] = []) {
        self.sender = sender
        self.message = message
        self.gossip = gossip
    }
}

/// The request/response part of a packet.
public enum Message: Equatable, Sendable {
    /// Are you there? (`target` names the intended receiver so a ping that reaches a
    /// different node at a reused address is ignored, as memberlist does.)
    case ping(seq: UInt32, target: String)
    /// Answer to a ping (direct or relayed) with the same sequence number.
    case ack(seq: UInt32)
    /// Please ping `target` at `address` for me and forward its ack (SWIM §3.2).
    case pingReq(seq: UInt32, target: String, address: Address)
    /// Lifeguard §IV.A: the relay did not hear from the target in time; tells the
    /// requester that the relay itself is alive, so its own health is not to blame.
    case nack(seq: UInt32)
    /// Anti-entropy and join (sent over a stream; may exceed the MTU).
    case sync(Sync)
    /// Nothing but the piggybacked updates: news pushed to random members every
    /// gossip interval while there is any (memberlist's gossip), so that it spreads
    /// beyond the fixed ring neighbours that probes reach.
    case gossip
    /// Leader election and lease renewal (`LeaderElection`).
    case election(ElectionMessage)
}

/// Push-pull state exchange. The initiator first sends only its digest; a peer whose
/// digest differs answers with its full state and asks for the initiator's.
public struct Sync: Equatable, Sendable {
    /// `MembershipState.digest` of the sender's state (after merging what it got).
    public var digest: UInt64
    /// Whether the receiver should answer with its own full state if it differs.
    public var replyWanted: Bool
    /// The sender's full state, or `nil` for a digest-only opening.
    public var state: MembershipState?

    public init(digest: UInt64, replyWanted: Bool, state: MembershipState?) {
        self.digest = digest
        self.replyWanted = replyWanted
        self.state = state
    }
}

/// A full membership table with the proofs behind its terminal statuses.
public struct MembershipState: Equatable, Sendable {
    /// Every member the sender knows, with the status it believes.
    public var members: [Member]
    /// The votes behind every `failed` member in `members` (its certificate).
    public var votes: [Vote]
    /// The signed departures behind `left` members in `members` that left by themselves.
    public var departures: [Departure]
    /// The signed operator removals behind `left` members that were forced out.
    public var removals: [Removal]

    /// The latest cluster keyring record the sender adopted, so that a node that was
    /// down when it was issued learns it on rejoining.
    public var keyring: KeyringRecord?
    /// What each member reported it holds (`vigil keys list`).
    public var keyReports: [KeyReport]
    /// The newest HA record of each failed node, so a new leader or a joiner resumes.
    public var haRecords: [HARecord]

    public init(
        members: [Member], votes: [Vote] = [], departures: [Departure] = [], removals: [Removal] = [],
        keyring: KeyringRecord? = nil, keyReports: [KeyReport] = [], haRecords: [HARecord] = []
    ) {
        self.haRecords = haRecords
        self.members = members
        self.votes = votes
        self.departures = departures
        self.removals = removals
        self.keyring = keyring
        self.keyReports = keyReports
    }
}

/// A piece of membership news, gossiped on pings and acks.
public enum Update: Equatable, Sendable {
    /// The member is alive at this incarnation (join, refutation, new tags or address).
    /// The carried `status` is ignored; the update always means `alive`.
    case alive(Member)
    /// `observer` suspects `subject` at `incarnation` (unsigned: it only starts timers
    /// and asks the subject to refute).
    case suspect(Suspicion)
    /// A signed failure vote.
    case vote(Vote)
    /// A signed graceful leave.
    case left(Departure)
    /// A complete failure certificate: a quorum of votes against one incarnation.
    /// Once a node has a quorum it gossips the whole proof as one unit, so nobody
    /// is left holding some votes but never the deciding one.
    case failed(FailureCertificate)
    /// An operator removed a failed member (`vigil force-leave`): it is `left` from
    /// now on for its life, no longer probed, reported as failed or retried.
    case removed(Removal)
    /// The desired cluster keyring, signed by the member that issued it; the record
    /// with the highest `KeyringRecord.precedence` wins.
    case keyring(KeyringRecord)
    /// The keys a member holds now; the highest sequence per member wins.
    case keyReport(KeyReport)
    /// A step of a failed node's HA lifecycle, signed by the leader that took it.
    case ha(HARecord)
}

/// An unsigned suspicion, gossiped so the subject can refute and other observers
/// can count confirmations (Lifeguard §IV.B).
public struct Suspicion: Hashable, Sendable {
    public var subject: String
    public var incarnation: UInt64
    public var observer: String

    public init(subject: String, incarnation: UInt64, observer: String) {
        self.subject = subject
        self.incarnation = incarnation
        self.observer = observer
    }
}

/// An observer's signed claim that `subject` at `incarnation` suspected for a full
/// suspicion window without refuting. More than half of a subject's observers voting
/// against one incarnation form its failure certificate.
public struct Vote: Hashable, Sendable {
    public var subject: String
    public var incarnation: UInt64
    public var observer: String
    public var signature: Signature

    public init(subject: String, incarnation: UInt64, observer: String, signature: Signature) {
        self.subject = subject
        self.incarnation = incarnation
        self.observer = observer
        self.signature = signature
    }

    /// The bytes an observer signs: a domain tag, then the fields, length-prefixed.
    public static func signedBytes(subject: String, incarnation: UInt64, observer: String) -> [UInt8] {
        var bytes: [UInt8] = Array("vigil.vote.v1".utf8)
        bytes.appendLengthPrefixed(subject)
        bytes.appendBigEndian(incarnation)
        bytes.appendLengthPrefixed(observer)
        return bytes
    }

    public var signedBytes: [UInt8] {
        Self.signedBytes(subject: self.subject, incarnation: self.incarnation, observer: self.observer)
    }
}

/// A member's signed, graceful departure at `incarnation`.
public struct Departure: Hashable, Sendable {
    public var name: String
    public var incarnation: UInt64
    public var signature: Signature

    public init(name: String, incarnation: UInt64, signature: Signature) {
        self.name = name
        self.incarnation = incarnation
        self.signature = signature
    }

    public static func signedBytes(name: String, incarnation: UInt64) -> [UInt8] {
        var bytes: [UInt8] = Array("vigil.leave.v1".utf8)
        bytes.appendLengthPrefixed(name)
        bytes.appendBigEndian(incarnation)
        return bytes
    }

    public var signedBytes: [UInt8] {
        Self.signedBytes(name: self.name, incarnation: self.incarnation)
    }
}

/// An operator's removal of a failed member, signed by the node that took the order
/// (`vigil force-leave NAME` on that node). Valid only against a member that is
/// failed, and only for the life it failed in: a restarted node (a new life) joins
/// as usual.
public struct Removal: Hashable, Sendable {
    /// The removed member.
    public var name: String
    /// The removed member's incarnation when it was removed (its failed one).
    public var incarnation: UInt64
    /// The member that issued the removal and signed it.
    public var issuer: String
    public var signature: Signature

    public init(name: String, incarnation: UInt64, issuer: String, signature: Signature) {
        self.name = name
        self.incarnation = incarnation
        self.issuer = issuer
        self.signature = signature
    }

    public static func signedBytes(name: String, incarnation: UInt64, issuer: String) -> [UInt8] {
        var bytes: [UInt8] = Array("vigil.remove.v1".utf8)
        bytes.appendLengthPrefixed(name)
        bytes.appendBigEndian(incarnation)
        bytes.appendLengthPrefixed(issuer)
        return bytes
    }

    public var signedBytes: [UInt8] {
        Self.signedBytes(name: self.name, incarnation: self.incarnation, issuer: self.issuer)
    }
}

extension [UInt8] {
    mutating func appendLengthPrefixed(_ string: String) {
        let utf8 = Array(string.utf8)
        self.appendBigEndian(UInt16(truncatingIfNeeded: utf8.count))
        self.append(contentsOf: utf8)
    }

    mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        var v = value.bigEndian
        Swift.withUnsafeBytes(of: &v) { self.append(contentsOf: $0) }
    }
}

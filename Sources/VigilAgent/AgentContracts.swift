import VigilCore
import VigilCrypto

// Contracts between the agent's parts, written first so that they can be built side
// by side. Each part owns its folder: Config/, Transport/, Control/, Service/.

/// What a running agent exposes to its control API (implemented by the service).
public protocol AgentControl: Sendable {
    /// Every member this node knows, itself included, sorted by name.
    func members() async -> [MemberView]
    /// This node: name, health, settings, counters.
    func info() async -> AgentInfo
    /// Leaves the cluster gracefully, then stops the agent.
    func leave() async
    /// Marks a failed member as left (operator action, like `serf force-leave`).
    /// - Returns: `false` if no such member or it is not failed.
    func forceLeave(_ name: String) async -> Bool
    /// Membership events from now on, until the stream's consumer stops.
    func events() async -> AsyncStream<EventView>
    /// Why this node believes what it does about `name` (`nil`: unknown member).
    func explain(_ name: String) async -> ExplanationView?
    /// Who leads, as this node sees it (`vigil leader`).
    func leader() async -> LeaderView
    /// Where every failed node's HA lifecycle stands (`vigil fence status`).
    func fenceStatus() async -> FenceStatusView
    /// An operator's `vigil fence approve/confirm/unfence`, recorded on this member
    /// and gossiped.
    func fence(_ command: FenceCommand) async -> FenceCommandView
    /// Which keys the live members hold (`vigil keys list`).
    func keys() async -> KeysView
    /// Issues a new cluster keyring with `operation` applied to `key`
    /// (`vigil keys install/use/remove`), or does nothing if it is already so.
    func changeKeys(_ operation: KeyOperation, key: ClusterKey) async throws(KeyChangeError) -> KeyChangeView
    /// The HA journal's rows, or only those about `node`, oldest first (`vigil history`).
    /// - Throws: if the journal cannot be read (the error says why, in one line).
    func history(node: String?) async throws -> [HistoryEntryView]
}

extension AgentControl {
    public func explain(_ name: String) async -> ExplanationView? { nil }
    // No defaults for `keys` and `changeKeys`: an actor's own synchronous method would
    // lose overload resolution against an async default, and callers would silently
    // get the default.
}

/// Where the runtime reads and replaces the keyring that seals gossip (the transport).
public protocol KeyringHolder: Sendable {
    /// The keyring in use now.
    var keyring: Keyring { get }
    /// Seals and opens with `keyring` from now on.
    func replaceKeyring(_ keyring: Keyring)
}

extension GossipTransport: KeyringHolder {
    public func replaceKeyring(_ keyring: Keyring) {
        self.updateKeyring { $0 = keyring }
    }
}

/// `vigil leader --format json`.
public struct LeaderView: Codable, Sendable, Equatable {
    /// The node answering.
    public var node: String
    /// The leader of `term` as `node` sees it; `nil` while none is known.
    public var leader: String?
    public var term: UInt64
    /// `node`'s own role: `leader`, `candidate` or `follower`.
    public var role: String
    /// The leader's lease as `node` sees it (see `LeaderStatus.leaseRemaining`).
    public var leaseRemainingMs: Double?
    /// The quorum denominator's voters, and how many of them make a majority.
    public var voters: [String]
    public var majority: Int

    public init(
        node: String, leader: String?, term: UInt64, role: String, leaseRemainingMs: Double?, voters: [String],
        majority: Int
    ) {
        self.node = node
        self.leader = leader
        self.term = term
        self.role = role
        self.leaseRemainingMs = leaseRemainingMs
        self.voters = voters
        self.majority = majority
    }

    enum CodingKeys: String, CodingKey {
        case node, leader, term, role
        case leaseRemainingMs = "lease_remaining_ms"
        case voters, majority
    }

    // `leader` is written as `null` when unknown, so scripts can test for it.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.node, forKey: .node)
        try container.encode(self.leader, forKey: .leader)
        try container.encode(self.term, forKey: .term)
        try container.encode(self.role, forKey: .role)
        try container.encode(self.leaseRemainingMs, forKey: .leaseRemainingMs)
        try container.encode(self.voters, forKey: .voters)
        try container.encode(self.majority, forKey: .majority)
    }
}

/// `vigil explain NAME`.
public struct ExplanationView: Codable, Sendable, Equatable {
    public var name: String
    public var status: String
    public var incarnation: UInt64
    public var observers: [String]
    public var observedHere: Bool
    public var phi: Double?
    public var sinceLastAckMs: Double?
    public var lastProbeRoundFailed: Bool?
    public var suspectedBy: [String]
    public var suspicionRemainingMs: Double?
    public var votes: [String]
    public var certifiedBy: [String]?
    public var recentRefutations: Int
    public var flapping: Bool

    public init(_ e: Explanation) {
        self.name = e.name
        self.status = e.status.description
        self.incarnation = e.incarnation
        self.observers = e.observers
        self.observedHere = e.observedHere
        self.phi = e.phi
        self.sinceLastAckMs = e.sinceLastAck?.milliseconds
        self.lastProbeRoundFailed = e.lastProbeRoundFailed
        self.suspectedBy = e.suspectedBy
        self.suspicionRemainingMs = e.suspicionRemaining?.milliseconds
        self.votes = e.votes
        self.certifiedBy = e.certifiedBy
        self.recentRefutations = e.recentRefutations
        self.flapping = e.flapping
    }

    enum CodingKeys: String, CodingKey {
        case name, status, incarnation, observers
        case observedHere = "observed_here"
        case phi
        case sinceLastAckMs = "since_last_ack_ms"
        case lastProbeRoundFailed = "last_probe_round_failed"
        case suspectedBy = "suspected_by"
        case suspicionRemainingMs = "suspicion_remaining_ms"
        case votes
        case certifiedBy = "certified_by"
        case recentRefutations = "recent_refutations"
        case flapping
    }
}

/// One member as the CLI shows it (`vigil members --format json`).
public struct MemberView: Codable, Sendable, Equatable {
    public var name: String
    public var addr: String
    public var port: UInt16
    public var status: String
    public var incarnation: UInt64
    public var tags: [String: String]
    /// For a suspect: the observers whose suspicion this node heard of.
    public var suspectedBy: [String]
    /// For a suspect: the failure votes this node holds against its incarnation.
    public var votes: Int
    /// Fenced and not returned to service (`vigil fence unfence`): it may be `alive`
    /// again, yet neither votes nor leads. Written to JSON only when true.
    public var outOfService: Bool

    public init(
        name: String, addr: String, port: UInt16, status: String, incarnation: UInt64, tags: [String: String],
        suspectedBy: [String] = [], votes: Int = 0, outOfService: Bool = false
    ) {
        self.name = name
        self.addr = addr
        self.port = port
        self.status = status
        self.incarnation = incarnation
        self.tags = tags
        self.suspectedBy = suspectedBy
        self.votes = votes
        self.outOfService = outOfService
    }

    enum CodingKeys: String, CodingKey {
        case name, addr, port, status, incarnation, tags
        case suspectedBy = "suspected_by"
        case votes
        case outOfService = "out_of_service"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.name = try container.decode(String.self, forKey: .name)
        self.addr = try container.decode(String.self, forKey: .addr)
        self.port = try container.decode(UInt16.self, forKey: .port)
        self.status = try container.decode(String.self, forKey: .status)
        self.incarnation = try container.decode(UInt64.self, forKey: .incarnation)
        self.tags = try container.decode([String: String].self, forKey: .tags)
        self.suspectedBy = try container.decode([String].self, forKey: .suspectedBy)
        self.votes = try container.decode(Int.self, forKey: .votes)
        self.outOfService = try container.decodeIfPresent(Bool.self, forKey: .outOfService) ?? false
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.name, forKey: .name)
        try container.encode(self.addr, forKey: .addr)
        try container.encode(self.port, forKey: .port)
        try container.encode(self.status, forKey: .status)
        try container.encode(self.incarnation, forKey: .incarnation)
        try container.encode(self.tags, forKey: .tags)
        try container.encode(self.suspectedBy, forKey: .suspectedBy)
        try container.encode(self.votes, forKey: .votes)
        if self.outOfService { try container.encode(true, forKey: .outOfService) }
    }
}

/// `vigil info`.
public struct AgentInfo: Codable, Sendable, Equatable {
    public var name: String
    public var address: String
    public var incarnation: UInt64
    public var healthScore: Int
    public var isolated: Bool
    public var preset: String
    public var members: [String: Int]  // status → count
    public var counters: [String: UInt64]  // e.g. packets_in, dropped_bad_seal

    public init(
        name: String, address: String, incarnation: UInt64, healthScore: Int, isolated: Bool, preset: String,
        members: [String: Int], counters: [String: UInt64]
    ) {
        self.name = name
        self.address = address
        self.incarnation = incarnation
        self.healthScore = healthScore
        self.isolated = isolated
        self.preset = preset
        self.members = members
        self.counters = counters
    }

    enum CodingKeys: String, CodingKey {
        case name, address, incarnation
        case healthScore = "health_score"
        case isolated, preset, members, counters
    }
}

/// One line of `vigil monitor`.
public struct EventView: Codable, Sendable, Equatable {
    /// Wall-clock time, RFC 3339.
    public var time: String
    /// `member-status`, `failure-certified`, `refuted`, `declared-failed`,
    /// `identity-conflict`, `isolated`, `health`, `keyring-changed` (version and
    /// issuer only, never keys).
    public var event: String
    public var member: String?
    public var from: String?
    public var to: String?
    public var incarnation: UInt64?
    public var detail: String?

    public init(
        time: String, event: String, member: String? = nil, from: String? = nil, to: String? = nil,
        incarnation: UInt64? = nil, detail: String? = nil
    ) {
        self.time = time
        self.event = event
        self.member = member
        self.from = from
        self.to = to
        self.incarnation = incarnation
        self.detail = detail
    }
}

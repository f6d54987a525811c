import VigilCrypto

/// One node's protocol engine: SWIM membership with phi-accrual detection, Lifeguard
/// and a signed failure quorum. A value type that does no I/O and reads no clock:
/// every input takes `now` and returns `Directive`s for the shell to carry out.
public struct Instance: Sendable {
    public let configuration: Configuration
    public private(set) var me: Member
    private let identity: SigningKey
    private var rng: DeterministicRNG

    /// - Parameters:
    ///   - name: this node's name (the Nova compute host name).
    ///   - address: where peers reach this node.
    ///   - tags: labels gossiped with the membership.
    ///   - identity: this node's Ed25519 key; votes and leaves are signed with it.
    ///   - incarnation: must exceed any incarnation this node used before.
    ///   - configuration: protocol settings.
    ///   - rng: every random choice is drawn from here.
    public init(
        name: String,
        address: Address,
        tags: [String: String] = [:],
        identity: SigningKey,
        incarnation: UInt64,
        configuration: Configuration,
        rng: DeterministicRNG
    ) {
        self.configuration = configuration
        self.identity = identity
        self.rng = rng
        self.me = Member(
            name: name, address: address, incarnation: incarnation, status: .alive, tags: tags,
            identityKey: identity.publicKey)
    }

    /// Starts the protocol, joining through `seeds` (none for the first node).
    public mutating func start(joining seeds: [Address], now: Instant) -> [Directive] {
        []
    }

    /// Handles one decoded packet that arrived from `address`.
    public mutating func receive(_ packet: Packet, from address: Address, now: Instant) -> [Directive] {
        []
    }

    /// Runs whatever is due at `now` (probes, timeouts, suspicion windows, sync).
    public mutating func tick(now: Instant) -> [Directive] {
        []
    }

    /// Leaves the cluster gracefully: gossips a signed departure.
    public mutating func leave(now: Instant) -> [Directive] {
        []
    }

    /// Every member this node knows, itself included, sorted by name.
    public var members: [Member] {
        [self.me]
    }

    public func member(named name: String) -> Member? {
        name == self.me.name ? self.me : nil
    }

    /// Lifeguard local health score (0 = healthy).
    public var healthScore: Int { 0 }

    /// Whether this node learned a valid failure certificate against itself.
    public var isDeclaredFailed: Bool { false }
}

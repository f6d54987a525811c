import VigilCrypto

/// Everything the cluster knows about one node.
public struct Member: Hashable, Sendable {
    /// The node's host name: the same string Nova uses for its compute host.
    public var name: String
    public var address: Address
    public var incarnation: UInt64
    public var status: MemberStatus
    /// Free-form labels (role, availability zone, rack, ...).
    public var tags: [String: String]
    /// The node's Ed25519 identity; votes and leaves it signs verify against this.
    public var identityKey: PublicKey

    public init(
        name: String,
        address: Address,
        incarnation: UInt64,
        status: MemberStatus,
        tags: [String: String] = [:],
        identityKey: PublicKey
    ) {
        self.name = name
        self.address = address
        self.incarnation = incarnation
        self.status = status
        self.tags = tags
        self.identityKey = identityKey
    }

    public var liveness: Liveness {
        Liveness(incarnation: self.incarnation, status: self.status)
    }
}

import VigilCore

/// One member as the members snapshot (`members.json` in the data directory) keeps
/// it, so a restarted agent can rejoin without its seeds (serf's snapshot): the
/// agent retries the members it last saw alive or suspect.
public struct SnapshotMember: Sendable, Equatable, Codable {
    public var name: String
    public var address: Address
    /// The status this node last believed.
    public var status: MemberStatus

    public init(name: String, address: Address, status: MemberStatus) {
        self.name = name
        self.address = address
        self.status = status
    }

    enum CodingKeys: String, CodingKey {
        case name, address, status
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.name = try container.decode(String.self, forKey: .name)
        let address = try container.decode(String.self, forKey: .address)
        guard let parsed = Address(parsing: address) else {
            throw DecodingError.dataCorruptedError(
                forKey: .address, in: container, debugDescription: "`\(address)` is not HOST:PORT")
        }
        self.address = parsed
        let status = try container.decode(String.self, forKey: .status)
        guard let known = MemberStatus.allCases.first(where: { $0.description == status }) else {
            throw DecodingError.dataCorruptedError(
                forKey: .status, in: container, debugDescription: "`\(status)` is not a member status")
        }
        self.status = known
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.name, forKey: .name)
        try container.encode(self.address.description, forKey: .address)
        try container.encode(self.status.description, forKey: .status)
    }
}

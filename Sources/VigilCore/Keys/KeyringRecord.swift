import VigilCrypto

/// The whole desired cluster keyring, as one member issued it: gossiped and synced so
/// that `vigil keys install/use/remove` reaches every node, including one that was
/// down and rejoins later (it learns the latest record in its join sync).
///
/// The core never reads `payload`: the agent encodes the cluster keys into it (they
/// travel inside sealed packets only) and decodes them when a record is adopted. The
/// core only orders records, checks the issuer's signature and spreads them.
public struct KeyringRecord: Hashable, Sendable {
    /// Grows by one with every change issued (`Instance.issueKeyring(payload:now:)`).
    public var version: UInt64
    /// The member that issued this record and signed it.
    public var issuer: String
    /// The keys as the agent encoded them; at most `WireCodec.maxKeyringPayloadBytes`.
    public var payload: [UInt8]
    /// The issuer's Ed25519 signature over `signedBytes`.
    public var signature: Signature

    public init(version: UInt64, issuer: String, payload: [UInt8], signature: Signature) {
        self.version = version
        self.issuer = issuer
        self.payload = payload
        self.signature = signature
    }

    /// What the issuer signs: a domain tag (so a keyring signature can never pass for
    /// a vote or a departure), then the fields, length-prefixed.
    public static func signedBytes(version: UInt64, issuer: String, payload: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = Array("vigil.keyring.v1".utf8)
        bytes.appendBigEndian(version)
        bytes.appendLengthPrefixed(issuer)
        bytes.appendBigEndian(UInt32(truncatingIfNeeded: payload.count))
        bytes.append(contentsOf: payload)
        return bytes
    }

    public var signedBytes: [UInt8] {
        Self.signedBytes(version: self.version, issuer: self.issuer, payload: self.payload)
    }

    /// The merge order of records: the higher precedence wins everywhere.
    public var precedence: Precedence {
        Precedence(version: self.version, issuer: self.issuer, payload: self.payload)
    }

    /// Higher version first; two members that issued the same version at once are
    /// ordered by name, and (only if one issuer reused a version, e.g. after losing its
    /// data directory) by payload bytes, so that every node picks the same winner.
    public struct Precedence: Comparable, Sendable {
        public var version: UInt64
        public var issuer: String
        public var payload: [UInt8]

        public static func < (lhs: Precedence, rhs: Precedence) -> Bool {
            if lhs.version != rhs.version { return lhs.version < rhs.version }
            if lhs.issuer != rhs.issuer { return lhs.issuer < rhs.issuer }
            return lhs.payload.lexicographicallyPrecedes(rhs.payload)
        }
    }
}

extension KeyringRecord: CustomStringConvertible, CustomReflectable {
    /// Never shows the payload: it holds the cluster keys.
    public var description: String {
        "KeyringRecord(version: \(self.version), issuer: \(self.issuer), payload: \(self.payload.count) bytes)"
    }

    /// Keeps the payload out of `dump`, test failure output and debugger summaries.
    public var customMirror: Mirror {
        Mirror(self, children: ["version": self.version, "issuer": self.issuer, "payloadBytes": self.payload.count])
    }
}

/// What one member says it actually holds after applying the cluster keyring: the
/// id of the key it seals with and the ids of every key it opens with. `vigil keys`
/// counts these to tell when a change has reached every live member.
///
/// Unsigned, like suspicions: a forged report can only mislead `vigil keys list`, not
/// change any key (the agent checks its own keyring before every change).
public struct KeyReport: Hashable, Sendable {
    public var member: String
    /// Grows with every report of the member; starts at its life (`Incarnation.first`)
    /// so that a restarted member's reports replace those of its earlier lives.
    public var sequence: UInt64
    /// Key id of the primary key.
    public var primary: UInt32
    /// Key ids of the installed keys, the primary included; at most
    /// `WireCodec.maxReportedKeys`.
    public var installed: [UInt32]

    public init(member: String, sequence: UInt64, primary: UInt32, installed: [UInt32]) {
        self.member = member
        self.sequence = sequence
        self.primary = primary
        self.installed = installed
    }
}

/// Why bytes could not be decoded as a `Packet`, or why a `Packet` cannot be encoded
/// faithfully.
///
/// A struct over a private enum (as swift-nio does) so cases can be added without
/// breaking callers that `switch` — compare with `==` against the static members:
///
/// ```swift
/// do { packet = try Packet(decoding: datagram) }
/// catch where error == .unsupportedVersion { metrics.foreignVersion.increment() }
/// ```
///
/// Every decoding error means "drop the packet and count it"; none is worth more than
/// a debug log line, since garbage on the gossip port is expected (DESIGN.md, Security).
public struct WireError: Error, Equatable, Hashable, Sendable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case truncated
        case unsupportedVersion
        case unknownMessageType
        case unknownUpdateType
        case unknownMemberStatus
        case invalidFlags
        case invalidUTF8
        case lengthOutOfBounds
        case duplicateTag
        case trailingBytes
        case invalidKey
        case invalidSignature
        case stringTooLong
        case tooManyTags
        case tooManyEntries
        case payloadTooLong
    }

    private let code: Code

    private init(_ code: Code) {
        self.code = code
    }

    // MARK: Decoding

    /// The bytes end in the middle of a field.
    public static let truncated = WireError(.truncated)
    /// Byte 0 holds a protocol version outside `WireCodec.supportedVersions`.
    public static let unsupportedVersion = WireError(.unsupportedVersion)
    /// Byte 1 holds a message type this version does not know.
    public static let unknownMessageType = WireError(.unknownMessageType)
    /// A gossiped update has a type this version does not know.
    public static let unknownUpdateType = WireError(.unknownUpdateType)
    /// A member's status byte is not a `MemberStatus` raw value.
    public static let unknownMemberStatus = WireError(.unknownMemberStatus)
    /// A flags byte has reserved bits set.
    public static let invalidFlags = WireError(.invalidFlags)
    /// A string field is not valid UTF-8.
    public static let invalidUTF8 = WireError(.invalidUTF8)
    /// A declared count exceeds its limit, or more elements than the remaining bytes
    /// could possibly hold (checked before anything is allocated for them).
    public static let lengthOutOfBounds = WireError(.lengthOutOfBounds)
    /// A member's tags name the same key twice.
    public static let duplicateTag = WireError(.duplicateTag)
    /// Bytes remain after a complete packet.
    public static let trailingBytes = WireError(.trailingBytes)
    /// An identity key is not a well-formed 32-byte Ed25519 public key.
    public static let invalidKey = WireError(.invalidKey)
    /// A signature is not a well-formed 64-byte Ed25519 signature.
    public static let invalidSignature = WireError(.invalidSignature)

    // MARK: Encoding (`Packet.validate()`)

    /// A string is longer than `WireCodec.maxStringBytes` UTF-8 bytes.
    public static let stringTooLong = WireError(.stringTooLong)
    /// A member has more than `WireCodec.maxTagCount` tags.
    public static let tooManyTags = WireError(.tooManyTags)
    /// A list is longer than the wire allows (`WireCodec.maxGossipCount` updates per
    /// packet, `WireCodec.maxStateEntries` members, votes or departures per sync).
    public static let tooManyEntries = WireError(.tooManyEntries)
    /// A keyring record's payload is longer than `WireCodec.maxKeyringPayloadBytes`.
    public static let payloadTooLong = WireError(.payloadTooLong)

    public var description: String {
        switch self.code {
        case .truncated:
            "wire: packet ends in the middle of a field (truncated datagram, or not a Vigil packet)"
        case .unsupportedVersion:
            "wire: packet uses a protocol version outside \(WireCodec.supportedVersions.lowerBound)..."
                + "\(WireCodec.supportedVersions.upperBound); upgrade the older node or check that "
                + "the port is Vigil's gossip port"
        case .unknownMessageType:
            "wire: unknown message type (sent by a newer node, or garbled)"
        case .unknownUpdateType:
            "wire: unknown gossip update type (sent by a newer node, or garbled)"
        case .unknownMemberStatus:
            "wire: member status byte is not alive(0), suspect(1), failed(2) or left(3)"
        case .invalidFlags:
            "wire: a flags byte has reserved bits set (sent by a newer node, or garbled)"
        case .invalidUTF8:
            "wire: a name, host or tag is not valid UTF-8"
        case .lengthOutOfBounds:
            "wire: a declared count exceeds its limit or the bytes that follow it"
        case .duplicateTag:
            "wire: a member's tags repeat a key"
        case .trailingBytes:
            "wire: unexpected bytes after the end of the packet"
        case .invalidKey:
            "wire: identity key is not a 32-byte Ed25519 public key"
        case .invalidSignature:
            "wire: signature is not a 64-byte Ed25519 signature"
        case .stringTooLong:
            "wire: a name, host, tag key or tag value exceeds \(WireCodec.maxStringBytes) UTF-8 bytes; "
                + "shorten it in the configuration"
        case .tooManyTags:
            "wire: a member has more than \(WireCodec.maxTagCount) tags; drop some in the configuration"
        case .tooManyEntries:
            "wire: more than \(WireCodec.maxGossipCount) gossip updates in one packet, or more than "
                + "\(WireCodec.maxStateEntries) members, votes or departures in one sync"
        case .payloadTooLong:
            "wire: a keyring record's payload exceeds \(WireCodec.maxKeyringPayloadBytes) bytes; "
                + "remove keys with `vigil keys remove` before installing more"
        }
    }
}

import VigilCore

/// How the simulator counts bytes on the wire, and the one place that touches the codec.
///
/// A datagram costs its encoded packet, plus the agent's seal (`sealOverhead`:
/// version, key id, nonce, tag), plus 28 bytes of IPv4 (20) and UDP (8) headers.
/// A stream message costs its packet plus the seal plus 40 bytes of IPv4 and TCP
/// headers per started 1460-byte segment (connection set-up is not counted: the
/// agent keeps sync connections short but the handshake is small next to a state).
public struct WireAccounting: Sendable {
    /// IPv4 + UDP header bytes per datagram.
    public static let udpHeaderBytes = 28
    /// IPv4 + TCP header bytes per segment.
    public static let tcpHeaderBytes = 40
    /// TCP payload per segment on a 1500-byte Ethernet MTU.
    public static let tcpSegmentPayload = 1460

    /// Bytes the agent adds when sealing a packet (`Configuration.gossip.sealOverhead`).
    public var sealOverhead: Int
    /// Whether every packet really goes through encode → decode before delivery.
    public var roundTrip: Bool

    public init(sealOverhead: Int, roundTrip: Bool = false) {
        self.sealOverhead = sealOverhead
        self.roundTrip = roundTrip
    }

    /// Bytes one datagram carrying `packet` puts on the wire.
    public func datagramBytes(_ packet: Packet) -> Int {
        wireBytes(packet) + self.sealOverhead + Self.udpHeaderBytes
    }

    /// Bytes one stream message carrying `packet` puts on the wire.
    public func streamBytes(_ packet: Packet) -> Int {
        let payload = wireBytes(packet) + self.sealOverhead
        let segments = max(1, (payload + Self.tcpSegmentPayload - 1) / Self.tcpSegmentPayload)
        return payload + segments * Self.tcpHeaderBytes
    }
}

/// The size of `packet` encoded, before sealing.
///
/// TODO(codec): replace the body with `packet.encodedSize` once the wire codec lands.
/// Until then this estimates a compact binary layout: 2-byte header, strings with a
/// 1-byte length, 8-byte incarnations and digests, 4-byte sequence numbers, 32-byte
/// keys, 64-byte signatures.
func wireBytes(_ packet: Packet) -> Int {
    WireEstimate.packet(packet)
}

/// Encodes and decodes `packet` (for `--wire-roundtrip`), or `nil` if the bytes do not
/// decode — which the simulation counts and drops as a malformed datagram.
///
/// TODO(codec): replace the body with `try? Packet(decoding: packet.encoded())`.
func wireRoundTrip(_ packet: Packet) -> Packet? {
    packet
}

/// The size estimate behind `wireBytes` until the codec exists.
enum WireEstimate {
    static func packet(_ packet: Packet) -> Int {
        var size = 2 + string(packet.sender)
        switch packet.message {
        case .ping(_, let target): size += 4 + string(target)
        case .ack, .nack: size += 4
        case .pingReq(_, let target, let address): size += 4 + string(target) + self.address(address)
        case .sync(let sync):
            size += 8 + 1 + 1
            if let state = sync.state { size += self.state(state) }
        }
        size += 1
        for update in packet.gossip { size += self.update(update) }
        return size
    }

    static func update(_ update: Update) -> Int {
        switch update {
        case .alive(let member): 1 + self.member(member)
        case .suspect(let s): 1 + string(s.subject) + 8 + string(s.observer)
        case .vote(let v): 1 + string(v.subject) + 8 + string(v.observer) + 64
        case .left(let d): 1 + string(d.name) + 8 + 64
        }
    }

    static func state(_ state: MembershipState) -> Int {
        var size = 2 + 2 + 2
        for member in state.members { size += self.member(member) }
        for v in state.votes { size += string(v.subject) + 8 + string(v.observer) + 64 }
        for d in state.departures { size += string(d.name) + 8 + 64 }
        return size
    }

    static func member(_ member: Member) -> Int {
        var size = string(member.name) + self.address(member.address) + 8 + 1 + 32 + 1
        for (key, value) in member.tags { size += string(key) + string(value) }
        return size
    }

    static func address(_ address: Address) -> Int {
        string(address.host) + 2
    }

    static func string(_ s: String) -> Int {
        1 + s.utf8.count
    }
}

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

/// The size of `packet` encoded by the wire codec, before sealing.
@inline(__always)
func wireBytes(_ packet: Packet) -> Int {
    packet.encodedSize
}

/// Encodes and decodes `packet` (for `--wire-roundtrip`), or `nil` if the bytes do not
/// decode — which the simulation counts and drops as a malformed datagram.
func wireRoundTrip(_ packet: Packet) -> Packet? {
    try? Packet(decoding: packet.encoded())
}

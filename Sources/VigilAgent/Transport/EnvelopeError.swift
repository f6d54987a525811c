import VigilCore
import VigilCrypto

/// Why sealed bytes from the network were dropped. Every case means "drop and count
/// it": anyone can send anything to the gossip port, so none is worth more than a
/// debug log line (DESIGN.md, Security).
///
/// A plain enum rather than swift-nio's struct-over-enum: VigilAgent is not a library
/// product, so every `switch` over it is in this package and changes with it.
enum EnvelopeError: Error, Hashable, CustomStringConvertible {
    /// The seal did not open: cut short, an envelope version this build does not
    /// read, a key this node does not hold, or altered in transit.
    case badSeal(SealError)
    /// A nonce seen before within the freshness window: a replayed packet.
    case replay
    /// Sealed at a time outside the freshness window around this node's clock: an
    /// old packet replayed, or a sender whose clock is far off.
    case stale
    /// The seal opened but the envelope inside does not parse (`nil`) or the packet
    /// inside does not decode (the `WireError`). Only a node with the key can send
    /// this: a bug, or a newer release.
    case malformed(WireError?)
    /// More bytes than a datagram or stream frame may hold.
    case oversize

    /// The counter this drop is counted under.
    var reason: TransportDropReason {
        switch self {
        case .badSeal: .badSeal
        case .replay: .replay
        case .stale: .stale
        case .malformed: .malformed
        case .oversize: .oversize
        }
    }

    var description: String {
        switch self {
        case .badSeal(let error):
            "bad seal: \(error)"
        case .replay:
            "replay: this packet's nonce was seen before within the freshness window"
        case .stale:
            "stale: the packet was sealed outside the freshness window; "
                + "it was replayed, or the sender's clock is off (run NTP on every node)"
        case .malformed(nil):
            "malformed: the sealed envelope does not parse (sender runs an incompatible release?)"
        case .malformed(let error?):
            "malformed: \(error)"
        case .oversize:
            "oversize: larger than the transport accepts"
        }
    }
}

/// Why the transport dropped inbound data, as counted and exported
/// (`vigil info` counters `dropped_<raw value>`, Prometheus label `reason`).
public enum TransportDropReason: String, Hashable, Sendable, CaseIterable {
    case badSeal = "bad_seal"
    case replay
    case stale
    case malformed
    case oversize
    /// A packet opened fine but the agent did not take it off the event stream in
    /// time; the oldest buffered packet made room for it.
    case bufferFull = "buffer_full"
}

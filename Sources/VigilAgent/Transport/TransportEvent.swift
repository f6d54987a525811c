import VigilCore

/// What the transport hands to the agent.
public enum TransportEvent: Sendable, Equatable {
    /// A packet that opened, was fresh and not a replay.
    ///
    /// - `from`: for a datagram (`reliable == false`), the UDP source address, where
    ///   an ack must go; for a stream frame (`reliable == true`), the sender's
    ///   advertised gossip address from inside the seal, since the TCP source port
    ///   is ephemeral.
    case packet(Packet, from: Address, reliable: Bool)
}

import VigilCore

/// How the gossip transport binds and what it accepts. Defaults suit a LAN or a
/// cloud region; every one is documented where it is defined.
public struct TransportSettings: Sendable, Equatable {
    /// Where to listen, for UDP and TCP alike. Port 0 picks a free port (tests).
    public var bind: Address
    /// The address other members reach this node at, sealed into every envelope.
    /// `nil`: the bound address. A port of 0 means the bound port.
    public var advertise: Address?
    /// Packets sealed further than this from the receiver's wall clock, either way,
    /// are dropped as stale. Default 30 s: clocks under NTP agree far better.
    public var freshnessWindow: Duration = .seconds(30)
    /// Most nonces remembered against replay within the freshness window. Default
    /// 65,536 (about 2 MiB); beyond it the oldest go early (see `ReplayCache`).
    public var replayCacheCapacity: Int = 65_536
    /// Largest sealed datagram accepted. Default 64 KiB, above UDP's own limit, so
    /// every datagram is read whole.
    public var maxDatagramBytes: Int = 64 << 10
    /// Largest sealed stream frame accepted or sent. Default 16 MiB: a full sync of
    /// tens of thousands of members.
    public var maxFrameBytes: Int = 16 << 20
    /// An inbound connection that has not delivered its frame this long after it
    /// opened is closed. Default 10 s: a 16 MiB frame needs about 1.6 MB/s.
    public var streamReadTimeout: Duration = .seconds(10)
    /// How long an outbound stream waits for its connection. Default 5 s.
    public var connectTimeout: Duration = .seconds(5)
    /// How long an outbound stream may take to write its frame once connected.
    /// Default 10 s, matching the receiver's read timeout.
    public var streamWriteTimeout: Duration = .seconds(10)
    /// Most inbound TCP connections open at once; more are closed on accept.
    /// Default 64. Memory for frames in flight is bounded by this times
    /// `maxFrameBytes`.
    public var maxInboundConnections: Int = 64
    /// The UDP socket's receive buffer (`SO_RCVBUF`), where datagrams wait while the
    /// agent is busy or not scheduled. Default 2 MiB, memberlist's: the kernel's
    /// usual 208 KiB holds a few hundred datagrams, which a burst fills in
    /// milliseconds. The kernel caps it at `net.core.rmem_max`.
    public var receiveBufferBytes: Int = 2 << 20
    /// Events buffered for the agent; when full, the oldest is dropped and counted
    /// as `buffer_full`. Default 4,096.
    public var eventBufferSize: Int = 4_096

    /// - Parameters:
    ///   - bind: where to listen (UDP and TCP).
    ///   - advertise: the address peers should use; `nil` for the bound address.
    public init(bind: Address, advertise: Address? = nil) {
        self.bind = bind
        self.advertise = advertise
    }
}

import Synchronization

/// The transport's counters at one moment. Monotonic from the transport's start.
public struct TransportStats: Sendable, Equatable {
    /// Packets opened and handed to the agent (datagrams and stream frames).
    public var packetsIn: UInt64 = 0
    /// Packets sealed and written to the network.
    public var packetsOut: UInt64 = 0
    /// Bytes received: datagrams and frames, sealed, including those later dropped.
    public var bytesIn: UInt64 = 0
    /// Bytes written: sealed datagrams and frames with their length prefix.
    public var bytesOut: UInt64 = 0
    /// Inbound datagrams and frames dropped, by reason.
    public var dropped: [TransportDropReason: UInt64] = [:]
    /// Outbound streams whose connection could not be made in time.
    public var streamConnectFailures: UInt64 = 0
    /// Outbound datagrams or frames that failed after sealing: no route, write error,
    /// peer stopped reading, or too large to send.
    public var sendFailures: UInt64 = 0
    /// Inbound connections refused because `maxInboundConnections` were open.
    public var connectionsRefused: UInt64 = 0
    /// Inbound connections closed for not delivering a frame within the read timeout.
    public var streamTimeouts: UInt64 = 0
    /// Nonces the replay cache forgot for room before their freshness window ended.
    /// Non-zero means more valid packets arrived within one window than the cache
    /// holds: a replay of those could have been accepted.
    public var replayCacheEvictions: UInt64 = 0

    public init() {}

    /// Drops counted under `reason`.
    public func dropped(_ reason: TransportDropReason) -> UInt64 {
        self.dropped[reason, default: 0]
    }

    /// The counters by name, as `vigil info` shows them (`dropped_bad_seal`, ...);
    /// every drop reason is present, zero or not.
    public var byName: [String: UInt64] {
        var counters: [String: UInt64] = [
            "packets_in": self.packetsIn,
            "packets_out": self.packetsOut,
            "bytes_in": self.bytesIn,
            "bytes_out": self.bytesOut,
            "stream_connect_failures": self.streamConnectFailures,
            "send_failures": self.sendFailures,
            "connections_refused": self.connectionsRefused,
            "stream_timeouts": self.streamTimeouts,
            "replay_cache_evictions": self.replayCacheEvictions,
        ]
        for reason in TransportDropReason.allCases {
            counters["dropped_\(reason.rawValue)"] = self.dropped(reason)
        }
        return counters
    }
}

/// Thread-safe ``TransportStats``, updated from event-loop threads and callers.
///
/// One `Mutex` around the whole struct: a gossip node handles hundreds of packets a
/// second, not millions, and a snapshot is then consistent across counters.
final class TransportCounters: Sendable {
    private let stats = Mutex(TransportStats())

    func update(_ body: (inout TransportStats) -> Void) {
        self.stats.withLock { body(&$0) }
    }

    func drop(_ reason: TransportDropReason) {
        self.stats.withLock { $0.dropped[reason, default: 0] += 1 }
    }

    var snapshot: TransportStats {
        self.stats.withLock { $0 }
    }
}

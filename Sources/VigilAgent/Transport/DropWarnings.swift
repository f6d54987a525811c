import Logging
import Synchronization

/// Says at `warning` level, at most once a minute per reason, that inbound packets are
/// being dropped for a reason that points at this cluster's set-up rather than at
/// the network: a peer sealing with a key this node does not hold, a clock more than
/// the freshness window away, an incompatible release. Each drop is still counted
/// (`vigil info`, `vigil_packets_dropped_total`) and logged at `debug`; without this an
/// operator whose node was restarted with an old key sees nothing in any log.
final class DropWarnings: Sendable {
    private struct Pending {
        var lastWarned: ContinuousClock.Instant?
        var since = 0
        var peers: Set<String> = []
    }

    static let interval: Duration = .seconds(60)
    /// The reasons worth waking someone for, and what to check.
    static let hints: [TransportDropReason: String] = [
        .badSeal: "sealed with a key this node does not hold: a node with an old or wrong cluster key "
            + "(compare `vigil keys list` on both; after a rotation give it the current key)",
        .stale: "sealed too far from this node's clock (beyond the freshness window): "
            + "check NTP on this node and the sender",
        .malformed: "not a Vigil envelope this release can read: another service on this port, "
            + "or a node running an incompatible release",
    ]

    private let logger: Logger
    private let state = Mutex<[TransportDropReason: Pending]>([:])

    init(logger: Logger) {
        self.logger = logger
    }

    /// Records one drop; logs when `reason` is one of `hints` and its last warning is
    /// over a minute old (the first one at once).
    func note(_ reason: TransportDropReason, peer: String?, now: ContinuousClock.Instant = .now) {
        guard let hint = Self.hints[reason] else { return }
        let due: (count: Int, peers: [String])? = self.state.withLock { all in
            var pending = all[reason] ?? Pending()
            pending.since += 1
            if let peer, pending.peers.count < 8 { pending.peers.insert(peer) }
            defer { all[reason] = pending }
            if let last = pending.lastWarned, now - last < Self.interval { return nil }
            let out = (pending.since, pending.peers.sorted())
            pending = Pending(lastWarned: now)
            return out
        }
        guard let due else { return }
        self.logger.warning(
            "transport.dropping",
            metadata: [
                "drop.reason": "\(reason.rawValue)", "drop.count": "\(due.count)",
                "peer.address": "\(due.peers.isEmpty ? "unknown" : due.peers.joined(separator: ","))",
                "drop.hint": "\(hint)",
            ])
    }
}

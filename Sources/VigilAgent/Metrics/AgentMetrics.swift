import Metrics
import VigilCore

/// The agent's metrics, created once through a swift-metrics factory and brought up
/// to date from a ``Sample`` of the engine and the transport (once a second, from
/// ``AgentService``'s counters loop).
///
/// The engine and the transport keep cumulative counts; swift-metrics counters only
/// take increments, so this keeps the last value seen of each and adds the difference.
/// Labels are bounded: `status` and `reason` have fixed values, and `member` names at
/// most ``maxPhiSeries`` suspects this node observes, whose series are destroyed when
/// the suspicion ends.
///
/// The library never bootstraps a metrics backend: the executable (or a test) passes
/// the factory in.
public struct AgentMetrics: Sendable {
    /// What the metrics are brought up to date from.
    public struct Sample: Sendable {
        public var members: [MemberStatus: Int]
        public var healthScore: Int
        public var isolated: Bool
        public var incarnation: UInt64
        public var engine: InstanceStats
        /// Round trips since the previous sample (`Instance.drainRoundTrips()`).
        public var roundTrips: [Duration]
        public var suspects: [SuspectPhi]
        /// The engine's drops, cumulative.
        public var protocolDrops: [DropReason: UInt64]
        public var transport: TransportStats
        /// HA records the journal could not write, cumulative.
        public var journalWriteFailures: UInt64

        public init(
            members: [MemberStatus: Int] = [:], healthScore: Int = 0, isolated: Bool = false, incarnation: UInt64 = 0,
            engine: InstanceStats = InstanceStats(), roundTrips: [Duration] = [], suspects: [SuspectPhi] = [],
            protocolDrops: [DropReason: UInt64] = [:], transport: TransportStats = TransportStats(),
            journalWriteFailures: UInt64 = 0
        ) {
            self.journalWriteFailures = journalWriteFailures
            self.members = members
            self.healthScore = healthScore
            self.isolated = isolated
            self.incarnation = incarnation
            self.engine = engine
            self.roundTrips = roundTrips
            self.suspects = suspects
            self.protocolDrops = protocolDrops
            self.transport = transport
        }
    }

    /// Most `vigil_suspect_phi` series at once (the highest phi win). A node observes
    /// about K (5) subjects, so this only bounds a misconfiguration.
    public static let maxPhiSeries = 16

    /// `vigil_ping_rtt_seconds` buckets: loopback and LAN round trips are well under a
    /// millisecond, a probe times out in hundreds of milliseconds (`lan`: 200 ms,
    /// stretched by the health score), and anything past a second is a pause or WAN.
    public static let roundTripBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1),
    ]

    /// A counter fed from a cumulative count.
    private struct Cumulative: Sendable {
        let counter: Counter
        var last: UInt64 = 0

        init(_ label: String, _ dimensions: [(String, String)] = [], factory: any MetricsFactory) {
            self.counter = Counter(label: label, dimensions: dimensions, factory: factory)
        }

        mutating func advance(to value: UInt64) {
            // A count that went backwards (a new transport) restarts from there.
            if value > self.last { self.counter.increment(by: Int64(clamping: value - self.last)) }
            self.last = value
        }
    }

    private let factory: any MetricsFactory
    private let members: [MemberStatus: Gauge]
    private let healthScore: Gauge
    private let isolated: Gauge
    private let life: Gauge
    private let refutationCount: Gauge
    private let roundTrip: Metrics.Timer
    private var phi: [String: Gauge] = [:]

    private var probesSent: Cumulative
    private var probesFailed: Cumulative
    private var indirectProbes: Cumulative
    private var acks: Cumulative
    private var nacks: Cumulative
    private var suspicions: Cumulative
    private var membersSuspected: Cumulative
    private var refutations: Cumulative
    private var votes: Cumulative
    private var certificates: Cumulative
    private var messagesSent: Cumulative
    private var updatesSent: Cumulative
    private var protocolDrops: [DropReason: Cumulative]

    private var packetsIn: Cumulative
    private var packetsOut: Cumulative
    private var bytesIn: Cumulative
    private var bytesOut: Cumulative
    private var dropped: [TransportDropReason: Cumulative]
    private var sendFailures: Cumulative
    private var streamConnectFailures: Cumulative
    private var connectionsRefused: Cumulative
    private var streamTimeouts: Cumulative
    private var replayCacheEvictions: Cumulative
    private var journalWriteFailures: Cumulative

    /// Creates every metric once, through `factory`.
    public init(factory: any MetricsFactory) {
        self.factory = factory
        var members: [MemberStatus: Gauge] = [:]
        for status in MemberStatus.allCases {
            members[status] = Gauge(label: "vigil_members", dimensions: [("status", status.description)], factory: factory)
        }
        self.members = members
        self.healthScore = Gauge(label: "vigil_health_score", factory: factory)
        self.isolated = Gauge(label: "vigil_isolated", factory: factory)
        self.life = Gauge(label: "vigil_incarnation_life", factory: factory)
        self.refutationCount = Gauge(label: "vigil_incarnation_refutations", factory: factory)
        self.roundTrip = Metrics.Timer(label: "vigil_ping_rtt_seconds", factory: factory)

        self.probesSent = Cumulative("vigil_probes_sent_total", factory: factory)
        self.probesFailed = Cumulative("vigil_probes_failed_total", factory: factory)
        self.indirectProbes = Cumulative("vigil_indirect_probes_total", factory: factory)
        self.acks = Cumulative("vigil_acks_received_total", factory: factory)
        self.nacks = Cumulative("vigil_nacks_received_total", factory: factory)
        self.suspicions = Cumulative("vigil_suspicions_total", factory: factory)
        self.membersSuspected = Cumulative("vigil_members_suspected_total", factory: factory)
        self.refutations = Cumulative("vigil_refutations_total", factory: factory)
        self.votes = Cumulative("vigil_votes_cast_total", factory: factory)
        self.certificates = Cumulative("vigil_failures_certified_total", factory: factory)
        self.messagesSent = Cumulative("vigil_messages_sent_total", factory: factory)
        self.updatesSent = Cumulative("vigil_gossip_updates_sent_total", factory: factory)
        var protocolDrops: [DropReason: Cumulative] = [:]
        for reason in DropReason.allCases {
            protocolDrops[reason] = Cumulative(
                "vigil_protocol_drops_total", [("reason", Self.snakeCase(reason.rawValue))], factory: factory)
        }
        self.protocolDrops = protocolDrops

        self.packetsIn = Cumulative("vigil_packets_in_total", factory: factory)
        self.packetsOut = Cumulative("vigil_packets_out_total", factory: factory)
        self.bytesIn = Cumulative("vigil_bytes_in_total", factory: factory)
        self.bytesOut = Cumulative("vigil_bytes_out_total", factory: factory)
        var dropped: [TransportDropReason: Cumulative] = [:]
        for reason in TransportDropReason.allCases {
            dropped[reason] = Cumulative("vigil_packets_dropped_total", [("reason", reason.rawValue)], factory: factory)
        }
        self.dropped = dropped
        self.sendFailures = Cumulative("vigil_send_failures_total", factory: factory)
        self.streamConnectFailures = Cumulative("vigil_stream_connect_failures_total", factory: factory)
        self.connectionsRefused = Cumulative("vigil_connections_refused_total", factory: factory)
        self.streamTimeouts = Cumulative("vigil_stream_timeouts_total", factory: factory)
        self.replayCacheEvictions = Cumulative("vigil_replay_cache_evictions_total", factory: factory)
        self.journalWriteFailures = Cumulative("vigil_journal_write_failures_total", factory: factory)
    }

    /// Brings every metric up to date with `sample`.
    public mutating func record(_ sample: Sample) {
        for (status, gauge) in self.members {
            gauge.record(sample.members[status] ?? 0)
        }
        self.healthScore.record(sample.healthScore)
        self.isolated.record(sample.isolated ? 1 : 0)
        // In two halves: a gauge holds a Double, exact only up to 2^53, and a life
        // derived from wall-clock seconds fills the high 32 bits.
        self.life.record(Int64(Incarnation.life(of: sample.incarnation)))
        self.refutationCount.record(Int64(UInt32(truncatingIfNeeded: sample.incarnation)))
        for roundTrip in sample.roundTrips {
            self.roundTrip.recordNanoseconds(roundTrip.nanoseconds)
        }
        self.recordPhi(sample.suspects)

        let engine = sample.engine
        self.probesSent.advance(to: engine.probesSent)
        self.probesFailed.advance(to: engine.probesFailed)
        self.indirectProbes.advance(to: engine.indirectProbes)
        self.acks.advance(to: engine.acksReceived)
        self.nacks.advance(to: engine.nacksReceived)
        self.suspicions.advance(to: engine.suspicionsRaised)
        self.membersSuspected.advance(to: engine.membersSuspected)
        self.refutations.advance(to: engine.refutations)
        self.votes.advance(to: engine.votesCast)
        self.certificates.advance(to: engine.certificates)
        self.messagesSent.advance(to: engine.messagesSent)
        self.updatesSent.advance(to: engine.updatesSent)
        for reason in DropReason.allCases {
            self.protocolDrops[reason]!.advance(to: sample.protocolDrops[reason] ?? 0)
        }

        let transport = sample.transport
        self.packetsIn.advance(to: transport.packetsIn)
        self.packetsOut.advance(to: transport.packetsOut)
        self.bytesIn.advance(to: transport.bytesIn)
        self.bytesOut.advance(to: transport.bytesOut)
        for reason in TransportDropReason.allCases {
            self.dropped[reason]!.advance(to: transport.dropped(reason))
        }
        self.sendFailures.advance(to: transport.sendFailures)
        self.streamConnectFailures.advance(to: transport.streamConnectFailures)
        self.connectionsRefused.advance(to: transport.connectionsRefused)
        self.streamTimeouts.advance(to: transport.streamTimeouts)
        self.replayCacheEvictions.advance(to: transport.replayCacheEvictions)
        self.journalWriteFailures.advance(to: sample.journalWriteFailures)
    }

    /// One series per current suspect; a series whose suspicion ended is destroyed, so
    /// that a scrape does not keep showing a stale phi.
    private mutating func recordPhi(_ suspects: [SuspectPhi]) {
        let shown =
            suspects.count <= Self.maxPhiSeries
            ? suspects : Array(suspects.sorted { $0.phi > $1.phi }.prefix(Self.maxPhiSeries))
        for (name, gauge) in self.phi where !shown.contains(where: { $0.name == name }) {
            gauge.destroy()
            self.phi[name] = nil
        }
        for suspect in shown {
            let gauge =
                self.phi[suspect.name]
                ?? Gauge(label: "vigil_suspect_phi", dimensions: [("member", suspect.name)], factory: self.factory)
            gauge.record(suspect.phi)
            self.phi[suspect.name] = gauge
        }
    }

    /// `staleSequence` → `stale_sequence`, the style of Prometheus label values.
    static func snakeCase(_ name: String) -> String {
        var result = ""
        for character in name {
            if character.isUppercase {
                result.append("_")
                result.append(contentsOf: character.lowercased())
            } else {
                result.append(character)
            }
        }
        return result
    }
}

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What a scenario run measured. Encodes to JSON with snake_case keys.
///
/// Durations are in milliseconds of virtual time. Percentiles are nearest-rank (see
/// `Distribution`). Everything but `wall_seconds` and `throughput.messages_per_wall_s`
/// is a pure function of the scenario and its seed: two runs with the same seed encode
/// to the same bytes once those are set aside (`deterministicJSON()`).
public struct SimulationReport: Codable, Sendable {
    public var seed: UInt64
    public var nodes: Int
    public var preset: String
    /// Total virtual time simulated: warm-up plus scenario.
    public var virtualSeconds: Double
    /// Length of the scenario phase (over which traffic rates are measured).
    public var scenarioSeconds: Double
    /// Whether every node saw every other alive before the scenario began.
    public var converged: Bool
    /// Virtual time from the first start until convergence.
    public var convergenceMs: Double?
    public var scenario: ScenarioEcho
    public var faults: Faults
    public var detection: Detection
    /// Members neither crashed nor gray (nor on the far side of a partition) that some
    /// live member marked failed, at any time of the run. Paused and slow nodes count.
    public var falseFailures: Int
    public var falseFailedMembers: [String]
    /// Non-crashed members marked failed across an active partition (or within the
    /// grace after it healed; see `Simulator`): expected for a long enough split.
    public var partitionedFailed: Int
    /// `suspect` events, during the scenario phase, against members that were not
    /// crashed at that moment (gray, paused and slow nodes included).
    public var falseSuspicions: Int
    /// Gray nodes that some live member marked failed.
    public var grayFailed: Int
    public var grayFlaps: Flaps
    public var traffic: Traffic
    /// `.failureCertified` events published (by all nodes together).
    public var certifications: Int
    public var election: Election
    public var ha: HA
    /// How much the simulator itself did, over the whole run (warm-up included).
    public var throughput: Throughput
    /// Real time the run took; with `throughput.messages_per_wall_s` the only fields
    /// that vary between identical runs.
    public var wallSeconds: Double

    /// The broken HA invariants (with `--ha`), by kind; `ha.invariantViolations` in words. Not in JSON.
    public var haViolations: [HAInvariants.Violation] = []
    /// Every `.failureCertified` event of the run, for invariant checks. Not in JSON.
    public var certifiedFailures: [CertifiedFailure] = []
    /// The detection history of each crash. Not in JSON.
    public var crashRecords: [CrashRecord] = []

    enum CodingKeys: String, CodingKey {
        case seed, nodes, preset
        case virtualSeconds = "virtual_seconds"
        case scenarioSeconds = "scenario_seconds"
        case converged
        case convergenceMs = "convergence_ms"
        case scenario, faults, detection
        case falseFailures = "false_failures"
        case falseFailedMembers = "false_failed_members"
        case partitionedFailed = "partitioned_failed"
        case falseSuspicions = "false_suspicions"
        case grayFailed = "gray_failed"
        case grayFlaps = "gray_flaps"
        case traffic, certifications, election, ha, throughput
        case wallSeconds = "wall_seconds"
    }

    /// The simulator's work over the whole run, warm-up included.
    public struct Throughput: Codable, Sendable, Equatable {
        /// Protocol messages (datagrams and stream messages) the nodes sent.
        public var messages: Int
        /// Events the virtual clock dispatched (deliveries, wakes, actions).
        public var events: Int
        /// `messages / wall_seconds`: the simulator's speed on this machine (varies
        /// between identical runs, like `wall_seconds`).
        public var messagesPerWallS: Double

        public init(messages: Int, events: Int, wallSeconds: Double) {
            self.messages = messages
            self.events = events
            self.messagesPerWallS = wallSeconds > 0 ? Double(messages) / wallSeconds : 0
        }

        enum CodingKeys: String, CodingKey {
            case messages, events
            case messagesPerWallS = "messages_per_wall_s"
        }
    }

    /// The inputs that shaped the run.
    public struct ScenarioEcho: Codable, Sendable, Equatable {
        public var loss: Double
        public var delayMs: Double
        public var jitterMs: Double
        public var crashes: Int
        public var restartAfterMs: Double?
        public var pauses: Int
        public var pauseForMs: Double
        public var gray: Int
        public var grayLoss: Double
        public var slow: Int
        public var slowDelayMs: Double
        /// `SHARE@START+DURATION` (offsets from the scenario start) or `SHARE for
        /// DURATION` (start drawn from the seed), ` one-way` if so.
        public var partition: String?
        /// Whether the leader was to be killed during its first fence.
        public var killLeader: Bool
        /// `encoded`: sizes come from the wire codec (`Packet.encodedSize`).
        public var wireSizes: String
        public var wireRoundTrip: Bool
        /// The configuration's `pauseTolerance`: pauses up to this must not fail a node.
        public var pauseToleranceMs: Double

        enum CodingKeys: String, CodingKey {
            case loss
            case delayMs = "delay_ms"
            case jitterMs = "jitter_ms"
            case crashes
            case restartAfterMs = "restart_after_ms"
            case pauses
            case pauseForMs = "pause_for_ms"
            case gray
            case grayLoss = "gray_loss"
            case slow
            case slowDelayMs = "slow_delay_ms"
            case partition
            case killLeader = "kill_leader"
            case wireSizes = "wire_sizes"
            case wireRoundTrip = "wire_round_trip"
            case pauseToleranceMs = "pause_tolerance_ms"
        }
    }

    /// Which nodes got which fault.
    public struct Faults: Codable, Sendable, Equatable {
        public var crashed: [String]
        public var paused: [String]
        public var gray: [String]
        public var slow: [String]
        public var partitioned: [String]
        /// When the partition began, from the start of the scenario phase.
        public var partitionAtMs: Double?
        /// The leader killed right after it ordered the first fence, and when.
        public var killedLeader: String?
        public var leaderKilledAtMs: Double?

        enum CodingKeys: String, CodingKey {
            case crashed, paused, gray, slow, partitioned
            case partitionAtMs = "partition_at_ms"
            case killedLeader = "killed_leader"
            case leaderKilledAtMs = "leader_killed_at_ms"
        }
    }

    public struct Detection: Codable, Sendable, Equatable {
        /// Crashes that happened.
        public var crashes: Int
        /// Crashes never failed at every live member (before the run ended or the node
        /// restarted).
        public var undetected: Int
        /// Crash → every live member's latest status for the node is `failed`.
        public var failedEverywhereMs: Distribution
        /// Crash → first member marks it `suspect` or `failed`.
        public var firstSuspectMs: Distribution

        enum CodingKeys: String, CodingKey {
            case crashes, undetected
            case failedEverywhereMs = "failed_everywhere_ms"
            case firstSuspectMs = "first_suspect_ms"
        }
    }

    /// Oscillation of gray nodes. A flap is one observer's view of a gray node going
    /// from `suspect` or `failed` back to `alive`, during the scenario phase; the
    /// counts sum over observers. A detector that settles a gray node as failed
    /// scores low; one that keeps refuting and re-suspecting it scores high.
    public struct Flaps: Codable, Sendable, Equatable {
        public var total: Int
        public var maxPerNode: Int
        public var perNode: [String: Int]

        enum CodingKeys: String, CodingKey {
            case total
            case maxPerNode = "max_per_node"
            case perNode = "per_node"
        }
    }

    /// Sent traffic during the scenario phase. Bytes include, per datagram, the agent's
    /// seal overhead (`gossip.seal_overhead`) and 28 bytes of IPv4/UDP headers; per
    /// stream message the seal and 40 bytes of IPv4/TCP headers per segment. Rates are
    /// per node over the scenario phase; the mean is over all nodes, crashed ones too.
    public struct Traffic: Codable, Sendable, Equatable {
        public var bytesSentPerNodePerS: MeanMax
        public var messagesSentPerNodePerS: MeanMax
        public var datagramsSent: Int
        public var datagramsLost: Int
        public var streamsSent: Int
        public var streamsBlocked: Int
        /// Bytes added to each datagram's packet: seal overhead + 28.
        public var datagramOverheadBytes: Int

        enum CodingKeys: String, CodingKey {
            case bytesSentPerNodePerS = "bytes_sent_per_node_per_s"
            case messagesSentPerNodePerS = "messages_sent_per_node_per_s"
            case datagramsSent = "datagrams_sent"
            case datagramsLost = "datagrams_lost"
            case streamsSent = "streams_sent"
            case streamsBlocked = "streams_blocked"
            case datagramOverheadBytes = "datagram_overhead_bytes"
        }
    }

    /// The report as JSON (keys sorted, so equal reports give equal bytes).
    public func jsonData(prettyPrinted: Bool = true) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = prettyPrinted ? [.sortedKeys, .prettyPrinted] : [.sortedKeys]
        return try encoder.encode(self)
    }

    /// The JSON with `wall_seconds` and `throughput.messages_per_wall_s` zeroed: equal
    /// for two runs of the same scenario.
    public func deterministicJSON() throws -> Data {
        var copy = self
        copy.wallSeconds = 0
        copy.throughput.messagesPerWallS = 0
        return try copy.jsonData(prettyPrinted: false)
    }
}

extension SimulationReport {
    /// Leader election over the run.
    public struct Election: Codable, Sendable, Equatable {
        /// Terms in which some node won.
        public var termsWithLeader: Int
        /// Highest term any node claimed leadership of.
        public var lastTerm: UInt64?
        /// The leader of the last term, if any.
        public var lastLeader: String?
        /// How many times some node's idea of the leader changed.
        public var leaderChanges: Int
        /// From the start of the run until the first node led.
        public var firstLeaderMs: Double?
        /// Broken invariants, e.g. `term 7 had two leaders: n3, n9`; empty when all held.
        public var invariantViolations: [String]

        enum CodingKeys: String, CodingKey {
            case termsWithLeader = "terms_with_leader"
            case lastTerm = "last_term"
            case lastLeader = "last_leader"
            case leaderChanges = "leader_changes"
            case firstLeaderMs = "first_leader_ms"
            case invariantViolations = "invariant_violations"
        }
    }
}

extension SimulationReport {
    /// Fencing and recovery over the run (with `--ha`), checked by `HAInvariants`.
    public struct HA: Codable, Sendable, Equatable {
        /// Whether the leader fenced and recovered in this run.
        public var enabled: Bool
        /// Fence orders (a new leader repeating an old one's counts again) and nodes
        /// whose simulated BMC powered them off.
        public var fences: Int
        public var fencedNodes: [String]
        /// Nodes fenced while live (running the life the order named, or paused within
        /// the pause tolerance; not gray), and not cut off on a minority side of a
        /// partition (until its grace ended): each is also an invariant violation.
        public var fencesOfLiveNodes: [String]
        /// Node lives some leader recorded `fenced` (the confirmation the cluster acts
        /// on), each counted once; and later `fenced` records of a life by a new leader
        /// that re-ran the fence before it could know of the first (allowed, like
        /// duplicate recoveries: power-off is idempotent).
        public var fenceCompletions: Int
        public var duplicateFences: Int
        /// Recovery orders, and nodes recovered.
        public var recoveries: Int
        public var recoveredNodes: [String]
        /// Node lives the simulated cloud accepted a recovery for (the first request
        /// per life), and the repeats it dropped as duplicates (allowed: a new leader
        /// resumes a recovery an old one may have sent).
        public var recoveriesAccepted: Int
        public var duplicateRecoveries: Int
        /// Recovery orders for a life no BMC had powered off yet.
        public var recoveriesBeforeFence: Int
        /// Lives that went down and stayed down `Scenario.haSettle` (after any heal),
        /// each of which must be fenced once and recovered by the end; and lives the
        /// brake held for an operator, which are not.
        public var livesChecked: Int
        public var heldByBrake: Int
        /// Broken invariants, `kind: what (t=…s)`; empty when all held.
        public var invariantViolations: [String]

        enum CodingKeys: String, CodingKey {
            case enabled, fences
            case fencedNodes = "fenced_nodes"
            case fencesOfLiveNodes = "fences_of_live_nodes"
            case fenceCompletions = "fence_completions"
            case duplicateFences = "duplicate_fences"
            case recoveries
            case recoveredNodes = "recovered_nodes"
            case recoveriesAccepted = "recoveries_accepted"
            case duplicateRecoveries = "duplicate_recoveries"
            case recoveriesBeforeFence = "recoveries_before_fence"
            case livesChecked = "lives_checked"
            case heldByBrake = "held_by_brake"
            case invariantViolations = "invariant_violations"
        }
    }
}

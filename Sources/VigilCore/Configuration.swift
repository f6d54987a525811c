/// Protocol settings, grouped by concern. Start from a preset (`.lan`, `.wan`,
/// `.local`) and override what you must; every default is explained where it is set.
///
/// The one number to read first is `pauseTolerance`: a paused node and a crashed one
/// look the same until the pause ends, so no preset can detect a crash faster than the
/// pause it tolerates. Each preset states its tolerance and spends the rest on speed.
public struct Configuration: Sendable, Equatable {
    public var probe: Probe
    public var phi: Phi
    public var lifeguard: Lifeguard
    public var gossip: Gossip
    public var quorum: Quorum
    public var election: Election
    public var ha: HA

    public init(
        probe: Probe, phi: Phi, lifeguard: Lifeguard, gossip: Gossip, quorum: Quorum,
        election: Election = .lan, ha: HA = HA()
    ) {
        self.ha = ha
        self.probe = probe
        self.phi = phi
        self.lifeguard = lifeguard
        self.gossip = gossip
        self.quorum = quorum
        self.election = election
    }

    /// Who probes whom, and how often.
    public struct Probe: Sendable, Equatable {
        /// Observers per member (K). Each member is watched by this many peers chosen
        /// by K hash rings over the view, and watches as many, whatever the cluster size.
        public var observers: Int
        /// How often an observer probes each of its subjects. Probes to the K subjects
        /// are spread evenly over the period.
        public var period: Duration
        /// How long to wait for a direct ack before asking relays (scaled by health).
        public var timeout: Duration
        /// How many relays receive a `ping-req` when a direct probe is late.
        public var indirectProbes: Int
        /// A relay sends `nack` after this share of `timeout` (Lifeguard: 80%).
        public var nackRatio: Double
        /// Also probe one random member (round robin) every this many periods, so that
        /// gossip reaches beyond the ring neighbours; `0` turns it off.
        public var randomProbeEvery: Int

        public init(
            observers: Int, period: Duration, timeout: Duration, indirectProbes: Int,
            nackRatio: Double, randomProbeEvery: Int
        ) {
            self.observers = observers
            self.period = period
            self.timeout = timeout
            self.indirectProbes = indirectProbes
            self.nackRatio = nackRatio
            self.randomProbeEvery = randomProbeEvery
        }
    }

    /// Phi-accrual failure detection per subject (Hayashibara et al. 2004, with Akka's
    /// minimum standard deviation and acceptable pause).
    public struct Phi: Sendable, Equatable {
        /// Suspect when phi reaches this (8 ≈ a 1e-8 chance the heartbeat is merely late).
        public var threshold: Double
        /// Inter-arrival samples kept per subject.
        public var windowSize: Int
        /// Floor on the standard deviation, so a very regular link does not make a
        /// few milliseconds of jitter look like a failure.
        public var minStdDeviation: Duration
        /// Silence added to the mean before phi grows: the pause tolerated for free.
        public var acceptablePause: Duration

        public init(threshold: Double, windowSize: Int, minStdDeviation: Duration, acceptablePause: Duration) {
            self.threshold = threshold
            self.windowSize = windowSize
            self.minStdDeviation = minStdDeviation
            self.acceptablePause = acceptablePause
        }
    }

    /// Lifeguard (Dadgar et al. 2018): local health and suspicion timeouts.
    public struct Lifeguard: Sendable, Equatable {
        /// Highest local health score (Lifeguard's S); timeouts scale by `score + 1`.
        public var maxHealthScore: Int
        /// An observer whose score is above this does not vote.
        public var voteHealthLimit: Int
        /// Shortest suspicion window, reached when every other observer confirmed.
        public var suspicionMin: Duration
        /// Longest suspicion window, with no independent confirmation.
        public var suspicionMax: Duration

        public init(maxHealthScore: Int, voteHealthLimit: Int, suspicionMin: Duration, suspicionMax: Duration) {
            self.maxHealthScore = maxHealthScore
            self.voteHealthLimit = voteHealthLimit
            self.suspicionMin = suspicionMin
            self.suspicionMax = suspicionMax
        }
    }

    /// Dissemination and anti-entropy.
    public struct Gossip: Sendable, Equatable {
        /// Largest datagram the core builds, in bytes (before the agent's sealing
        /// overhead, which `sealOverhead` reserves).
        public var mtu: Int
        /// Bytes reserved for the agent's seal (header, nonce, tag).
        public var sealOverhead: Int
        /// Each update is sent `retransmitMultiplier * ceil(log10(N + 1))` times.
        public var retransmitMultiplier: Int
        /// How often to push pending news to `fanout` random members (only while
        /// there is news: an idle cluster sends no gossip packets).
        public var interval: Duration
        /// Random members per gossip round.
        public var fanout: Int
        /// How often to run a digest push-pull with one random member. Scaled up
        /// linearly past 64 members so its bytes per node stay flat as N grows.
        public var syncInterval: Duration
        /// How often to try one failed member again with a digest push-pull (serf's
        /// reconnect_interval, 30 s): a failed member that is in fact running — a healed
        /// partition, a restart whose join did not reach us — is merged back this way.
        /// Each member's retries back off exponentially up to `reconnectMaxBackoff`.
        public var reconnectInterval: Duration
        /// Longest wait between two retries of one failed member.
        public var reconnectMaxBackoff: Duration
        /// Stop retrying a member this long after it failed (serf's reconnect_timeout,
        /// 24 h); `vigil force-leave` stops it at once.
        public var reconnectTimeout: Duration

        public init(
            mtu: Int, sealOverhead: Int, retransmitMultiplier: Int, interval: Duration, fanout: Int,
            syncInterval: Duration, reconnectInterval: Duration = .seconds(30),
            reconnectMaxBackoff: Duration = .seconds(600), reconnectTimeout: Duration = .seconds(86_400)
        ) {
            self.mtu = mtu
            self.sealOverhead = sealOverhead
            self.retransmitMultiplier = retransmitMultiplier
            self.interval = interval
            self.fanout = fanout
            self.syncInterval = syncInterval
            self.reconnectInterval = reconnectInterval
            self.reconnectMaxBackoff = reconnectMaxBackoff
            self.reconnectTimeout = reconnectTimeout
        }
    }

    /// Turning suspicions into a failure.
    public struct Quorum: Sendable, Equatable {
        /// A member that refuted this many suspicions within `flapWindow` is flapping
        /// (a gray failure): its observers vote as soon as they suspect it again,
        /// without waiting out the window, so it ends failed instead of oscillating.
        public var flapLimit: Int
        public var flapWindow: Duration
        /// An observer that currently suspects more than this share of the live
        /// members is probably on the small side of a partition: it does not vote.
        public var maxSuspectShareToVote: Double
        /// The chronic-failure rule (a gray failure that seldom flaps): an observer
        /// suspects a subject whose probe rounds fail at least this share of the time
        /// (over at least `grayMinRounds` rounds), and at least `grayFailureRatio`
        /// times as often as its rounds of its other subjects, and votes at once; so
        /// a node that hears a fifth of what is sent to it is failed once instead of
        /// being suspected and refuting for ever, while loss on every link (all
        /// subjects alike) or an observer's own trouble never triggers it.
        public var grayRoundFailureShare = 0.3
        public var grayMinRounds = 20
        public var grayFailureRatio = 4.0

        public init(flapLimit: Int, flapWindow: Duration, maxSuspectShareToVote: Double) {
            self.flapLimit = flapLimit
            self.flapWindow = flapWindow
            self.maxSuspectShareToVote = maxSuspectShareToVote
        }
    }
}

extension Configuration {
    /// Electing the leader that fences and recovers (DESIGN.md "Leader, fencing,
    /// recovery"; Raft's election rules without a log).
    public struct Election: Sendable, Equatable {
        /// How often the leader renews its lease with every member.
        public var heartbeatInterval: Duration
        /// How long a member that heard the leader (or voted) promises not to vote
        /// for anyone else; the leader holds its lease while a majority renewed it
        /// within this (less a 10% margin for clock-rate drift). A dead leader is
        /// replaced after about `leaseDuration` + an election timeout.
        public var leaseDuration: Duration
        /// A member without a leader stands after a random wait in this range
        /// (Raft's randomized election timeout, §5.2).
        public var electionTimeoutMin: Duration
        public var electionTimeoutMax: Duration
        /// The members that vote, by name (Consul's servers: 3, 5 or 7 spread over
        /// racks). Empty: every member that has not left or been fenced votes.
        public var voters: [String]

        public init(
            heartbeatInterval: Duration, leaseDuration: Duration, electionTimeoutMin: Duration,
            electionTimeoutMax: Duration, voters: [String] = []
        ) {
            self.heartbeatInterval = heartbeatInterval
            self.leaseDuration = leaseDuration
            self.electionTimeoutMin = electionTimeoutMin
            self.electionTimeoutMax = electionTimeoutMax
            self.voters = voters
        }

        /// One renewal a second: a lease of 3 s survives two lost heartbeats in a row.
        public static let lan = Election(
            heartbeatInterval: .seconds(1), leaseDuration: .seconds(3), electionTimeoutMin: .milliseconds(500),
            electionTimeoutMax: .milliseconds(1500))
        public static let wan = Election(
            heartbeatInterval: .seconds(3), leaseDuration: .seconds(10), electionTimeoutMin: .seconds(2),
            electionTimeoutMax: .seconds(6))
        public static let local = Election(
            heartbeatInterval: .milliseconds(300), leaseDuration: .seconds(1), electionTimeoutMin: .milliseconds(200),
            electionTimeoutMax: .milliseconds(600))
    }
}

extension Configuration {
    /// What the leader does about a failed node: fence it, then recover it.
    public struct HA: Sendable, Equatable {
        /// Whether the leader fences and recovers at all. Off unless the agent has a
        /// fence configuration (a node that runs without fencing says so explicitly).
        public var enabled: Bool
        /// The brake: when more than this share of the voters is failed or suspect at
        /// once, no new fence starts until an operator approves (a switch failure
        /// must not power off half a cloud; compare Kubernetes' unhealthy-zone rule).
        public var maxFailedShare: Double
        /// The brake, too: at most this many fences started within `fenceWindow`.
        public var maxFencesPerWindow: Int
        public var fenceWindow: Duration
        /// A fence or recovery the shell has not reported after this long counts as
        /// failed (the drivers time out well before).
        public var actionTimeout: Duration
        /// Retries of a failed fence or recovery wait `retryMin`, doubling up to `retryMax`.
        public var retryMin: Duration
        public var retryMax: Duration

        public init(
            enabled: Bool = false, maxFailedShare: Double = 0.3, maxFencesPerWindow: Int = 3,
            fenceWindow: Duration = .seconds(600), actionTimeout: Duration = .seconds(300),
            retryMin: Duration = .seconds(5), retryMax: Duration = .seconds(300)
        ) {
            self.enabled = enabled
            self.maxFailedShare = maxFailedShare
            self.maxFencesPerWindow = maxFencesPerWindow
            self.fenceWindow = fenceWindow
            self.actionTimeout = actionTimeout
            self.retryMin = retryMin
            self.retryMax = retryMax
        }
    }
}

extension Configuration {
    /// A data-centre network (default). `pauseTolerance` 1.32 s (measured: 1.5 s
    /// pauses never failed a node, 1.75 s did); a crash is failed everywhere in ~2 s.
    public static let lan = Configuration(
        probe: Probe(
            observers: 5,  // Akka/Rapid use 5-10; 5 keeps each node at 10 probes/s
            period: .milliseconds(500),
            timeout: .milliseconds(200),  // LAN RTT is well under 1 ms; 200 ms covers GC and load
            indirectProbes: 3,  // memberlist's IndirectChecks
            nackRatio: 0.8,  // Lifeguard
            randomProbeEvery: 4
        ),
        phi: Phi(
            threshold: 8,
            windowSize: 100,
            minStdDeviation: .milliseconds(100),
            acceptablePause: .milliseconds(500)
        ),
        lifeguard: Lifeguard(
            maxHealthScore: 7,  // timeouts grow at most 8x, memberlist's AwarenessMaxMultiplier
            voteHealthLimit: 2,
            suspicionMin: .milliseconds(500),
            suspicionMax: .milliseconds(2000)
        ),
        gossip: Gossip(
            mtu: 1400,
            sealOverhead: 48,  // 1 version + 4 key id + 24 nonce + 16 tag, rounded up
            retransmitMultiplier: 4,  // memberlist's RetransmitMult
            interval: .milliseconds(200),  // memberlist's GossipInterval
            fanout: 3,  // memberlist's GossipNodes
            syncInterval: .seconds(30)  // memberlist's PushPullInterval
        ),
        quorum: Quorum(
            flapLimit: 6,
            flapWindow: .seconds(120),
            maxSuspectShareToVote: 0.5
        ),
        election: .lan
    )

    /// Links across sites: slower probes, more patience. `pauseTolerance` 5.07 s
    /// (measured: 5 s survives, 5.3 s does not always); crashes failed everywhere in ~7 s.
    public static let wan = Configuration(
        probe: Probe(
            observers: 5,
            period: .seconds(2),
            timeout: .seconds(1),
            indirectProbes: 3,
            nackRatio: 0.8,
            randomProbeEvery: 4
        ),
        phi: Phi(
            threshold: 8,
            windowSize: 100,
            minStdDeviation: .milliseconds(300),
            acceptablePause: .seconds(2)
        ),
        lifeguard: Lifeguard(
            maxHealthScore: 7,
            voteHealthLimit: 2,
            suspicionMin: .seconds(2),
            suspicionMax: .seconds(8)
        ),
        gossip: Gossip(
            mtu: 1400, sealOverhead: 48, retransmitMultiplier: 5, interval: .milliseconds(500), fanout: 4,
            syncInterval: .seconds(60)),
        quorum: Quorum(flapLimit: 6, flapWindow: .seconds(600), maxSuspectShareToVote: 0.5),
        election: .wan
    )

    /// Loopback and tests on one machine: fast, and tolerant of little.
    /// `pauseTolerance` 0.56 s (measured: 0.6 s survives, 0.8 s does not); crashes
    /// failed everywhere in ~0.8 s.
    public static let local = Configuration(
        probe: Probe(
            observers: 5,
            period: .milliseconds(200),
            timeout: .milliseconds(100),
            indirectProbes: 2,
            nackRatio: 0.8,
            randomProbeEvery: 4
        ),
        phi: Phi(
            threshold: 8,
            windowSize: 100,
            minStdDeviation: .milliseconds(50),
            acceptablePause: .milliseconds(200)
        ),
        lifeguard: Lifeguard(
            maxHealthScore: 7,
            voteHealthLimit: 2,
            suspicionMin: .milliseconds(200),
            suspicionMax: .milliseconds(800)
        ),
        gossip: Gossip(
            mtu: 1400, sealOverhead: 48, retransmitMultiplier: 3, interval: .milliseconds(100), fanout: 3,
            syncInterval: .seconds(15), reconnectInterval: .seconds(5), reconnectMaxBackoff: .seconds(60)),
        quorum: Quorum(flapLimit: 6, flapWindow: .seconds(60), maxSuspectShareToVote: 0.5),
        election: .local
    )

    /// The longest process pause (SIGSTOP, GC, a starved CPU) this configuration
    /// lets a node survive without being declared failed: the silence at which phi
    /// reaches its threshold for a regular heartbeat (`acceptablePause` plus z
    /// minimum standard deviations, z ≈ 5.23 for phi = 8), plus the shortest
    /// suspicion window, in which the resumed node refutes, less one gossip interval
    /// for that refutation to reach the observers. A crash can never be detected
    /// faster than this; each preset spends the rest on speed.
    /// (`scripts/sim-figures.sh` checks each preset's value against the simulator.)
    public var pauseTolerance: Duration {
        let z = Self.standardScore(forPhi: self.phi.threshold)
        return self.phi.acceptablePause + self.phi.minStdDeviation.scaled(by: z) + self.lifeguard.suspicionMin
            - self.gossip.interval
    }

    /// The y at which Akka's logistic approximation gives `phi` (bisection).
    static func standardScore(forPhi phi: Double) -> Double {
        func phiAt(_ y: Double) -> Double {
            let x = y * (1.5976 + 0.070566 * y * y)
            return x > 700 ? x / 2.302_585_092_994_046 : Math.log10(1 + Math.exp(x))
        }
        var low = 0.0
        var high = 40.0
        for _ in 0..<80 {
            let mid = (low + high) / 2
            if phiAt(mid) < phi { low = mid } else { high = mid }
        }
        return low
    }

    /// Looks a preset up by name (`lan`, `wan`, `local`).
    public static func preset(named name: String) -> Configuration? {
        switch name.lowercased() {
        case "lan": .lan
        case "wan": .wan
        case "local": .local
        default: nil
        }
    }

    public static let presetNames = ["lan", "wan", "local"]
}

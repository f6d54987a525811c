import VigilCore

/// What to simulate: a cluster, its network, and the faults to inject once it has
/// converged.
///
/// A run has two phases. **Warm-up**: nodes start one after another (`joinStagger`
/// apart, plus up to half of that at random), each joining through the first
/// `joinSeeds` nodes, until every node sees every other alive (or `warmupLimit`
/// passes). **Scenario**: `duration` of virtual time during which the faults happen;
/// everything measured about traffic covers this phase only.
public struct Scenario: Sendable {
    public var nodes: Int = 50
    /// Length of the scenario phase.
    public var duration: Duration = .seconds(600)
    /// The preset's name, reported as is (`custom` when the configuration was edited).
    public var preset: String = "lan"
    public var configuration: Configuration = .lan

    /// Datagram loss probability on every link, `0...1`.
    public var loss: Double = 0
    public var delay: Duration = .milliseconds(1)
    /// Each datagram gets a uniform extra delay in `0...jitter` (so reordering happens).
    public var jitter: Duration = .milliseconds(1)

    /// Nodes that crash, each at a random time in the scenario phase, leaving at least
    /// `min(30 s, duration / 2)` at the end for detection.
    public var crashes: Int = 0
    /// If set, each crashed node restarts this long after its crash (as a new instance
    /// with a higher incarnation), when that is still inside the run.
    public var restartAfter: Duration? = nil
    /// Nodes that pause (SIGSTOP), each for `pauseDuration` once per virtual minute at a
    /// random moment of that minute.
    public var pauses: Int = 0
    public var pauseDuration: Duration = .seconds(2)
    /// Gray nodes: each loses `grayLoss` of its datagrams, in both directions, for the
    /// whole scenario phase.
    public var gray: Int = 0
    public var grayLoss: Double = 0.8
    /// Slow nodes: everything each one handles and sends takes `slowDelay` longer.
    public var slow: Int = 0
    public var slowDelay: Duration = .milliseconds(200)
    public var partition: PartitionSpec? = nil
    /// With HA: crash the leader right after it orders the run's first fence, while
    /// the BMC call is in flight (restarted `restartAfter` later, if that is set).
    public var killLeader: Bool = false
    /// With HA: a node that went down and stayed down this long (after any heal) must
    /// have been fenced and recovered by the end of the run (`HAInvariants`). About
    /// detection, a new election after a lease, a BMC call and a recovery, with room.
    public var haSettle: Duration = .seconds(40)

    /// The run's only source of randomness.
    public var seed: UInt64 = 1
    /// Nodes join through the first this-many nodes.
    public var joinSeeds: Int = 3
    /// Time between two nodes' starts; `nil` means `defaultJoinStagger(nodes:)`.
    public var joinStagger: Duration? = nil
    /// Longest warm-up; `nil` means the last node's start plus 60 s.
    public var warmupLimit: Duration? = nil
    /// Really encode and decode every packet (see `WireAccounting`).
    public var wireRoundTrip: Bool = false

    public init() {}

    /// Starts from the named preset (`lan`, `wan`, `local`).
    public init?(preset name: String) {
        guard let configuration = Configuration.preset(named: name) else { return nil }
        self.preset = name.lowercased()
        self.configuration = configuration
    }

    /// The stagger a run uses: `joinStagger`, or the default for its size.
    public var effectiveJoinStagger: Duration {
        self.joinStagger ?? Self.defaultJoinStagger(nodes: self.nodes)
    }

    /// 20 ms up to 100 nodes, 100 ms above. Gossip carries about 20 joins a second
    /// whatever N is (each node fills ~35 packets a second with ~14 updates, and each
    /// join's `alive` is sent λ·⌈log10(N+1)⌉ + 4 times by every node): at 50 joins a
    /// second a 300-node warm-up left 2% of (observer, member) pairs unknown once the
    /// joins were over, for push-pull to repair 15–45 s later, and every leaderless
    /// node's pre-votes (to all N voters, refused while the views differ) made 95% of
    /// the run's messages. At 10 a second N=300 and N=1000 converge within a few
    /// seconds of the last start. Small clusters keep 20 ms, so their seeded runs stay
    /// what they were.
    public static func defaultJoinStagger(nodes: Int) -> Duration {
        nodes <= 100 ? .milliseconds(20) : .milliseconds(100)
    }

    /// Nodes given a fault (crash, pause, gray, slow); each node gets at most one.
    public var faultyNodes: Int {
        self.crashes + self.pauses + self.gray + self.slow
    }

    /// What is wrong with this scenario, in words fit for a user; empty if nothing.
    public var problems: [String] {
        var problems: [String] = []
        if self.nodes < 1 { problems.append("nodes must be at least 1, got \(self.nodes)") }
        if self.duration <= .zero { problems.append("duration must be positive") }
        if !(0...1).contains(self.loss) { problems.append("loss must be between 0 and 1, got \(self.loss)") }
        if !(0...1).contains(self.grayLoss) {
            problems.append("gray loss must be between 0 and 1, got \(self.grayLoss)")
        }
        if self.delay < .zero || self.jitter < .zero || self.slowDelay < .zero {
            problems.append("delays must not be negative")
        }
        if self.crashes < 0 || self.pauses < 0 || self.gray < 0 || self.slow < 0 {
            problems.append("fault counts must not be negative")
        }
        if self.faultyNodes > self.nodes {
            problems.append(
                "crash + pause + gray + slow (\(self.faultyNodes)) must not exceed the \(self.nodes) nodes")
        }
        if let p = self.partition {
            if !(p.share > 0 && p.share < 1) {
                problems.append("partition share must be strictly between 0 and 1, got \(p.share)")
            }
            if (p.start ?? .zero) < .zero || p.duration <= .zero {
                problems.append("partition start must not be negative and its duration must be positive")
            }
        }
        return problems
    }
}

import VigilCore

/// Follows what every node publishes and what really happened to every node, and
/// derives the report's measures from the two.
///
/// It keeps, for each (subject, observer) pair, the latest status the observer
/// published for the subject — an N×N byte matrix, subject-major so that "does every
/// live member see X failed" reads one contiguous row. Convergence is tracked with
/// per-observer counters so checking it costs nothing.
///
/// Measures (all as documented on `SimulationReport`):
/// - detection per crash: first suspicion and failed-everywhere times;
/// - false failures: members neither crashed nor gray (nor cut off by a partition,
///   which is counted apart) that some live member marked failed — at any time;
/// - false suspicions: `suspect` events against members that were not crashed,
///   during the scenario phase;
/// - gray flaps: during the scenario phase, each time one observer's view of a gray
///   node went from `suspect` or `failed` back to `alive`.
public final class Recorder {
    public let names: [String]
    private let count: Int
    private let nameIndex: [String: Int32]

    /// `MemberStatus.rawValue + 1`; 0 = never heard of.
    private var view: [UInt8]
    /// Per observer: how many other members it currently sees alive.
    private var aliveSeen: [Int32]
    /// Observers that currently see every other member alive.
    private var fullyConverged = 0

    public private(set) var states: [NodeState]
    /// The incarnation each node's current life started with: news about an older
    /// incarnation concerns a previous life.
    private var lifeIncarnation: [UInt64]
    private var isGray: [Bool]
    private var partitionWindows: [(group: [Bool], from: Int64, until: Int64)] = []

    /// Virtual time the scenario phase began (after convergence); `.max` before.
    public internal(set) var scenarioStart: Int64 = .max

    public private(set) var crashes: [CrashRecord] = []
    private var openCrash: [Int32]

    /// First moment (and observer) each member was falsely marked failed.
    public private(set) var falseFailures: [Int: (at: Instant, observer: Int)] = [:]
    /// Members marked failed while on the far side of a partition.
    public private(set) var partitionedFailures: Set<Int> = []
    /// Gray members some live member marked failed.
    public private(set) var grayFailures: Set<Int> = []
    public private(set) var grayFlaps: [Int]
    public private(set) var falseSuspicions = 0
    public private(set) var certifiedFailures: [CertifiedFailure] = []
    /// Which nodes claimed to lead each term (invariant: at most one per term).
    public private(set) var leadersByTerm: [UInt64: Set<Int>] = [:]
    /// How often some node's idea of the leader changed.
    public private(set) var leaderChanges = 0
    /// The first moment some node led, and how many distinct terms had a leader.
    public private(set) var firstLeaderAt: Instant?
    /// What the HA invariants are checked on (filled while `Simulation.tracesHA`).
    public internal(set) var haTrace: HATrace
    private var fenceRecords: Set<[UInt64]> = []
    /// Status events that named a member outside the cluster layout.
    public private(set) var unknownMemberEvents = 0
    public private(set) var statusEvents = 0

    private static let failedCode = MemberStatus.failed.rawValue + 1
    private static let aliveCode = MemberStatus.alive.rawValue + 1
    private static let suspectCode = MemberStatus.suspect.rawValue + 1

    init(names: [String]) {
        self.names = names
        self.count = names.count
        var index: [String: Int32] = [:]
        index.reserveCapacity(names.count)
        for (i, name) in names.enumerated() { index[name] = Int32(i) }
        self.nameIndex = index
        self.view = [UInt8](repeating: 0, count: names.count * names.count)
        self.aliveSeen = [Int32](repeating: 0, count: names.count)
        self.states = [NodeState](repeating: .notStarted, count: names.count)
        self.lifeIncarnation = [UInt64](repeating: 0, count: names.count)
        self.isGray = [Bool](repeating: false, count: names.count)
        self.openCrash = [Int32](repeating: -1, count: names.count)
        self.grayFlaps = [Int](repeating: 0, count: names.count)
        self.haTrace = HATrace(names: names)
    }

    // MARK: Queries

    /// The latest status `observer` published for `subject` (`nil`: none yet).
    public func status(of subject: Int, seenBy observer: Int) -> MemberStatus? {
        let code = self.view[subject * self.count + observer]
        return code == 0 ? nil : MemberStatus(rawValue: code - 1)
    }

    /// Whether every node is live and sees every other node alive.
    public var isConverged: Bool {
        self.fullyConverged == self.count
    }

    public func index(of name: String) -> Int? {
        self.nameIndex[name].map(Int.init)
    }

    public func isGray(_ node: Int) -> Bool { self.isGray[node] }

    // MARK: What happened to the nodes (told by the simulation)

    func nodeStarted(_ node: Int, incarnation: UInt64, at now: Int64) {
        self.lifeIncarnation[node] = incarnation
        // A new life knows nothing yet.
        for subject in 0..<self.count { self.view[subject * self.count + node] = 0 }
        self.updatingConvergence(of: node) {
            self.states[node] = .running
            self.aliveSeen[node] = 0
        }
        let open = self.openCrash[node]
        if open >= 0 {
            self.crashes[Int(open)].restartedAt = Instant(nanoseconds: now)
            self.openCrash[node] = -1
        }
    }

    func nodeStopped(_ node: Int, as state: NodeState, at now: Int64) {
        let wasLive = self.states[node].isLive
        self.updatingConvergence(of: node) {
            self.states[node] = state
            self.aliveSeen[node] = 0
        }
        if state == .crashed && wasLive {
            self.openCrash[node] = Int32(self.crashes.count)
            self.crashes.append(CrashRecord(node: node, crashedAt: Instant(nanoseconds: now)))
        }
        // One observer fewer: crashes waiting for it alone may now be detected.
        for subject in 0..<self.count where self.openCrash[subject] >= 0 {
            self.checkFailedEverywhere(subject, at: now)
        }
    }

    func nodePaused(_ node: Int) {
        self.states[node] = .paused
    }

    func nodeResumed(_ node: Int) {
        self.states[node] = .running
    }

    func setGray(_ node: Int, _ gray: Bool) {
        self.isGray[node] = gray
    }

    /// Failures of members on either side of `group`'s cut, observed from `from` until
    /// `until` (the heal plus a grace for news still in flight), count as partition
    /// failures rather than false ones.
    func notePartition(group: [Bool], from: Int64, until: Int64) {
        self.partitionWindows.append((group, from, until))
    }

    // MARK: What the nodes said

    func record(_ event: MembershipEvent, from observer: Int, at now: Int64) {
        switch event {
        case .statusChanged(let member, _, let to, let incarnation):
            self.statusChanged(observer: observer, member: member, to: to, incarnation: incarnation, at: now)
        case .failureCertified(let certificate):
            let subject = self.nameIndex[certificate.subject].map(Int.init)
            self.certifiedFailures.append(
                CertifiedFailure(
                    at: Instant(nanoseconds: now), observer: observer, certificate: certificate,
                    subjectState: subject.map { self.states[$0] }))
        case .leaderChanged(let term, let leader):
            self.leaderChanges += 1
            if let leader, leader == self.names[observer] {
                if self.leadersByTerm[term, default: []].insert(observer).inserted {
                    self.haTrace.append(.leaderWon(node: observer, term: term), at: now)
                }
                if self.firstLeaderAt == nil { self.firstLeaderAt = Instant(nanoseconds: now) }
            }
        case .refuted, .declaredFailed, .identityConflict, .isolated, .healthChanged, .dropped, .keyringChanged,
            .haChanged:
            break
        }
    }

    private func statusChanged(observer: Int, member: String, to: MemberStatus, incarnation: UInt64, at now: Int64) {
        self.statusEvents += 1
        guard let found = self.nameIndex[member] else {
            self.unknownMemberEvents += 1
            return
        }
        let subject = Int(found)
        guard subject != observer else { return }

        let cell = subject * self.count + observer
        let previous = self.view[cell]
        let code = to.rawValue + 1
        self.view[cell] = code
        if previous == Self.aliveCode && code != Self.aliveCode {
            self.updatingConvergence(of: observer) { self.aliveSeen[observer] -= 1 }
        } else if previous != Self.aliveCode && code == Self.aliveCode {
            self.updatingConvergence(of: observer) { self.aliveSeen[observer] += 1 }
        }

        let inScenario = now >= self.scenarioStart
        let subjectState = self.states[subject]
        let currentLife = incarnation >= self.lifeIncarnation[subject]

        if to == .suspect || to == .failed {
            let open = self.openCrash[subject]
            if open >= 0 && self.crashes[Int(open)].firstSuspectAt == nil {
                self.crashes[Int(open)].firstSuspectAt = Instant(nanoseconds: now)
            }
        }
        if to == .suspect && inScenario && subjectState != .crashed && currentLife {
            self.falseSuspicions += 1
        }
        if to == .failed {
            if self.openCrash[subject] >= 0 {
                self.checkFailedEverywhere(subject, at: now)
            } else if subjectState.isLive && currentLife {
                if self.isGray[subject] {
                    self.grayFailures.insert(subject)
                } else if self.isPartitioned(subject, observer, at: now) {
                    self.partitionedFailures.insert(subject)
                } else if self.falseFailures[subject] == nil {
                    self.falseFailures[subject] = (Instant(nanoseconds: now), observer)
                }
            }
        }
        if to == .alive && inScenario && self.isGray[subject]
            && (previous == Self.suspectCode || previous == Self.failedCode)
        {
            self.grayFlaps[subject] += 1
        }
    }

    // MARK: Bookkeeping

    /// Runs `change` and keeps `fullyConverged` in step with its effect on `observer`.
    private func updatingConvergence(of observer: Int, _ change: () -> Void) {
        let was = self.seesEveryoneAlive(observer)
        change()
        let now = self.seesEveryoneAlive(observer)
        if was && !now { self.fullyConverged -= 1 }
        if !was && now { self.fullyConverged += 1 }
    }

    private func seesEveryoneAlive(_ observer: Int) -> Bool {
        self.states[observer].isLive && Int(self.aliveSeen[observer]) == self.count - 1
    }

    private func checkFailedEverywhere(_ subject: Int, at now: Int64) {
        let open = Int(self.openCrash[subject])
        guard self.crashes[open].failedEverywhereAt == nil else { return }
        let row = subject * self.count
        for observer in 0..<self.count where observer != subject && self.states[observer].isLive {
            if self.view[row + observer] != Self.failedCode { return }
        }
        self.crashes[open].failedEverywhereAt = Instant(nanoseconds: now)
    }

    // MARK: HA

    /// A `fenced` record `leader` signed itself, counted once even when it reaches a
    /// later life of that leader again by gossip.
    func noteFenceRecord(_ record: HARecord, by leader: Int, target: Int, at now: Int64) {
        let key = [UInt64(target), UInt64(record.life), record.term, UInt64(record.sequence)]
        guard self.fenceRecords.insert(key).inserted else { return }
        self.haTrace.append(.fenceRecorded(by: leader, target: target, life: record.life, term: record.term), at: now)
    }

    private func isPartitioned(_ subject: Int, _ observer: Int, at now: Int64) -> Bool {
        for window in self.partitionWindows where window.from <= now && now < window.until {
            if window.group[subject] || window.group[observer] { return true }
        }
        return false
    }
}

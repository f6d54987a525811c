import VigilCrypto

/// One node's protocol engine: SWIM membership with phi-accrual detection, Lifeguard
/// and a signed failure quorum. A value type that does no I/O and reads no clock:
/// every input takes `now` and returns `Directive`s for the shell to carry out.
///
/// The flow of a failure (see DESIGN.md "Agreeing on a failure"):
/// 1. each of a member's K observers probes it every `probe.period`; every ack is a
///    phi-accrual heartbeat;
/// 2. an observer whose latest probe round (direct and through relays) failed and whose
///    phi crossed the threshold suspects the subject and gossips an unsigned suspicion;
/// 3. the subject, on hearing it, refutes with a higher incarnation (SWIM §4.2);
/// 4. an observer whose Lifeguard suspicion window (shrinking with each independent
///    confirmation) ran out without refutation signs a vote;
/// 5. votes from more than half of the subject's observers against one incarnation
///    form a failure certificate; every member checks it and marks the subject failed.
public struct Instance: Sendable {
    public let configuration: Configuration
    /// This node's own record.
    public internal(set) var me: Member
    let identity: SigningKey
    var rng: DeterministicRNG

    /// Every other member this node knows of, by name.
    var entries: [String: MemberEntry] = [:]
    /// Names of the members whose status here is `.suspect`.
    var suspects: Set<String> = []
    /// The subjects this node observes, with their phi detectors.
    var watches: [String: SubjectWatch] = [:]
    var pending: [UInt32: PendingProbe] = [:]
    var relays: [UInt32: RelayedProbe] = [:]
    var queue = BroadcastQueue()
    var health: HealthScore
    var nextSequence: UInt32 = 1

    var started = false
    var hasLeft = false
    /// The certificate against this node's own incarnation, once one arrived.
    var ownCertificate: FailureCertificate?
    /// Votes against this node's current incarnation (it refutes unless they make a quorum).
    var votesAgainstMe: [String: Vote] = [:]

    /// The newest cluster keyring record adopted (Instance+Keys.swift).
    public internal(set) var keyringRecord: KeyringRecord?
    /// The latest key report of each known member, this node's own included.
    var keyReports: [String: KeyReport] = [:]
    /// The sequence of this node's last key report.
    var keyReportSequence: UInt64

    var seeds: [Address] = []
    var nextJoinAttempt: Instant = .distantFuture
    var nextProbeAt: Instant = .distantFuture
    var probeCursor = 0
    var periodsSinceRandomProbe = 0
    var randomOrder: [String] = []
    var randomCursor = 0
    var nextSyncAt: Instant = .distantFuture
    var nextReconnectAt: Instant = .zero
    /// Join attempts made so far without an answer (their interval backs off).
    var joinAttempts = 0
    var nextGossipAt: Instant = .zero
    var lastRepairSyncAt: Instant = .zero
    /// The last ack or nack this node received: proof that its own network works.
    var lastAckAt: Instant = .zero
    var isolated = false
    var requestedWake: Instant = .distantFuture

    var topologyDirty = true
    var quorumsNeedRecheck = false
    var rings = ObserverRings(k: 1, members: [String]())
    var subjects: [String] = []
    var liveOthers: [String] = []
    /// Names made live while `batchingLiveChanges` runs, not yet in the rings.
    var batchedLive: [String]?
    var observersCache: [String: [String]] = [:]

    var election: LeaderElection
    /// The newest HA record of each failed node, by name.
    var haRecords: [String: HARecord] = [:]
    /// Leader only: fences and recoveries handed to the shell and not reported yet.
    var haInFlight: [String: HAInFlight] = [:]
    /// Leader only: when each node's failed fence or recovery may be retried.
    var haRetryAt: [String: Instant] = [:]
    /// When this node learned each member's failure certificate: a leader fences only
    /// once a majority acknowledged a heartbeat it sent after that, so a leader whose
    /// lease outlives a fresh partition never fences from the minority side.
    var certifiedAt: [String: Instant] = [:]
    /// Leader only: when fences started (for the brake's window).
    var fenceStarts: [Instant] = []
    var nextHACheckAt: Instant = .zero
    /// The quorum denominator's voters and their digest's running sum, kept current
    /// name by name (`voterMayHaveChanged`, settled in `electionView()`): rebuilding it
    /// from every member on each membership change cost O(N log N) per join per node.
    var voterSet: Set<String> = []
    var voterDigestSum: UInt64 = 0
    /// Names whose standing as a voter may have changed since the last `electionView()`.
    var voterChanges: [String] = []
    var votersConfigured = false
    /// When this node first counted itself in the cluster (started without seeds, or
    /// heard from one): it votes a lease later (`electionView()`).
    var joinedAt: Instant?

    var now: Instant = .zero
    var output: [Directive] = []

    /// What this engine did so far, for the shell's metrics.
    public internal(set) var stats = InstanceStats()
    /// Ping → ack samples not yet drained (`drainRoundTrips()`), bounded.
    var roundTrips: [Duration] = []

    /// - Parameters:
    ///   - name: this node's name (the Nova compute host name).
    ///   - address: where peers reach this node.
    ///   - tags: labels gossiped with the membership.
    ///   - identity: this node's Ed25519 key; votes and leaves are signed with it.
    ///   - incarnation: must exceed any incarnation this node used before.
    ///   - configuration: protocol settings.
    ///   - rng: every random choice is drawn from here.
    ///   - election: the term and vote persisted before a restart (`Directive.persist`).
    public init(
        name: String,
        address: Address,
        tags: [String: String] = [:],
        identity: SigningKey,
        incarnation: UInt64,
        configuration: Configuration,
        rng: DeterministicRNG,
        election: ElectionRecord? = nil
    ) {
        self.configuration = configuration
        let timing = configuration.election
        self.election = LeaderElection(
            me: name,
            settings: LeaderElection.Settings(
                heartbeatInterval: timing.heartbeatInterval, leaseDuration: timing.leaseDuration,
                electionTimeoutMin: timing.electionTimeoutMin, electionTimeoutMax: timing.electionTimeoutMax),
            restoring: election)
        self.identity = identity
        self.rng = rng
        self.health = HealthScore(max: configuration.lifeguard.maxHealthScore)
        self.me = Member(
            name: name, address: address, incarnation: incarnation, status: .alive, tags: tags,
            identityKey: identity.publicKey)
        self.rings = ObserverRings(k: configuration.probe.observers, members: [name])
        self.voterChanges = [name]
        // Reports of a new life must replace those of earlier ones, which no node
        // forgets: start at the life, as incarnations do.
        self.keyReportSequence = Incarnation.first(life: Incarnation.life(of: incarnation))
    }

    // MARK: - Inputs

    /// Starts the protocol, joining through `seeds` (none for the first node).
    /// Joining retries every few periods until some member answers.
    public mutating func start(joining seeds: [Address], now: Instant) -> [Directive] {
        self.begin(now)
        guard !self.started else { return self.finish() }
        self.started = true
        self.seeds = seeds.filter { $0 != self.me.address }
        self.lastAckAt = now
        self.nextProbeAt = now + self.configuration.probe.period.scaled(by: self.rng.nextUnit())
        self.nextSyncAt = now + self.syncInterval().scaled(by: 0.5 + self.rng.nextUnit())
        self.queue.enqueue(.alive(self.me), key: .member(self.me.name), priority: .own)
        self.attemptJoin()
        return self.finish()
    }

    /// Handles one decoded packet that arrived from `address`.
    public mutating func receive(_ packet: Packet, from address: Address, now: Instant) -> [Directive] {
        self.begin(now)
        guard self.started, !self.hasLeft else { return self.finish() }
        guard packet.sender != self.me.name else {
            self.publish(.dropped(reason: .fromSelf))
            return self.finish()
        }
        var votesAgainstMe: [Vote] = []
        var haRecords: [HARecord] = []
        for update in packet.gossip {
            if case .vote(let vote) = update, vote.subject == self.me.name {
                votesAgainstMe.append(vote)
            } else if case .ha(let record) = update {
                haRecords.append(record)
            } else {
                self.apply(update)
            }
        }
        // HA steps last (their signers' member records may be in this packet) and
        // oldest first, so that a `fenced` sent beside the `recovering` that followed
        // it is stored (and journaled) before it, not dropped as stale.
        for record in haRecords.sorted(by: { $0.precedence < $1.precedence }) {
            self.applyHA(record)
        }
        if !votesAgainstMe.isEmpty {
            self.applyVotesAgainstMe(votesAgainstMe)
        }
        // After the gossip: a restarted sender's new life in this packet makes it alive.
        self.answerFailedSender(packet.sender)
        switch packet.message {
        case .ping(let seq, let target):
            self.handlePing(seq: seq, target: target, from: address)
        case .ack(let seq):
            self.handleAck(seq: seq)
        case .pingReq(let seq, let target, let targetAddress):
            self.handlePingReq(seq: seq, target: target, targetAddress: targetAddress, from: address)
        case .nack(let seq):
            self.handleNack(seq: seq)
        case .sync(let sync):
            self.handleSync(sync, from: address, sender: packet.sender)
        case .gossip:
            break  // its updates were applied above
        case .election(let message):
            self.handleElection(message, from: packet.sender)
        }
        return self.finish()
    }

    /// Runs whatever is due at `now`: probes, timeouts, suspicion windows, votes, sync.
    public mutating func tick(now: Instant) -> [Directive] {
        self.begin(now)
        guard self.started, !self.hasLeft else { return self.finish() }
        self.compensateForOwnPause()
        self.refreshTopologyIfNeeded()
        self.expireRelays()
        self.advancePendingProbes()
        self.runProbeSlots()
        self.evaluateSubjects()
        self.checkIsolation()
        if !self.queue.isEmpty && self.now >= self.nextGossipAt {
            self.gossipRound()
        }
        if self.now >= self.nextSyncAt {
            self.startSync()
        }
        self.reconnectIfDue()
        self.runElection()
        self.runHA()
        if self.entries.isEmpty, !self.seeds.isEmpty, self.now >= self.nextJoinAttempt {
            self.attemptJoin()
        }
        return self.finish()
    }

    /// Leaves the cluster gracefully: signs a departure and hands it to this node's
    /// observers, subjects and a few others, who gossip it on. The shell should keep
    /// the node reachable for about one more period, then stop it.
    public mutating func leave(now: Instant) -> [Directive] {
        self.begin(now)
        guard self.started, !self.hasLeft else { return self.finish() }
        self.refreshTopologyIfNeeded()
        let departure = Departure(
            name: self.me.name, incarnation: self.me.incarnation,
            signature: self.identity.sign(Departure.signedBytes(name: self.me.name, incarnation: self.me.incarnation)))
        let old = self.me.status
        self.me.status = .left
        self.publish(.statusChanged(member: self.me.name, from: old, to: .left, incarnation: self.me.incarnation))
        self.queue.enqueue(.left(departure), key: .member(self.me.name), priority: .own)
        var targets = Set(self.subjects)
        targets.formUnion(self.observers(of: self.me.name))
        for name in self.liveOthers.shuffled(using: &self.rng).prefix(3) {
            targets.insert(name)
        }
        for name in targets.sorted() {
            guard let entry = self.entries[name] else { continue }
            self.send(.ping(seq: self.takeSequence(), target: name), to: entry.member.address)
        }
        self.hasLeft = true
        self.setLive(self.me.name, false)
        return self.finish()
    }

    // MARK: - Queries

    /// Every member this node knows, itself included, sorted by name.
    public var members: [Member] {
        var all = self.entries.values.map(\.member)
        all.append(self.me)
        return all.sorted { $0.name < $1.name }
    }

    public func member(named name: String) -> Member? {
        name == self.me.name ? self.me : self.entries[name]?.member
    }

    /// The failure certificate held for `name`, if it is failed here.
    public func certificate(for name: String) -> FailureCertificate? {
        name == self.me.name ? self.ownCertificate : self.entries[name]?.certificate
    }

    /// For a suspect member: the observers whose suspicion of its current incarnation
    /// this node heard of, and how many valid failure votes it holds against it.
    public func suspicionDetail(of name: String) -> (observers: [String], votes: Int) {
        guard let entry = self.entries[name], entry.member.status == .suspect else { return ([], 0) }
        let observers = entry.suspicion.map { [$0.firstObserver] + $0.confirmedBy } ?? []
        let votes = entry.votes.values.filter { $0.incarnation == entry.member.incarnation }.count
        return (observers.sorted(), votes)
    }

    /// Lifeguard local health score (0 = healthy).
    public var healthScore: Int { self.health.score }

    /// Whether this node learned a valid failure certificate against itself.
    public var isDeclaredFailed: Bool { self.ownCertificate != nil }

    /// Whether none of this node's probes are answered: it suspects itself.
    public var isIsolated: Bool { self.isolated }

    /// The members this node currently observes.
    public var observedSubjects: [String] { self.subjects }

    // MARK: - Plumbing

    mutating func begin(_ now: Instant) {
        self.now = max(self.now, now)
        self.output.removeAll(keepingCapacity: true)
    }

    mutating func finish() -> [Directive] {
        self.recheckQuorumsIfNeeded()
        if self.started && !self.hasLeft {
            let wake = self.nextDeadline()
            self.requestedWake = wake
            self.output.append(.wake(at: wake))
        }
        let out = self.output
        self.output = []
        return out
    }

    mutating func publish(_ event: MembershipEvent) {
        self.output.append(.publish(event))
    }

    mutating func takeSequence() -> UInt32 {
        let seq = self.nextSequence
        self.nextSequence &+= 1
        if self.nextSequence == 0 { self.nextSequence = 1 }
        return seq
    }

    /// Sends `message` as a datagram, filling the rest of the MTU with gossip (unless
    /// `gossip` is false). `leading` updates (the buddy system's news for the target) go first.
    mutating func send(_ message: Message, to address: Address, leading: [Update] = [], gossip piggyback: Bool = true) {
        let gossip = self.configuration.gossip
        var budget =
            gossip.mtu - gossip.sealOverhead - Packet.encodedOverhead(sender: self.me.name, message: message)
        var updates: [Update] = []
        for update in leading where update.encodedSize <= budget {
            budget -= update.encodedSize
            updates.append(update)
        }
        if piggyback {
            updates += self.queue.take(budget: budget, limit: self.retransmitLimit())
        }
        self.stats.messagesSent &+= 1
        self.stats.updatesSent &+= UInt64(updates.count)
        self.output.append(.send(Packet(sender: self.me.name, message: message, gossip: updates), to: address))
    }

    /// λ·⌈log10(N+1)⌉ + 4 transmissions per update: memberlist's retransmit limit,
    /// plus a constant because the share of nodes an epidemic misses falls only like
    /// e^-transmissions, which memberlist's formula leaves near 1e-3 in small clusters.
    func retransmitLimit() -> Int {
        let n = Double(self.liveOthers.count + 2)
        return self.configuration.gossip.retransmitMultiplier * max(1, Int(Math.log10(n).rounded(.up))) + 4
    }

    mutating func changeHealth(by delta: Int) {
        if self.health.apply(delta) {
            self.publish(.healthChanged(score: self.health.score))
        }
    }

    /// The earliest instant something is due.
    func nextDeadline() -> Instant {
        var next = min(self.nextProbeAt, self.nextSyncAt)
        for probe in self.pending.values {
            next = min(next, probe.indirectSent ? probe.finalDeadline : probe.directDeadline)
        }
        for relay in self.relays.values {
            next = min(next, relay.nackSent ? relay.expiresAt : relay.nackAt)
        }
        // By index: `for (name, watch) in watches` would copy every watch, on every call.
        var index = self.watches.startIndex
        while index != self.watches.endIndex {
            if self.watches.values[index].suspects {
                // A window that already ran out without a vote (we may not vote now) is
                // re-checked on the regular probe ticks, not in a busy loop.
                if let deadline = self.entries[self.watches.keys[index]]?.suspicion?.deadline, deadline > self.now {
                    next = min(next, deadline)
                }
            }
            self.watches.formIndex(after: &index)
        }
        if self.entries.isEmpty && !self.seeds.isEmpty {
            next = min(next, self.nextJoinAttempt)
        }
        if !self.queue.isEmpty {
            next = min(next, self.nextGossipAt)
        }
        next = min(next, self.election.nextDeadline())
        return max(next, self.now)
    }
}


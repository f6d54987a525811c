import Foundation
import Logging
import NIOCore
import NIOPosix
import VigilCore
import VigilCrypto

/// Where the runtime sends what the core asks it to (the sealed UDP/TCP transport in
/// the agent; something else in tests).
public protocol PacketSink: Sendable {
    /// One datagram.
    func send(_ packet: Packet, to address: Address)
    /// One reliable message (sync), which may exceed the MTU. Returns once written or
    /// failed; never throws.
    func stream(_ packet: Packet, to address: Address) async
}

extension GossipTransport: PacketSink {}

/// The agent's single owner of the protocol engine: every input (a packet, a timer,
/// an operator request) goes through this actor one at a time, and the directives the
/// engine returns are carried out here. No protocol logic lives here.
///
/// The actor runs on an event loop (its executor), in the agent the datagram socket's:
/// a datagram read there, the engine's answer and the write of that answer then happen
/// on one thread, and the engine's timers are that loop's timers. On the default actor
/// executor each of those was a wake-up of another thread (a dispatch worker, then the
/// loop again through its eventfd, and dispatch's timer thread for every sleep), which
/// was most of an idle agent's CPU time.
public actor AgentRuntime: AgentControl {
    /// The loop this actor runs on. Work that blocks (the vote file, the HA journal)
    /// blocks that loop's sockets meanwhile; both are rare and small.
    public nonisolated let eventLoop: any EventLoop
    /// Kept, not made on each call: an `UnownedSerialExecutor` does not retain it.
    private nonisolated let executor: any SerialExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor {
        self.executor.asUnownedSerialExecutor()
    }
    private var instance: Instance
    private let sink: any PacketSink
    private let logger: Logger
    private let presetName: String
    private let dataDirectory: DataDirectory?
    /// Where every HA record the engine stores is appended before it is carried on
    /// (`nil`: not journaled, some tests).
    private let journal: HAJournal?
    private let origin = ContinuousClock.now
    private var wakeAt: Instant = .distantFuture
    /// The timer loop's sleep (`waitForWake`), a timer of the event loop, cut short
    /// when the engine's next deadline moves earlier than the one it sleeps towards.
    private var sleeper: Scheduled<Void>?
    /// Joining: through whom, since when (`nil` once a member answered), and when to
    /// say again that nobody has.
    private var joinSeeds: [Address] = []
    private var joinStartedAt: Instant?
    private var joinWarnAfter = AgentRuntime.firstJoinWarning
    private var joinWarned = false
    static let firstJoinWarning: Duration = .seconds(10)
    static let longestJoinWarningGap: Duration = .seconds(600)
    private var subscribers: [Int: AsyncStream<EventView>.Continuation] = [:]
    private var nextSubscriber = 0
    private var leaving = false
    private var counters: [String: UInt64] = [:]
    /// Packets handed to the engine (`packets_handled` in `info`): a field, not a
    /// `counters` entry, since it changes with every packet.
    private var packetsHandled: UInt64 = 0
    private var metrics: AgentMetrics?
    private let timestamp = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
    private let streamContinuation: AsyncStream<(Packet, Address)>.Continuation
    private let haContinuation: AsyncStream<HAOrder>.Continuation
    /// Fences and recoveries the engine ordered as leader (drained by `AgentService`,
    /// which runs the drivers and reports back through `fenceCompleted` and
    /// `recoveryCompleted`).
    public nonisolated let haOrders: AsyncStream<HAOrder>
    private let leaveContinuation: AsyncStream<Void>.Continuation
    /// Yields once when an operator asked this node to leave (the service then stops).
    public nonisolated let leaveRequested: AsyncStream<Void>
    /// Reliable messages waiting to be sent (drained by `AgentService`).
    public nonisolated let outgoingStreams: AsyncStream<(Packet, Address)>
    /// The keyring the transport uses; `nil`: keys are not managed (some tests).
    private let keyringHolder: (any KeyringHolder)?
    /// Where adopted keyrings are persisted (`nil`: not persisted).
    private let keyringFile: String?
    /// A keyring record the engine adopted while directives were carried out, applied
    /// once they all are (applying it calls the engine again).
    private var pendingKeyring: KeyringRecord?

    /// - Parameters:
    ///   - dataDirectory: where election votes are persisted before they are sent
    ///     (`nil` in tests that do not restart: votes then live in memory only).
    ///   - keyring: the transport whose keyring `vigil keys` changes.
    ///   - keyringFile: where each adopted keyring is written (mode 0600, atomically),
    ///     so that a restart comes back with it.
    ///   - metrics: brought up to date by ``record(transport:)``; `nil` when no metrics
    ///     endpoint is configured.
    ///   - journal: the HA journal, where each HA record the engine stores is written
    ///     before what follows it is carried out; `vigil history` reads it. The engine
    ///     should have been given its newest records back (`Instance.restore(haRecords:)`).
    ///   - eventLoop: where the actor runs and its timers fire: the transport's
    ///     ``GossipTransport/eventLoop`` in the agent.
    public init(
        instance: Instance, sink: any PacketSink, presetName: String, dataDirectory: DataDirectory? = nil,
        logger: Logger, keyring: (any KeyringHolder)? = nil, keyringFile: String? = nil,
        metrics: AgentMetrics? = nil, journal: HAJournal? = nil,
        eventLoop: any EventLoop = MultiThreadedEventLoopGroup.singleton.next()
    ) {
        self.eventLoop = eventLoop
        self.executor = eventLoop.executor
        self.instance = instance
        self.dataDirectory = dataDirectory
        self.journal = journal
        self.metrics = metrics
        self.sink = sink
        self.keyringHolder = keyring
        self.keyringFile = keyringFile
        self.presetName = presetName
        self.logger = logger
        (self.leaveRequested, self.leaveContinuation) = AsyncStream.makeStream(of: Void.self)
        (self.haOrders, self.haContinuation) = AsyncStream.makeStream(of: HAOrder.self)
        (self.outgoingStreams, self.streamContinuation) = AsyncStream.makeStream(
            of: (Packet, Address).self, bufferingPolicy: .bufferingNewest(256))
    }

    /// The engine's clock: monotonic time since this runtime was made.
    public nonisolated func now() -> Instant {
        Instant(nanoseconds: (ContinuousClock.now - self.origin).nanoseconds)
    }

    /// When the engine wants its next tick.
    public var nextWake: Instant { self.wakeAt }

    // MARK: Inputs

    public func start(joining seeds: [Address]) {
        self.joinSeeds = seeds
        self.joinStartedAt = seeds.isEmpty ? nil : self.now()
        self.carry(self.instance.start(joining: seeds, now: self.now()))
        // Say from the start which keys this node holds, so `vigil keys list` counts it.
        if let keyring = self.keyringHolder?.keyring {
            self.reportKeys(keyring)
        }
        self.logger.info(
            "agent.started",
            metadata: [
                "node.name": "\(self.instance.me.name)", "node.address": "\(self.instance.me.address)",
                "swim.incarnation": "\(self.instance.me.incarnation)", "join.seeds": "\(seeds)",
            ])
        if seeds.isEmpty {
            self.logger.notice(
                "join.none",
                metadata: [
                    "join.hint": .string(
                        "no join seeds and no saved members: this node starts a cluster of its own; "
                            + "give it `join:` (the other nodes' addresses) if it should be part of one")
                ])
        }
    }

    /// Says, at `warning` and then less and less often (10 s, 20 s, 40 s, ... up to
    /// every 10 min), that a node told to join has heard from nobody: a wrong or old
    /// cluster key, a clock beyond the freshness window or a firewall all look like
    /// this from the node itself, which otherwise logs nothing at all. Monitors get a
    /// `join-unanswered` event. Stops once any member is known.
    private func checkJoin(now: Instant) {
        guard let started = self.joinStartedAt else { return }
        if self.instance.members.contains(where: { $0.name != self.instance.me.name }) {
            self.joinStartedAt = nil
            if self.joinWarned {
                self.logger.notice("join.answered", metadata: ["join.waited-s": "\(Int((now - started).milliseconds / 1000))"])
            }
            return
        }
        guard now - started >= self.joinWarnAfter else { return }
        let waited = Int((now - started).milliseconds / 1000)
        let detail =
            "no member has answered in \(waited) s (seeds: \(self.joinSeeds.map(\.description).joined(separator: ", "))): "
            + "check that this node holds the cluster's current key (`encrypt:` or its keyring.json; compare "
            + "`vigil keys list` on a member), that its clock is within 30 s of theirs (NTP), and that UDP and TCP "
            + "port \(self.instance.me.address.port) reach them; a member that refuses its packets logs `transport.dropping`"
        self.logger.warning("join.unanswered", metadata: ["join.waited-s": "\(waited)", "join.hint": "\(detail)"])
        let view = EventView(time: Date().formatted(self.timestamp), event: "join-unanswered", detail: detail)
        for continuation in self.subscribers.values {
            continuation.yield(view)
        }
        self.joinWarned = true
        self.joinWarnAfter = min(self.joinWarnAfter.scaled(by: 2), (now - started) + Self.longestJoinWarningGap)
    }

    public func receive(_ packet: Packet, from address: Address) {
        self.packetsHandled &+= 1
        self.carry(self.instance.receive(packet, from: address, now: self.now()))
    }

    /// Returns at the engine's next deadline, at most `cap` from now, or as soon as an
    /// input (a packet, an operator request) moves that deadline earlier. The actor is
    /// free meanwhile (the sleep is awaited, not held), so inputs run during it.
    public func waitForWake(atMost cap: Duration) async {
        let wait = min(max(self.wakeAt - self.now(), .zero), cap)
        guard wait > .zero else { return }
        await withTaskCancellationHandler {
            // A continuation resumed by the loop's timer, not `EventLoopFuture.get()`
            // nor `Task.sleep`: both resume on the global executor first, a wake-up of
            // a dispatch thread and then of this loop again, at every timer.
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let sleeper = self.eventLoop.scheduleTask(in: TimeAmount(wait)) {}
                // Also when cancelled (an earlier deadline, or shutdown).
                sleeper.futureResult.whenComplete { _ in continuation.resume() }
                self.sleeper = sleeper
            }
        } onCancel: {
            // Runs on the loop after the job that set the sleeper, if it is not done yet.
            self.eventLoop.execute { self.assumeIsolated { $0.sleeper?.cancel() } }
        }
        self.sleeper = nil
    }

    /// Feeds the engine every packet `events` delivers, until it ends.
    ///
    /// Iterated here, on the actor, so that a packet waiting in the stream costs no
    /// hop onto the actor and back (the iterator runs in the caller's isolation);
    /// under load that hop was a large part of a packet's cost. Every
    /// ``yieldEvery`` packets without a pause it lets other callers in (timers, the
    /// control socket), which would otherwise wait until the stream ran dry.
    public func receive(_ events: AsyncStream<TransportEvent>) async {
        var sinceYield = 0
        for await event in events {
            switch event {
            case .packet(let packet, let from, _):
                self.receive(packet, from: from)
            }
            sinceYield += 1
            if sinceYield == Self.yieldEvery {
                sinceYield = 0
                self.tickIfDue()
                await Task.yield()
            }
        }
    }

    /// One event from the transport (``GossipTransport/deliver(to:)``), on the event
    /// loop that read it: handled at once when that is this actor's loop (every
    /// datagram, in the agent), else queued there (a stream frame, read on another
    /// loop of the group). Without the queue and the resumed task of an event stream,
    /// a packet costs no wake-up of another thread and no allocation of its own.
    public nonisolated func deliver(_ event: TransportEvent) {
        guard self.eventLoop.inEventLoop else {
            self.eventLoop.execute { self.deliver(event) }
            return
        }
        // On the loop, outside any job of this actor (the loop runs one thing at a
        // time), so isolated: the check is NIO's `preconditionInEventLoop`.
        self.assumeIsolated { runtime in
            switch event {
            case .packet(let packet, let from, _):
                runtime.receive(packet, from: from)
            }
        }
    }

    /// Packets handled in a row before the stream loop above lets other callers in.
    static let yieldEvery = 64

    /// Runs the engine's timers if they are due.
    public func tickIfDue() {
        let now = self.now()
        self.checkJoin(now: now)
        guard now >= self.wakeAt else { return }
        // The tick asks for its next wake; an engine that has left asks for none, and
        // the timer loop must then sleep, not spin on a deadline in the past.
        self.wakeAt = .distantFuture
        self.carry(self.instance.tick(now: now))
    }

    // MARK: AgentControl

    public func members() -> [MemberView] {
        let outOfService = Set(self.instance.fenceStatus.outOfService)
        return self.instance.members.map { member in
            let detail = self.instance.suspicionDetail(of: member.name)
            return MemberView(
                name: member.name, addr: member.address.host, port: member.address.port,
                status: member.status.description, incarnation: member.incarnation, tags: member.tags,
                suspectedBy: detail.observers, votes: detail.votes, outOfService: outOfService.contains(member.name))
        }
    }

    public func info() -> AgentInfo {
        var byStatus: [String: Int] = [:]
        for member in self.instance.members {
            byStatus[member.status.description, default: 0] += 1
        }
        return AgentInfo(
            name: self.instance.me.name, address: self.instance.me.address.description,
            incarnation: self.instance.me.incarnation, healthScore: self.instance.healthScore,
            isolated: self.instance.isIsolated, preset: self.presetName, members: byStatus,
            counters: self.counters.merging(self.instance.stats.byName) { _, engine in engine }
                .merging(["packets_handled": self.packetsHandled]) { _, handled in handled })
    }

    /// Starts a graceful leave and returns at once (the service stops afterwards).
    public func leave() {
        guard !self.leaving else { return }
        self.leaving = true
        self.carry(self.instance.leave(now: self.now()))
        self.logger.info("agent.leaving", metadata: ["node.name": "\(self.instance.me.name)"])
        self.leaveContinuation.yield()
        self.leaveContinuation.finish()
    }

    public func leader() -> LeaderView {
        let status = self.instance.leaderStatus
        return LeaderView(
            node: self.instance.me.name, leader: status.leader, term: status.term, role: status.role,
            leaseRemainingMs: status.leaseRemaining?.milliseconds, voters: status.voters, majority: status.majority)
    }

    public func fenceStatus() -> FenceStatusView {
        let status = self.instance.fenceStatus
        let leader = self.instance.leaderStatus
        return FenceStatusView(
            node: self.instance.me.name, enabled: status.enabled, leader: leader.leader, term: leader.term,
            brake: status.brake,
            nodes: status.records.map { record in
                FenceNodeView(record, status: self.instance.member(named: record.node)?.status.description ?? "unknown")
            })
    }

    public func fence(_ command: FenceCommand) -> FenceCommandView {
        let (outcomes, directives) = self.instance.command(command, now: self.now())
        self.carry(directives)
        for outcome in outcomes {
            self.logger.notice(
                outcome.done ? "ha.operator" : "ha.operator-refused",
                metadata: ["peer.name": "\(outcome.node)", "ha.command": "\(command)", "ha.detail": "\(outcome.message)"])
        }
        return FenceCommandView(results: outcomes.map(FenceResultView.init))
    }

    public func explain(_ name: String) -> ExplanationView? {
        self.instance.explain(name, now: self.now()).map(ExplanationView.init)
    }

    public func forceLeave(_ name: String) -> Bool {
        do {
            self.carry(try self.instance.forceLeave(name, now: self.now()))
            self.logger.notice("member.force-left", metadata: ["peer.name": "\(name)"])
            return true
        } catch {
            self.logger.info("member.force-leave-refused", metadata: ["peer.name": "\(name)", "error": "\(error)"])
            return false
        }
    }

    public func events() -> AsyncStream<EventView> {
        let (stream, continuation) = AsyncStream.makeStream(of: EventView.self, bufferingPolicy: .bufferingNewest(1024))
        let id = self.nextSubscriber
        self.nextSubscriber += 1
        self.subscribers[id] = continuation
        continuation.onTermination = { [weak self] _ in
            Task { await self?.unsubscribe(id) }
        }
        return stream
    }

    private func unsubscribe(_ id: Int) {
        self.subscribers[id] = nil
    }

    /// What to write to the data directory so a restart can rejoin without seeds.
    public func snapshot() -> [SnapshotMember] {
        self.instance.members.filter { $0.name != self.instance.me.name }.map {
            SnapshotMember(name: $0.name, address: $0.address, status: $0.status)
        }
    }

    /// Adds transport counters (drops by reason, bytes) to what `info` reports.
    public func record(counters: [String: UInt64]) {
        for (key, value) in counters { self.counters[key] = value }
    }

    // MARK: History

    public func history(node: String?) throws -> [HistoryEntryView] {
        guard let journal = self.journal else { return [] }
        return HistoryEntryView.rows(try journal.history(node: node))
    }

    // MARK: Keys

    public func keys() -> KeysView {
        KeysView(
            live: self.instance.liveMemberNames, reports: self.instance.liveKeyReports,
            keyring: self.keyringHolder?.keyring, record: self.instance.keyringRecord)
    }

    public func changeKeys(_ operation: KeyOperation, key: ClusterKey) throws(KeyChangeError) -> KeyChangeView {
        guard let holder = self.keyringHolder else { throw KeyChangeError("this agent does not manage cluster keys") }
        let id = ClusterKey.formatID(key.id)
        guard let next = try KeyChange.plan(operation, key: key, current: holder.keyring, reports: self.instance.liveKeyReports)
        else {
            return KeyChangeView(operation: operation, key: id, changed: false, version: self.instance.keyringRecord?.version)
        }
        do {
            self.carry(try self.instance.issueKeyring(payload: KeyringPayload.encode(next), now: self.now()))
        } catch {
            throw KeyChangeError("\(error)")
        }
        self.logger.notice(
            "keys.issued",
            metadata: [
                "keys.operation": "\(operation.rawValue)", "keys.id": "\(id)",
                "keyring.version": "\(self.instance.keyringRecord?.version ?? 0)",
            ])
        return KeyChangeView(operation: operation, key: id, changed: true, version: self.instance.keyringRecord?.version)
    }

    /// Applies a cluster keyring the engine adopted: the transport seals and opens with
    /// it, it is persisted, and this node reports what it now holds.
    private func applyKeyring(_ record: KeyringRecord) {
        guard let holder = self.keyringHolder else { return }
        guard let keyring = KeyringPayload.decode(record.payload) else {
            // Signed by a member, yet unreadable: a newer agent's format, or a bug.
            // Keep the keys in use; say so loudly, since this node may now drift away.
            self.count("keyring_undecodable")
            self.logger.error(
                "keyring.undecodable",
                metadata: ["keyring.version": "\(record.version)", "keyring.issuer": "\(record.issuer)"])
            return
        }
        holder.replaceKeyring(keyring)
        if let path = self.keyringFile {
            do {
                try AgentConfiguration.saveKeyring(keyring, record: record, to: path)
            } catch {
                // The keys are in use anyway; only a restart would come back without them.
                self.logger.error("keyring.save-failed", metadata: ["error": "\(error)"])
            }
        }
        self.logger.notice(
            "keyring.adopted",
            metadata: [
                "keyring.version": "\(record.version)", "keyring.issuer": "\(record.issuer)",
                "keys.primary": "\(ClusterKey.formatID(keyring.primary.id))",
                "keys.installed": "\(keyring.keys.map { ClusterKey.formatID($0.id) }.joined(separator: ","))",
            ])
        self.reportKeys(keyring)
    }

    private func reportKeys(_ keyring: Keyring) {
        self.carry(
            self.instance.reportKeys(primary: keyring.primary.id, installed: keyring.keys.map(\.id), now: self.now()))
    }

    /// Takes the transport's counters into `info`, and brings the metrics (if any) up
    /// to date with them and the engine. Called about once a second.
    public func record(transport stats: TransportStats) {
        self.record(counters: stats.byName)
        guard var metrics = self.metrics else { return }
        self.metrics = nil  // the only reference while recording: no copy on write
        var drops: [DropReason: UInt64] = [:]
        for reason in DropReason.allCases {
            drops[reason] = self.counters["dropped_\(reason.rawValue)"] ?? 0
        }
        metrics.record(
            AgentMetrics.Sample(
                members: self.instance.memberCounts, healthScore: self.instance.healthScore,
                isolated: self.instance.isIsolated, incarnation: self.instance.me.incarnation,
                engine: self.instance.stats, roundTrips: self.instance.drainRoundTrips(),
                suspects: self.instance.suspectPhis(now: self.now()), protocolDrops: drops, transport: stats,
                journalWriteFailures: self.counters[Self.journalWriteFailed] ?? 0))
        self.metrics = metrics
    }

    /// The shell ran a fence the engine ordered.
    public func fenceCompleted(_ order: FenceOrder, confirmed: Bool, detail: String) {
        self.carry(self.instance.fenceCompleted(order, confirmed: confirmed, detail: detail, now: self.now()))
    }

    /// The shell ran a recovery the engine ordered.
    public func recoveryCompleted(_ order: RecoveryOrder, succeeded: Bool, detail: String) {
        self.carry(self.instance.recoveryCompleted(order, succeeded: succeeded, detail: detail, now: self.now()))
    }

    // MARK: Directives

    private func carry(_ directives: [Directive]) {
        var persistFailed = false
        for directive in directives {
            switch directive {
            case .send(let packet, let address):
                // What follows a record that could not be written must not leave:
                // it may be a vote a restart would not remember.
                guard !persistFailed else { continue }
                self.sink.send(packet, to: address)
            case .stream(let packet, let address):
                // Connecting may take seconds: hand it to the service's stream loop
                // rather than hold up the engine.
                self.streamContinuation.yield((packet, address))
            case .wake(let at):
                if at < self.wakeAt { self.sleeper?.cancel() }
                self.wakeAt = at
            case .publish(let event):
                self.publish(event)
            case .fence(let order):
                self.logger.critical(
                    "ha.fence-ordered", metadata: ["peer.name": "\(order.node)", "election.term": "\(order.term)"])
                self.haContinuation.yield(.fence(order))
            case .recover(let order):
                self.logger.notice(
                    "ha.recovery-ordered", metadata: ["peer.name": "\(order.node)", "election.term": "\(order.term)"])
                self.haContinuation.yield(.recover(order))
            case .persist(.election(let record)):
                guard let directory = self.dataDirectory else { continue }
                do {
                    try directory.saveElection(record)
                } catch {
                    persistFailed = true
                    self.count("persist_failed")
                    self.logger.critical(
                        "election.persist-failed", metadata: ["error": "\(error)", "election.term": "\(record.term)"])
                }
            case .persist(.ha(let record)):
                guard let journal = self.journal else { continue }
                do {
                    try journal.append(record)
                } catch {
                    // Unlike a vote, what follows may still go: the record is held and
                    // gossiped, so the peers journal it, and a restart here gets it back
                    // from them through sync. Holding it back would only slow HA down.
                    self.count(Self.journalWriteFailed)
                    self.logger.error(
                        "journal.write-failed",
                        metadata: [
                            "error": "\(error)", "peer.name": "\(record.node)", "ha.phase": "\(record.phase)",
                            "election.term": "\(record.term)",
                        ])
                }
            }
        }
        if let record = self.pendingKeyring {
            self.pendingKeyring = nil
            self.applyKeyring(record)
        }
    }

    /// The `info` counter (and `vigil_journal_write_failures_total`) of HA records that
    /// could not be journaled.
    static let journalWriteFailed = "journal_write_failed"

    private func count(_ key: String) {
        self.counters[key, default: 0] &+= 1
    }

    private func publish(_ event: MembershipEvent) {
        let view: EventView
        let time = Date().formatted(self.timestamp)
        switch event {
        case .statusChanged(let member, let from, let to, let incarnation):
            view = EventView(
                time: time, event: "member-status", member: member, from: from?.description, to: to.description,
                incarnation: incarnation)
            self.logger.notice(
                "member.status",
                metadata: [
                    "peer.name": "\(member)", "peer.status": "\(to)", "peer.previous": "\(from?.description ?? "-")",
                    "swim.incarnation": "\(incarnation)",
                ])
        case .failureCertified(let certificate):
            view = EventView(
                time: time, event: "failure-certified", member: certificate.subject,
                incarnation: certificate.incarnation,
                detail: "votes: " + certificate.votes.map(\.observer).joined(separator: ","))
        case .refuted(let incarnation):
            view = EventView(time: time, event: "refuted", member: self.instance.me.name, incarnation: incarnation)
        case .declaredFailed(let certificate):
            view = EventView(
                time: time, event: "declared-failed", member: certificate.subject, incarnation: certificate.incarnation,
                detail: "a quorum certified this node failed; restart the agent to rejoin")
            self.logger.critical(
                "node.declared-failed",
                metadata: ["swim.incarnation": "\(certificate.incarnation)"])
        case .identityConflict(let name, let address):
            view = EventView(
                time: time, event: "identity-conflict", member: name,
                detail: "a different identity key claims this name from \(address)")
            self.logger.error("member.identity-conflict", metadata: ["peer.name": "\(name)", "peer.address": "\(address)"])
        case .isolated(let isolated):
            view = EventView(time: time, event: "isolated", detail: isolated ? "true" : "false")
            self.logger.warning("node.isolated", metadata: ["node.isolated": "\(isolated)"])
        case .healthChanged(let score):
            view = EventView(time: time, event: "health", detail: "\(score)")
        case .dropped(let reason):
            self.count("dropped_\(reason.rawValue)")
            return
        case .haChanged(let record):
            view = EventView(
                time: time, event: "ha", member: record.node, to: record.phase.description,
                detail: "term \(record.term), leader \(record.leader): \(record.detail)")
            let metadata: Logger.Metadata = [
                "peer.name": "\(record.node)", "ha.phase": "\(record.phase)", "election.term": "\(record.term)",
                "ha.detail": "\(record.detail)",
            ]
            if record.phase == .fenceFailed || record.phase == .awaitingApproval {
                // Nothing is recovered while this lasts: an operator must know now.
                self.logger.critical("ha.changed", metadata: metadata)
            } else if record.node == self.instance.me.name && record.phase.isFenced {
                // This node was fenced in an earlier life and came back: it watches
                // its peers, but neither votes nor leads until an operator says so.
                self.logger.critical(
                    "ha.out-of-service",
                    metadata: metadata.merging(["ha.hint": "vigil fence unfence \(record.node)"]) { $1 })
            } else {
                self.logger.notice("ha.changed", metadata: metadata)
            }
        case .leaderChanged(let term, let leader):
            view = EventView(time: time, event: "leader", member: leader, detail: "term \(term)")
            self.logger.notice(
                "leader.changed", metadata: ["election.term": "\(term)", "election.leader": "\(leader ?? "-")"])
        case .keyringChanged(let record):
            // Never the payload: it holds the keys.
            self.pendingKeyring = record
            view = EventView(
                time: time, event: "keyring-changed", member: record.issuer,
                detail: "cluster keyring version \(record.version)")
        }
        for continuation in self.subscribers.values {
            continuation.yield(view)
        }
    }
}

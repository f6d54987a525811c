import Foundation
import Logging
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
public actor AgentRuntime: AgentControl {
    private var instance: Instance
    private let sink: any PacketSink
    private let logger: Logger
    private let presetName: String
    private let origin = ContinuousClock.now
    private var wakeAt: Instant = .distantFuture
    private var subscribers: [Int: AsyncStream<EventView>.Continuation] = [:]
    private var nextSubscriber = 0
    private var leaving = false
    private var counters: [String: UInt64] = [:]
    private var metrics: AgentMetrics?
    private let timestamp = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
    private let streamContinuation: AsyncStream<(Packet, Address)>.Continuation
    private let leaveContinuation: AsyncStream<Void>.Continuation
    /// Yields once when an operator asked this node to leave (the service then stops).
    public nonisolated let leaveRequested: AsyncStream<Void>
    /// Reliable messages waiting to be sent (drained by `AgentService`).
    public nonisolated let outgoingStreams: AsyncStream<(Packet, Address)>

    /// - Parameters:
    ///   - metrics: brought up to date by ``record(transport:)``; `nil` when no metrics
    ///     endpoint is configured.
    public init(
        instance: Instance, sink: any PacketSink, presetName: String, logger: Logger, metrics: AgentMetrics? = nil
    ) {
        self.instance = instance
        self.metrics = metrics
        self.sink = sink
        self.presetName = presetName
        self.logger = logger
        (self.leaveRequested, self.leaveContinuation) = AsyncStream.makeStream(of: Void.self)
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
        self.carry(self.instance.start(joining: seeds, now: self.now()))
        self.logger.info(
            "agent.started",
            metadata: [
                "node.name": "\(self.instance.me.name)", "node.address": "\(self.instance.me.address)",
                "swim.incarnation": "\(self.instance.me.incarnation)", "join.seeds": "\(seeds)",
            ])
    }

    public func receive(_ packet: Packet, from address: Address) {
        self.count("packets_handled")
        self.carry(self.instance.receive(packet, from: address, now: self.now()))
    }

    /// Runs the engine's timers if they are due.
    public func tickIfDue() {
        let now = self.now()
        guard now >= self.wakeAt else { return }
        self.carry(self.instance.tick(now: now))
    }

    // MARK: AgentControl

    public func members() -> [MemberView] {
        self.instance.members.map { member in
            let detail = self.instance.suspicionDetail(of: member.name)
            return MemberView(
                name: member.name, addr: member.address.host, port: member.address.port,
                status: member.status.description, incarnation: member.incarnation, tags: member.tags,
                suspectedBy: detail.observers, votes: detail.votes)
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
            counters: self.counters.merging(self.instance.stats.byName) { _, engine in engine })
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

    public func explain(_ name: String) -> ExplanationView? {
        self.instance.explain(name, now: self.now()).map(ExplanationView.init)
    }

    public func forceLeave(_ name: String) -> Bool {
        // The engine does not support it yet (a signed operator removal needs the
        // leader of issue 4); say so rather than pretend.
        false
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
                suspects: self.instance.suspectPhis(now: self.now()), protocolDrops: drops, transport: stats))
        self.metrics = metrics
    }

    // MARK: Directives

    private func carry(_ directives: [Directive]) {
        for directive in directives {
            switch directive {
            case .send(let packet, let address):
                self.sink.send(packet, to: address)
            case .stream(let packet, let address):
                // Connecting may take seconds: hand it to the service's stream loop
                // rather than hold up the engine.
                self.streamContinuation.yield((packet, address))
            case .wake(let at):
                self.wakeAt = at
            case .publish(let event):
                self.publish(event)
            }
        }
    }

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
        }
        for continuation in self.subscribers.values {
            continuation.yield(view)
        }
    }
}

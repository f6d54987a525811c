import VigilCore
import VigilCrypto

/// A virtual clock, a simulated network and N protocol engines, run event by event.
///
/// Nothing here reads a real clock or a global generator: the run is a pure function
/// of the layout, the seed and the actions scheduled, so a seed reproduces a run
/// exactly. Events are ordered by (virtual time, insertion sequence).
///
/// Per-node data lives in arrays indexed by node number; addresses map to indices
/// through one dictionary built at the start. Packets in flight wait in a slab and
/// events refer to them by slot, so the event heap holds plain values.
public final class Simulation<Node: SimulatedNode> {
    public let layout: ClusterLayout
    public private(set) var network: NetworkModel
    public let recorder: Recorder
    public let accounting: WireAccounting

    /// Messages and bytes each node sent since the last `resetTraffic()`.
    public private(set) var bytesSent: [Int]
    public private(set) var messagesSent: [Int]
    public private(set) var counters = Counters()
    /// Messages (datagrams and streams) sent and events dispatched over the whole run,
    /// warm-up included: never reset, they measure the simulator's own throughput.
    public private(set) var messagesTotal = 0
    public private(set) var eventsTotal = 0

    /// What happened to messages, since the last `resetTraffic()`.
    public struct Counters: Sendable, Equatable {
        public var datagramsSent = 0
        public var streamsSent = 0
        /// Datagrams lost to link or gray loss, or blocked by a partition.
        public var datagramsLost = 0
        /// Streams blocked by a partition.
        public var streamsBlocked = 0
        /// Messages that arrived at a node that was not running (crashed, not started, left).
        public var deliveredToDeadNode = 0
        /// Messages addressed to an address outside the layout.
        public var unknownDestination = 0
        /// Messages whose bytes did not decode (only with `accounting.roundTrip`).
        public var malformed = 0
        /// Messages handed to a node's `receive`.
        public var delivered = 0
    }

    private let makeNode: (NodeSpawn) -> Node
    private var nodes: [Node?]
    private let identities: [SigningKey]
    private let addressIndex: [Address: Int32]
    private var queue = EventQueue()
    private var clock: Int64 = 0
    private var networkRNG: DeterministicRNG
    private var nodeRNG: DeterministicRNG

    private var packets: [Packet?] = []
    private var freeSlots: [Int32] = []
    private var actions: [SimulationAction] = []

    /// Bumped by every `.wake` directive and every crash: a wake event whose generation
    /// is not the current one was replaced and is ignored.
    private var wakeGeneration: [Int64]
    private var missedWake: [Bool]
    private var pauseEpoch: [Int64]
    private var pausedUntil: [Int64]
    private var backlog: [[Pending]]
    private var lastIncarnation: [UInt64]
    /// What each node persisted last (`Directive.persist`), handed to its next life.
    private var persisted: [ElectionRecord?]
    /// How long the simulated BMC takes to power a node off (Redfish emulators: 1–11 s).
    public var bmcDelay: ClosedRange<Duration> = .seconds(1)...(.seconds(3))
    private var bmcRNG: DeterministicRNG
    /// The life (`Incarnation.life(of:)`) each node runs or last ran.
    private var life: [UInt32]
    private var pausedSince: [Int64]

    /// Record the HA trace (`recorder.haTrace`): certificates are checked against the
    /// identity keys as they are published. Off for large runs without HA.
    public var tracesHA = false
    /// A paused node that was fenced counts as live if its pause is at most this long.
    public var pauseTolerance: Duration = .zero
    /// Crash the leader that orders the run's first fence right after it ordered it,
    /// while the BMC call is in flight; restart it this much later if set.
    public var killLeaderAtFirstFence = false
    public var killedLeaderRestartAfter: Duration? = nil
    /// The leader killed that way, and when.
    public private(set) var killedLeader: (node: Int, at: Instant)?

    private struct Pending {
        var slot: Int32
        var from: Int32
    }

    /// - Parameters:
    ///   - layout: names and addresses of the nodes.
    ///   - network: link conditions to start with.
    ///   - rng: the run's generator; forked here for the network, node lives and identities.
    ///   - accounting: how bytes are counted (seal overhead, optional codec round trip).
    ///   - makeNode: builds a node for a start or restart.
    public init(
        layout: ClusterLayout,
        network: NetworkModel,
        rng: DeterministicRNG,
        accounting: WireAccounting,
        makeNode: @escaping (NodeSpawn) -> Node
    ) {
        precondition(network.nodeCount == layout.count, "network model and layout must have the same nodes")
        let n = layout.count
        var root = rng
        self.networkRNG = root.fork()
        self.nodeRNG = root.fork()
        self.bmcRNG = DeterministicRNG(seed: root.next() ^ 0x626D_6300)  // "bmc": apart from the other streams
        var identityRNG = root.fork()
        var identities: [SigningKey] = []
        identities.reserveCapacity(n)
        for _ in 0..<n {
            var seed: [UInt8] = []
            seed.reserveCapacity(SigningKey.seedByteCount)
            for _ in 0..<(SigningKey.seedByteCount / 8) {
                var word = identityRNG.next()
                for _ in 0..<8 {
                    seed.append(UInt8(truncatingIfNeeded: word))
                    word >>= 8
                }
            }
            identities.append(SigningKey(seed: seed)!)
        }
        self.identities = identities
        var index: [Address: Int32] = [:]
        index.reserveCapacity(n)
        for (i, address) in layout.addresses.enumerated() { index[address] = Int32(i) }
        self.addressIndex = index

        self.layout = layout
        self.network = network
        self.recorder = Recorder(names: layout.names)
        self.accounting = accounting
        self.makeNode = makeNode
        self.nodes = [Node?](repeating: nil, count: n)
        self.bytesSent = [Int](repeating: 0, count: n)
        self.messagesSent = [Int](repeating: 0, count: n)
        self.wakeGeneration = [Int64](repeating: 0, count: n)
        self.missedWake = [Bool](repeating: false, count: n)
        self.pauseEpoch = [Int64](repeating: 0, count: n)
        self.pausedUntil = [Int64](repeating: 0, count: n)
        self.backlog = [[Pending]](repeating: [], count: n)
        self.lastIncarnation = [UInt64](repeating: 0, count: n)
        self.persisted = [ElectionRecord?](repeating: nil, count: n)
        self.life = [UInt32](repeating: 0, count: n)
        self.pausedSince = [Int64](repeating: 0, count: n)
    }

    // MARK: Inspecting

    /// The virtual time.
    public var now: Instant { Instant(nanoseconds: self.clock) }

    public var nodeCount: Int { self.layout.count }

    /// The engine of `node`'s current life (`nil` unless started and not stopped).
    public func node(_ node: Int) -> Node? { self.nodes[node] }

    public func state(of node: Int) -> NodeState { self.recorder.states[node] }

    /// The identity key of `node` (the same across restarts).
    public func identity(of node: Int) -> SigningKey { self.identities[node] }

    /// Events waiting on the clock.
    public var pendingEvents: Int { self.queue.count }

    /// Zeroes the traffic counters (the scenario phase measures from here).
    public func resetTraffic() {
        for i in 0..<self.nodeCount {
            self.bytesSent[i] = 0
            self.messagesSent[i] = 0
        }
        self.counters = Counters()
    }

    // MARK: Driving

    /// Carries out `action` when the clock reaches `time` (now, if `time` is past).
    public func schedule(_ action: SimulationAction, at time: Instant) {
        self.actions.append(action)
        self.queue.push(
            at: max(time.nanoseconds, self.clock), .action, node: -1, payload: Int64(self.actions.count - 1))
    }

    /// Runs every event due up to and including `end`, then sets the clock to `end`.
    public func run(until end: Instant) {
        let limit = end.nanoseconds
        while let event = self.queue.pop(dueBy: limit) {
            self.clock = event.time
            self.eventsTotal &+= 1
            self.dispatch(event)
        }
        if self.clock < limit { self.clock = limit }
    }

    public func run(for duration: Duration) {
        self.run(until: self.now + duration)
    }

    /// Sends `packet` from `from` to `to` through the network model as if `from`'s
    /// engine had asked for it (bytes are counted). Dropped unless `from` is running.
    public func send(_ packet: Packet, from: Int, to: Int, reliable: Bool = false) {
        guard self.recorder.states[from] == .running else { return }
        self.transmit(packet, from: from, to: to, reliable: reliable)
    }

    /// Carries out `action` now.
    public func perform(_ action: SimulationAction) {
        switch action {
        case .start(let node, let seeds):
            guard self.recorder.states[node] == .notStarted else { return }
            self.spawn(node, incarnation: Incarnation.first(life: 1), seeds: seeds)
        case .restart(let node, let seeds):
            let state = self.recorder.states[node]
            guard state == .crashed || state == .left else { return }
            self.spawn(node, incarnation: Incarnation.nextLife(after: self.lastIncarnation[node]), seeds: seeds)
        case .crash(let node):
            guard self.recorder.states[node].isLive else { return }
            self.stop(node, as: .crashed)
        case .leave(let node):
            guard self.recorder.states[node] == .running else { return }
            let directives = self.nodes[node]!.leave(now: self.now)
            self.apply(directives, from: node)
            self.stop(node, as: .left)
        case .pause(let node, let duration):
            self.pause(node, until: self.clock + duration.nanoseconds)
        case .partition(let partition):
            self.network.addPartition(partition)
        case .heal(let id):
            self.network.healPartition(id: id)
        case .gray(let node, let loss):
            self.network.setGray(node, loss: loss)
            self.recorder.setGray(node, loss > 0)
        case .slow(let node, let delay):
            self.network.setSlow(node, delay: delay)
        case .link(let a, let b, let conditions):
            self.network.setLink(between: a, and: b, conditions)
        case .bmcPowerOff(let orderer, let ordererLife, let order):
            guard let target = self.addressIndex[order.address].map(Int.init) else { return }
            // Power-off stops whatever runs on the node, whichever life it is in.
            if self.recorder.states[target].isLive { self.stop(target, as: .crashed) }
            if self.tracesHA { self.recorder.haTrace.append(.poweredOff(target: target, life: order.life), at: self.clock) }
            self.perform(.fenceAnswered(orderer: orderer, ordererLife: ordererLife, order: order))
        case .recoveryAccepted(let orderer, let ordererLife, let order):
            if self.tracesHA, let target = self.recorder.index(of: order.node) {
                self.recorder.haTrace.append(.recoveryReceived(target: target, life: order.life), at: self.clock)
            }
            self.perform(.recoveryAnswered(orderer: orderer, ordererLife: ordererLife, order: order))
        case .fenceAnswered(let orderer, let ordererLife, let order):
            guard self.answerReaches(orderer, life: ordererLife, action) else { return }
            let directives = self.nodes[orderer]!.fenceCompleted(
                order, confirmed: true, detail: "simulated BMC: power off", now: self.now)
            self.apply(directives, from: orderer)
        case .recoveryAnswered(let orderer, let ordererLife, let order):
            guard self.answerReaches(orderer, life: ordererLife, action) else { return }
            let directives = self.nodes[orderer]!.recoveryCompleted(
                order, succeeded: true, detail: "simulated cloud: accepted", now: self.now)
            self.apply(directives, from: orderer)
        }
    }

    /// Whether an answer to `orderer`'s life `life` can be handed to it now; a paused
    /// orderer gets `action` again when it resumes.
    private func answerReaches(_ orderer: Int, life: UInt32, _ action: SimulationAction) -> Bool {
        guard self.life[orderer] == life else { return false }
        switch self.recorder.states[orderer] {
        case .running:
            return true
        case .paused:
            self.schedule(action, at: Instant(nanoseconds: self.pausedUntil[orderer]))
            return false
        case .notStarted, .crashed, .left:
            return false
        }
    }

    // MARK: Events

    private func dispatch(_ event: ScheduledEvent) {
        let node = Int(event.node)
        switch event.kind {
        case .datagram, .stream:
            self.deliver(slot: Int(event.payload), to: node, from: Int(event.peer))
        case .wake:
            guard event.payload == self.wakeGeneration[node] else { return }
            switch self.recorder.states[node] {
            case .running: self.tick(node)
            case .paused: self.missedWake[node] = true
            case .notStarted, .crashed, .left: break
            }
        case .resume:
            guard self.recorder.states[node] == .paused, event.payload == self.pauseEpoch[node] else { return }
            self.resume(node)
        case .action:
            self.perform(self.actions[Int(event.payload)])
        }
    }

    private func deliver(slot: Int, to node: Int, from: Int) {
        switch self.recorder.states[node] {
        case .running:
            let packet = self.take(slot)
            self.receive(packet, at: node, from: from)
        case .paused:
            self.backlog[node].append(Pending(slot: Int32(slot), from: Int32(from)))
        case .notStarted, .crashed, .left:
            _ = self.take(slot)
            self.counters.deliveredToDeadNode += 1
        }
    }

    private func receive(_ packet: Packet, at node: Int, from: Int) {
        self.counters.delivered += 1
        let directives = self.nodes[node]!.receive(packet, from: self.layout.addresses[from], now: self.now)
        self.apply(directives, from: node)
    }

    private func tick(_ node: Int) {
        let directives = self.nodes[node]!.tick(now: self.now)
        self.apply(directives, from: node)
    }

    private func apply(_ directives: [Directive], from node: Int) {
        for directive in directives {
            switch directive {
            case .send(let packet, let address):
                guard let to = self.addressIndex[address] else {
                    self.counters.unknownDestination += 1
                    continue
                }
                self.transmit(packet, from: node, to: Int(to), reliable: false)
            case .stream(let packet, let address):
                guard let to = self.addressIndex[address] else {
                    self.counters.unknownDestination += 1
                    continue
                }
                self.transmit(packet, from: node, to: Int(to), reliable: true)
            case .wake(let at):
                self.wakeGeneration[node] &+= 1
                guard at < Instant.distantFuture else { continue }
                // A slow node also takes longer to get round to its timers.
                let time = max(at.nanoseconds, self.clock) + self.network.processingDelay(of: node)
                self.queue.push(at: time, .wake, node: Int32(node), payload: self.wakeGeneration[node])
            case .publish(let event):
                if self.tracesHA { self.traceHA(event, from: node) }
                self.recorder.record(event, from: node, at: self.clock)
            case .persist(.election(let record)):
                self.persisted[node] = record
            case .persist(.ha):
                break  // no journal here: a restarted node gets its HA records back through sync
            case .fence(let order):
                guard let target = self.addressIndex[order.address].map(Int.init) else { continue }
                if self.tracesHA {
                    self.recorder.haTrace.append(
                        .fenceOrdered(
                            by: node, target: target, life: order.life, term: order.term,
                            targetLive: self.isLive(target, life: order.life)),
                        at: self.clock)
                }
                let span = self.bmcDelay.upperBound - self.bmcDelay.lowerBound
                let delay = self.bmcDelay.lowerBound + span.scaled(by: self.bmcRNG.nextUnit())
                self.schedule(
                    .bmcPowerOff(orderer: node, ordererLife: self.life[node], order: order), at: self.now + delay)
                if self.killLeaderAtFirstFence && self.killedLeader == nil {
                    // Dies once this batch of directives is out, long before the BMC answers.
                    self.killedLeader = (node, self.now)
                    self.schedule(.crash(node: node), at: self.now)
                    if let after = self.killedLeaderRestartAfter {
                        let seeds = (0..<self.nodeCount).filter { $0 != node }.prefix(3)
                        self.schedule(.restart(node: node, seeds: Array(seeds)), at: self.now + after)
                    }
                }
            case .recover(let order):
                guard let target = self.recorder.index(of: order.node) else { continue }
                if self.tracesHA {
                    self.recorder.haTrace.append(
                        .recoveryOrdered(by: node, target: target, life: order.life, term: order.term), at: self.clock)
                }
                self.schedule(
                    .recoveryAccepted(orderer: node, ordererLife: self.life[node], order: order),
                    at: self.now + .milliseconds(500))
            }
        }
    }

    // MARK: HA trace

    /// Whether `node` runs life `life` now, or is paused within the tolerance, and is not gray.
    private func isLive(_ node: Int, life: UInt32) -> Bool {
        guard self.life[node] == life, !self.recorder.isGray(node) else { return false }
        switch self.recorder.states[node] {
        case .running: return true
        case .paused: return self.pausedUntil[node] - self.pausedSince[node] <= self.pauseTolerance.nanoseconds
        case .notStarted, .crashed, .left: return false
        }
    }

    private func traceHA(_ event: MembershipEvent, from node: Int) {
        switch event {
        case .failureCertified(let certificate):
            guard let subject = self.recorder.index(of: certificate.subject) else { return }
            var voters = Set<Int>()
            for vote in certificate.votes
            where vote.subject == certificate.subject && vote.incarnation == certificate.incarnation {
                guard let observer = self.recorder.index(of: vote.observer), observer != subject,
                    self.identities[observer].publicKey.isValidSignature(vote.signature, for: vote.signedBytes)
                else { continue }
                voters.insert(observer)
            }
            self.recorder.haTrace.append(
                .certified(
                    node: node, subject: subject, life: Incarnation.life(of: certificate.incarnation),
                    validVotes: voters.count),
                at: self.clock)
        case .declaredFailed(let certificate):
            self.recorder.haTrace.append(
                .declaredFailed(node: node, life: Incarnation.life(of: certificate.incarnation)), at: self.clock)
        case .haChanged(let record):
            guard let target = self.recorder.index(of: record.node) else { return }
            switch record.phase {
            case .fenced where record.leader == self.layout.names[node]:
                self.recorder.noteFenceRecord(record, by: node, target: target, at: self.clock)
            case _ where record.phase.isFenced && record.leader != self.layout.names[node]:
                self.recorder.haTrace.append(
                    .learnedFenced(node: node, target: target, life: record.life), at: self.clock)
            case .awaitingApproval:
                self.recorder.haTrace.append(.brakeHeld(target: target, life: record.life), at: self.clock)
            default:
                break
            }
        default:
            break
        }
    }

    private func transmit(_ packet: Packet, from: Int, to: Int, reliable: Bool) {
        if reliable {
            self.bytesSent[from] += self.accounting.streamBytes(packet)
            self.counters.streamsSent += 1
        } else {
            self.bytesSent[from] += self.accounting.datagramBytes(packet)
            self.counters.datagramsSent += 1
        }
        self.messagesSent[from] += 1
        self.messagesTotal &+= 1

        var packet = packet
        if self.accounting.roundTrip {
            guard let decoded = wireRoundTrip(packet) else {
                self.counters.malformed += 1
                return
            }
            packet = decoded
        }
        guard let delay = self.network.fate(from: from, to: to, reliable: reliable, rng: &self.networkRNG) else {
            if reliable { self.counters.streamsBlocked += 1 } else { self.counters.datagramsLost += 1 }
            return
        }
        let slot = self.store(packet)
        self.queue.push(
            at: self.clock + delay, reliable ? .stream : .datagram, node: Int32(to), peer: Int32(from), payload: slot)
    }

    // MARK: Lives

    private func spawn(_ node: Int, incarnation: UInt64, seeds: [Int]) {
        let spawn = NodeSpawn(
            index: node, name: self.layout.names[node], address: self.layout.addresses[node],
            identity: self.identities[node], incarnation: incarnation, rng: self.nodeRNG.fork(),
            election: self.persisted[node])
        self.nodes[node] = self.makeNode(spawn)
        let restarted = self.recorder.states[node] == .crashed
        self.lastIncarnation[node] = incarnation
        self.life[node] = Incarnation.life(of: incarnation)
        if self.tracesHA && restarted {
            self.recorder.haTrace.append(.restarted(node: node, life: self.life[node]), at: self.clock)
        }
        self.missedWake[node] = false
        self.recorder.nodeStarted(node, incarnation: incarnation, at: self.clock)
        let seedAddresses = seeds.filter { $0 != node }.map { self.layout.addresses[$0] }
        let directives = self.nodes[node]!.start(joining: seedAddresses, now: self.now)
        self.apply(directives, from: node)
    }

    private func stop(_ node: Int, as state: NodeState) {
        if let engine = self.nodes[node] {
            self.lastIncarnation[node] = max(self.lastIncarnation[node], engine.currentIncarnation)
        }
        self.nodes[node] = nil
        self.wakeGeneration[node] &+= 1
        self.missedWake[node] = false
        for pending in self.backlog[node] { _ = self.take(Int(pending.slot)) }
        self.backlog[node] = []
        if self.tracesHA && state == .crashed && self.recorder.states[node].isLive {
            self.recorder.haTrace.append(.crashed(node: node, life: self.life[node]), at: self.clock)
        }
        self.recorder.nodeStopped(node, as: state, at: self.clock)
    }

    private func pause(_ node: Int, until end: Int64) {
        switch self.recorder.states[node] {
        case .running:
            self.recorder.nodePaused(node)
            self.pausedSince[node] = self.clock
        case .paused:
            guard end > self.pausedUntil[node] else { return }
        case .notStarted, .crashed, .left:
            return
        }
        self.pauseEpoch[node] &+= 1
        self.pausedUntil[node] = end
        self.queue.push(at: end, .resume, node: Int32(node), payload: self.pauseEpoch[node])
    }

    /// As a SIGCONTed process: timers that fired during the pause are seen as one
    /// late tick, then the socket buffer is read in arrival order.
    private func resume(_ node: Int) {
        self.recorder.nodeResumed(node)
        if self.missedWake[node] {
            self.missedWake[node] = false
            self.tick(node)
        }
        let pending = self.backlog[node]
        self.backlog[node] = []
        for (i, item) in pending.enumerated() {
            guard self.recorder.states[node] == .running else {
                for rest in pending[i...] { _ = self.take(Int(rest.slot)) }
                return
            }
            self.receive(self.take(Int(item.slot)), at: node, from: Int(item.from))
        }
    }

    // MARK: Packet slab

    private func store(_ packet: Packet) -> Int64 {
        if let slot = self.freeSlots.popLast() {
            self.packets[Int(slot)] = packet
            return Int64(slot)
        }
        self.packets.append(packet)
        return Int64(self.packets.count - 1)
    }

    private func take(_ slot: Int) -> Packet {
        let packet = self.packets[slot]!
        self.packets[slot] = nil
        self.freeSlots.append(Int32(slot))
        return packet
    }
}

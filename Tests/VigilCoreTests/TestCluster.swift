import VigilCore
import VigilCrypto

/// Deterministic identities and member records for core tests.
enum Fixture {
    static func key(_ name: String) -> SigningKey {
        var seed = [UInt8](repeating: 0, count: 32)
        for (i, byte) in name.utf8.enumerated() { seed[i % 32] ^= byte &+ UInt8(truncatingIfNeeded: i) }
        return SigningKey(seed: seed)!
    }

    static func address(_ name: String) -> Address {
        Address(host: "10.0.0.\(abs(name.hashValue % 200) + 1)-\(name)", port: 7946)
    }

    static func member(_ name: String, incarnation: UInt64 = 1, status: MemberStatus = .alive) -> Member {
        Member(
            name: name, address: Self.address(name), incarnation: incarnation, status: status,
            identityKey: Self.key(name).publicKey)
    }

    static func instance(
        _ name: String, configuration: Configuration = .lan, seed: UInt64 = 1, incarnation: UInt64 = 1
    ) -> Instance {
        Instance(
            name: name, address: Self.address(name), identity: Self.key(name), incarnation: incarnation,
            configuration: configuration, rng: DeterministicRNG(seed: seed))
    }

    static func vote(on subject: String, incarnation: UInt64, by observer: String) -> Vote {
        let bytes = Vote.signedBytes(subject: subject, incarnation: incarnation, observer: observer)
        return Vote(subject: subject, incarnation: incarnation, observer: observer, signature: Self.key(observer).sign(bytes))
    }
}

extension Instance {
    /// Teaches this instance about `names` as alive members, through gossip.
    mutating func learn(_ names: [String], now: Instant = .zero) -> [Directive] {
        let packet = Packet(
            sender: names.first!, message: .ack(seq: 0), gossip: names.map { .alive(Fixture.member($0)) })
        return self.receive(packet, from: Fixture.address(names.first!), now: now)
    }
}

extension Instance {
    /// Delivers `observer`'s signed vote against `subject`, as `observer` sends it.
    mutating func receiveVote(on subject: String, incarnation: UInt64, by observer: String) -> [Directive] {
        let vote = Fixture.vote(on: subject, incarnation: incarnation, by: observer)
        return self.receive(
            Packet(sender: observer, message: .ack(seq: 0), gossip: [.vote(vote)]), from: Fixture.address(observer),
            now: .zero)
    }
}

extension Packet {
    /// The HA records this packet carries, as gossip or in a sync's full state.
    var haRecords: [HARecord] {
        var records: [HARecord] = self.gossip.compactMap { if case .ha(let r) = $0 { r } else { nil } }
        if case .sync(let sync) = self.message { records += sync.state?.haRecords ?? [] }
        return records
    }
}

extension [Directive] {
    var journaled: [HARecord] {
        self.compactMap { if case .persist(.ha(let r)) = $0 { r } else { nil } }
    }

    var sent: [(Packet, Address)] {
        self.compactMap { if case .send(let p, let a) = $0 { (p, a) } else { nil } }
    }

    var streamed: [(Packet, Address)] {
        self.compactMap { if case .stream(let p, let a) = $0 { (p, a) } else { nil } }
    }

    var events: [MembershipEvent] {
        self.compactMap { if case .publish(let e) = $0 { e } else { nil } }
    }

    var wake: Instant? {
        self.compactMap { if case .wake(let at) = $0 { at } else { nil } }.last
    }
}

/// A tiny in-memory network for a handful of instances: every packet arrives after
/// `delay`, except those to or from nodes in `down`. Virtual time only.
struct MiniNetwork {
    var nodes: [String: Instance] = [:]
    var byAddress: [Address: String] = [:]
    var wakes: [String: Instant] = [:]
    var inFlight: [(at: Instant, to: String, packet: Packet, from: Address)] = []
    var down: Set<String> = []
    /// A partition: packets cross only between nodes with the same side (default 0).
    var side: [String: Int] = [:]
    /// Gray failure: a node named here receives only every Nth packet sent to it
    /// (what it sends all arrives); counted per node, so it is deterministic.
    var receivesOneIn: [String: Int] = [:]
    var receivedCount: [String: Int] = [:]
    /// Fences and recoveries the nodes ordered, in order (tests complete them by hand).
    var fenceOrders: [(at: Instant, by: String, order: FenceOrder)] = []
    var recoveryOrders: [(at: Instant, by: String, order: RecoveryOrder)] = []
    var events: [(at: Instant, node: String, event: MembershipEvent)] = []
    /// Pings sent, by sender and the member each names as its target.
    var pings: [String: [String: Int]] = [:]
    /// What each node asked its shell to journal (`.persist(.ha)`), in order.
    var journaled: [String: [HARecord]] = [:]
    /// HA records a node sent before it had asked to journal them (must stay empty).
    var sentBeforeJournaled: [(node: String, record: HARecord)] = []
    var now: Instant = .zero
    let delay: Duration = .milliseconds(1)

    /// - Parameter seed: the first node's generator seed; the others take the next ones.
    init(names: [String], configuration: Configuration = .lan, seed first: UInt64 = 1) {
        for (i, name) in names.enumerated() {
            self.nodes[name] = Fixture.instance(name, configuration: configuration, seed: first + UInt64(i))
            self.byAddress[Fixture.address(name)] = name
        }
        let seed = Fixture.address(names[0])
        for name in names {
            let out = self.nodes[name]!.start(joining: name == names[0] ? [] : [seed], now: self.now)
            self.carry(out, from: name)
        }
    }

    mutating func carry(_ directives: [Directive], from name: String) {
        let address = Fixture.address(name)
        for directive in directives {
            switch directive {
            case .send(let packet, let to), .stream(let packet, let to):
                for record in packet.haRecords where !(self.journaled[name] ?? []).contains(record) {
                    self.sentBeforeJournaled.append((name, record))
                }
                if case .ping(_, let named) = packet.message { self.pings[name, default: [:]][named, default: 0] += 1 }
                guard let target = self.byAddress[to] else { continue }
                self.inFlight.append((self.now + self.delay, target, packet, address))
            case .wake(let at):
                self.wakes[name] = at
            case .publish(let event):
                self.events.append((self.now, name, event))
            case .persist(.ha(let record)):
                self.journaled[name, default: []].append(record)
            case .persist(.election):
                break
            case .fence(let order):
                self.fenceOrders.append((self.now, name, order))
            case .recover(let order):
                self.recoveryOrders.append((self.now, name, order))
            }
        }
    }

    /// Runs until `end`, delivering packets and ticks in time order.
    mutating func run(until end: Instant) {
        while true {
            let nextPacket = self.inFlight.map(\.at).min() ?? .distantFuture
            let nextWake = self.wakes.filter { !self.down.contains($0.key) }.map(\.value).min() ?? .distantFuture
            let next = min(nextPacket, nextWake)
            guard next <= end else { break }
            self.now = max(self.now, next)
            if nextPacket <= nextWake, let index = self.inFlight.firstIndex(where: { $0.at == nextPacket }) {
                let item = self.inFlight.remove(at: index)
                guard !self.down.contains(item.to), let senderName = self.byAddress[item.from],
                    !self.down.contains(senderName), self.side[senderName, default: 0] == self.side[item.to, default: 0]
                else { continue }
                if let n = self.receivesOneIn[item.to] {
                    self.receivedCount[item.to, default: 0] += 1
                    guard self.receivedCount[item.to]! % n == 0 else { continue }
                }
                let out = self.nodes[item.to]!.receive(item.packet, from: item.from, now: self.now)
                self.carry(out, from: item.to)
            } else if let name = self.wakes.filter({ !self.down.contains($0.key) && $0.value == nextWake }).map(\.key).min() {
                self.wakes[name] = nil
                let out = self.nodes[name]!.tick(now: self.now)
                self.carry(out, from: name)
            }
        }
        self.now = end
    }

    /// The BMC reports back on fence order `index`: when `confirmed`, the target is
    /// powered off (down) first.
    mutating func completeFence(_ index: Int, confirmed: Bool) {
        let (_, orderer, order) = self.fenceOrders[index]
        if confirmed { self.down.insert(order.node) }
        guard !self.down.contains(orderer) else { return }
        let out = self.nodes[orderer]!.fenceCompleted(
            order, confirmed: confirmed, detail: confirmed ? "test BMC: off" : "test BMC: refused", now: self.now)
        self.carry(out, from: orderer)
    }

    mutating func completeRecovery(_ index: Int, succeeded: Bool) {
        let (_, orderer, order) = self.recoveryOrders[index]
        guard !self.down.contains(orderer) else { return }
        let out = self.nodes[orderer]!.recoveryCompleted(
            order, succeeded: succeeded, detail: "test cloud", now: self.now)
        self.carry(out, from: orderer)
    }

    func status(of subject: String, at observer: String) -> MemberStatus? {
        self.nodes[observer]?.member(named: subject)?.status
    }
}

import VigilCore
import VigilSim

/// A deliberately naive failure detector, to exercise whole scenarios (convergence,
/// detection bookkeeping, determinism) without the real engine.
///
/// Every 100 ms it pings 3 random known peers, each ping carrying its own `alive` and
/// three random known members; it answers pings with acks. A peer not heard from
/// directly for 3 s is suspect, for 6 s failed; hearing from it again makes it alive.
/// Fine for the ~20-node clusters of the tests (all-to-all contact), nowhere else.
struct ToyDetector: SimulatedNode {
    static let suspectAfter: Int64 = 3_000_000_000
    static let failAfter: Int64 = 6_000_000_000
    static let period: Duration = .milliseconds(100)

    private struct Peer {
        var member: Member
        var lastHeard: Int64
        var status: MemberStatus
    }

    private let me: Member
    private var rng: DeterministicRNG
    private var seeds: [Address] = []
    /// An array, not a dictionary: iteration order must not depend on hashing.
    private var peers: [Peer] = []
    private var index: [String: Int] = [:]
    private var seq: UInt32 = 0

    init(_ spawn: NodeSpawn) {
        self.me = Member(
            name: spawn.name, address: spawn.address, incarnation: spawn.incarnation, status: .alive,
            identityKey: spawn.identity.publicKey)
        self.rng = spawn.rng
    }

    var currentIncarnation: UInt64 { self.me.incarnation }

    mutating func start(joining seeds: [Address], now: Instant) -> [Directive] {
        self.seeds = seeds
        var out: [Directive] = seeds.map { .send(self.ping(), to: $0) }
        out.append(.wake(at: now + Self.period))
        return out
    }

    mutating func tick(now: Instant) -> [Directive] {
        var out: [Directive] = []
        if self.peers.isEmpty {
            out += self.seeds.map { .send(self.ping(), to: $0) }
        } else {
            for _ in 0..<3 {
                let peer = self.peers[Int(self.rng.next() % UInt64(self.peers.count))]
                out.append(.send(self.ping(), to: peer.member.address))
            }
        }
        for i in self.peers.indices {
            let silence = now.nanoseconds - self.peers[i].lastHeard
            let from = self.peers[i].status
            var to = from
            if silence > Self.failAfter { to = .failed } else if silence > Self.suspectAfter && from == .alive { to = .suspect }
            if to != from {
                self.peers[i].status = to
                out.append(.publish(.statusChanged(member: self.peers[i].member.name, from: from, to: to, incarnation: self.peers[i].member.incarnation)))
            }
        }
        out.append(.wake(at: now + Self.period))
        return out
    }

    mutating func receive(_ packet: Packet, from address: Address, now: Instant) -> [Directive] {
        var out: [Directive] = []
        for update in packet.gossip {
            guard case .alive(let member) = update, member.name != self.me.name,
                self.index[member.name] == nil
            else { continue }
            self.index[member.name] = self.peers.count
            self.peers.append(Peer(member: member, lastHeard: now.nanoseconds, status: .alive))
            out.append(.publish(.statusChanged(member: member.name, from: nil, to: .alive, incarnation: member.incarnation)))
        }
        if let i = self.index[packet.sender] {
            self.peers[i].lastHeard = now.nanoseconds
            if self.peers[i].status != .alive {
                let from = self.peers[i].status
                self.peers[i].status = .alive
                out.append(.publish(.statusChanged(member: packet.sender, from: from, to: .alive, incarnation: self.peers[i].member.incarnation)))
            }
        }
        if case .ping(let seq, _) = packet.message {
            out.append(.send(Packet(sender: self.me.name, message: .ack(seq: seq), gossip: [.alive(self.me)]), to: address))
        }
        return out
    }

    mutating func leave(now: Instant) -> [Directive] { [] }

    private mutating func ping() -> Packet {
        self.seq &+= 1
        var gossip: [Update] = [.alive(self.me)]
        if !self.peers.isEmpty {
            for _ in 0..<3 { gossip.append(.alive(self.peers[Int(self.rng.next() % UInt64(self.peers.count))].member)) }
        }
        return Packet(sender: self.me.name, message: .ping(seq: self.seq, target: ""), gossip: gossip)
    }
}

import VigilCore
import VigilSim

/// A stand-in engine that does nothing but write down every input it gets, in a
/// journal that outlives its life (so a test can see that a crashed node got nothing).
struct ProbeNode: SimulatedNode {
    enum Input: Equatable {
        case start(incarnation: UInt64)
        case tick
        case receive(from: String, seq: UInt32)
    }

    struct Entry: Equatable {
        var time: Instant
        var node: Int
        var input: Input
    }

    /// Shared by all probe nodes of one simulation.
    final class Journal {
        var entries: [Entry] = []

        func inputs(of node: Int) -> [Entry] {
            self.entries.filter { $0.node == node }
        }
    }

    let index: Int
    let incarnation: UInt64
    let interval: Duration
    let journal: Journal

    init(_ spawn: NodeSpawn, interval: Duration, journal: Journal) {
        self.index = spawn.index
        self.incarnation = spawn.incarnation
        self.interval = interval
        self.journal = journal
    }

    var currentIncarnation: UInt64 { self.incarnation }

    mutating func start(joining seeds: [Address], now: Instant) -> [Directive] {
        self.journal.entries.append(Entry(time: now, node: self.index, input: .start(incarnation: self.incarnation)))
        return [.wake(at: now + self.interval)]
    }

    mutating func receive(_ packet: Packet, from address: Address, now: Instant) -> [Directive] {
        guard case .ping(let seq, _) = packet.message else { return [] }
        self.journal.entries.append(Entry(time: now, node: self.index, input: .receive(from: packet.sender, seq: seq)))
        return []
    }

    mutating func tick(now: Instant) -> [Directive] {
        self.journal.entries.append(Entry(time: now, node: self.index, input: .tick))
        return [.wake(at: now + self.interval)]
    }

    mutating func leave(now: Instant) -> [Directive] { [] }
}

extension Packet {
    /// A small numbered packet for network tests.
    static func probe(from sender: String, seq: UInt32) -> Packet {
        Packet(sender: sender, message: .ping(seq: seq, target: ""))
    }
}

extension Instant {
    static func ms(_ milliseconds: Int64) -> Instant {
        Instant(nanoseconds: milliseconds * 1_000_000)
    }
}

/// A simulation of `count` probe nodes on a network with `conditions`, all started at 0.
func probeSimulation(
    nodes count: Int, conditions: LinkConditions = LinkConditions(delay: .milliseconds(1)),
    tickEvery interval: Duration = .milliseconds(100), seed: UInt64 = 1
) -> (Simulation<ProbeNode>, ProbeNode.Journal) {
    let journal = ProbeNode.Journal()
    let simulation = Simulation(
        layout: .standard(nodes: count),
        network: NetworkModel(nodes: count, defaults: conditions),
        rng: DeterministicRNG(seed: seed),
        accounting: WireAccounting(sealOverhead: 48),
        makeNode: { ProbeNode($0, interval: interval, journal: journal) })
    for node in 0..<count { simulation.perform(.start(node: node, seeds: [])) }
    return (simulation, journal)
}

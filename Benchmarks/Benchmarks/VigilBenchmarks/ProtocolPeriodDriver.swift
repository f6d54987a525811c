import VigilCore
import VigilCrypto

/// Drives one `Instance` that knows a large cluster through protocol periods on a
/// virtual clock, acking every probe it sends so the view stays healthy.
///
/// A class so that the instance and the clock persist across benchmark iterations:
/// each iteration continues where the previous one stopped, as a real node does.
final class ProtocolPeriodDriver {
    private(set) var instance: Instance
    private(set) var now: Instant = .zero
    /// The instant the instance last asked to be ticked at.
    private var wake: Instant = .zero
    private let period: Duration
    /// Directives carried out since creation (read once so the work is observable).
    private(set) var directiveCount = 0
    /// Probes answered since creation.
    private(set) var acksSent = 0

    /// Builds a member that knows `clusterSize - 1` others and has already spread
    /// the news of all of them, so what is measured is a steady-state period.
    init(clusterSize: Int, configuration: Configuration = .lan) {
        self.period = configuration.probe.period
        self.instance = Instance(
            name: Fixtures.name(0), address: Fixtures.address(0), identity: Fixtures.key(0), incarnation: 1,
            configuration: configuration, rng: DeterministicRNG(seed: 1))
        self.carryOut(self.instance.start(joining: [], now: self.now))

        // Learn the others through gossip, as a joining node would, a packet's worth at a time.
        let others = (1..<clusterSize).map { Fixtures.member($0) }
        var offset = 0
        while offset < others.count {
            let batch = others[offset..<min(offset + 50, others.count)]
            let packet = Packet(
                sender: batch.first!.name, message: .ack(seq: 0), gossip: batch.map { .alive($0) })
            self.carryOut(self.instance.receive(packet, from: batch.first!.address, now: self.now))
            offset += batch.count
        }
        precondition(self.instance.members.count == clusterSize, "the instance must know the whole cluster")

        // Every learned member was queued for gossip. Run periods, answering probes,
        // until the probes stop carrying news: then the queue is empty.
        var quietPeriods = 0
        var periods = 0
        while quietPeriods < 4 {
            periods += 1
            precondition(periods < 10_000, "the gossip queue did not drain in 10 000 periods")
            quietPeriods = self.runPeriod(countingGossip: true) == 0 ? quietPeriods + 1 : 0
        }
    }

    /// Runs one protocol period: ticks at every instant the instance asks for within
    /// the next `probe.period` of virtual time and acks each probe at once.
    /// - Returns: how many gossip updates rode on the packets sent, if asked to count.
    @discardableResult
    func runPeriod(countingGossip: Bool = false) -> Int {
        let end = self.now + self.period
        var gossip = 0
        var ticks = 0
        while self.wake <= end {
            ticks += 1
            precondition(ticks < 10_000, "the instance asked for more than 10 000 wake-ups in one period")
            self.now = max(self.now, self.wake)
            let directives = self.instance.tick(now: self.now)
            if countingGossip {
                gossip += Self.gossipCount(directives)
            }
            self.carryOut(directives)
            if self.wake <= self.now {
                // Nothing left due now; the next deadline is later in virtual time.
                self.wake = self.now + .nanoseconds(1)
            }
        }
        self.now = end
        return gossip
    }

    /// Does what the shell would: records the wake-up, answers pings with acks from
    /// their targets. The instance's own answer to an ack is carried out in turn, and
    /// its wake-up replaces the one from the call before, as `Directive.wake` says.
    private func carryOut(_ directives: [Directive]) {
        var acks: [(Packet, Address)] = []
        for directive in directives {
            self.directiveCount += 1
            switch directive {
            case .send(let packet, let address):
                if case .ping(let seq, let target) = packet.message {
                    acks.append((Packet(sender: target, message: .ack(seq: seq)), address))
                }
            case .wake(let at):
                self.wake = at
            case .stream, .publish, .persist, .fence, .recover:
                // No sync peers, journal, fencing or recovery in this benchmark.
                break
            }
        }
        for (ack, address) in acks {
            self.acksSent += 1
            self.carryOut(self.instance.receive(ack, from: address, now: self.now))
        }
    }

    private static func gossipCount(_ directives: [Directive]) -> Int {
        directives.reduce(0) { count, directive in
            if case .send(let packet, _) = directive { count + packet.gossip.count } else { count }
        }
    }
}

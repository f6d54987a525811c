import Testing

@testable import VigilCore

/// The counters and round-trip samples the agent's metrics read from the engine.
@Suite("Instance: stats for metrics")
struct InstanceStatsTests {
    func startedInstance() -> Instance {
        var node = Fixture.instance("a")
        _ = node.start(joining: [], now: .zero)
        return node
    }

    /// Ticks every 10 ms until the engine sends its first ping; returns it.
    func firstPing(of node: inout Instance, after start: Instant = .zero) -> (seq: UInt32, target: String, at: Instant)? {
        var now = start
        for _ in 0..<500 {
            now = now + .milliseconds(10)
            for (packet, _) in node.tick(now: now).sent {
                if case .ping(let seq, let target) = packet.message { return (seq, target, now) }
            }
        }
        return nil
    }

    @Test func aLostAckCountsAProbeSentAndAFailedRound() throws {
        var a = self.startedInstance()
        _ = a.learn(["b", "c", "d"])
        let ping = try #require(self.firstPing(of: &a))
        #expect(a.stats.probesSent == 1)
        #expect(a.stats.probesFailed == 0)
        // Nobody answers: past the direct timeout relays are asked, past the final
        // deadline the round has failed.
        var now = ping.at
        let end = ping.at + Configuration.lan.probe.timeout.scaled(by: 3) + .milliseconds(20)
        while now < end {
            now = now + .milliseconds(10)
            _ = a.tick(now: now)
        }
        #expect(a.stats.probesFailed >= 1)
        #expect(a.stats.probesFailed <= a.stats.probesSent)
        #expect(a.stats.indirectProbes >= 1)
        #expect(a.stats.acksReceived == 0)
        #expect(a.drainRoundTrips().isEmpty)
    }

    @Test func anAnsweredPingGivesOneRoundTripSampleAndNoFailure() throws {
        var a = self.startedInstance()
        _ = a.learn(["b", "c", "d"])
        let ping = try #require(self.firstPing(of: &a))
        let answeredAt = ping.at + .milliseconds(3)
        _ = a.receive(
            Packet(sender: ping.target, message: .ack(seq: ping.seq)), from: Fixture.address(ping.target),
            now: answeredAt)
        #expect(a.stats.acksReceived == 1)
        #expect(a.drainRoundTrips() == [.milliseconds(3)])
        #expect(a.drainRoundTrips().isEmpty, "a drained sample is handed out once")
        // The same ack again is stale: no second sample.
        _ = a.receive(
            Packet(sender: ping.target, message: .ack(seq: ping.seq)), from: Fixture.address(ping.target),
            now: answeredAt + .milliseconds(1))
        #expect(a.stats.acksReceived == 1)
        #expect(a.drainRoundTrips().isEmpty)
        // Well past the round's deadline, it still did not fail.
        _ = a.tick(now: ping.at + Configuration.lan.probe.timeout.scaled(by: 3) + .milliseconds(1))
        #expect(a.stats.probesFailed == 0)
    }

    @Test func roundTripSamplesAreBoundedAndTheOverflowIsCounted() {
        var a = self.startedInstance()
        for i in 0..<(Instance.roundTripCapacity + 5) {
            a.recordRoundTrip(.milliseconds(Int64(i)))
        }
        #expect(a.stats.roundTripsDropped == 5)
        let samples = a.drainRoundTrips()
        #expect(samples.count == Instance.roundTripCapacity)
        #expect(samples.first == .zero)
    }

    @Test func aRefutationIsCountedOncePerRefutation() {
        var a = self.startedInstance()
        _ = a.learn(["b", "c"])
        #expect(a.stats.refutations == 0)
        let suspicion = Suspicion(subject: "a", incarnation: 1, observer: "b")
        _ = a.receive(
            Packet(sender: "b", message: .ack(seq: 0), gossip: [.suspect(suspicion)]), from: Fixture.address("b"),
            now: .zero + .milliseconds(10))
        #expect(a.stats.refutations == 1)
        // The same, now outdated, suspicion again: nothing to refute.
        _ = a.receive(
            Packet(sender: "c", message: .ack(seq: 0), gossip: [.suspect(suspicion)]), from: Fixture.address("c"),
            now: .zero + .milliseconds(20))
        #expect(a.stats.refutations == 1)
        #expect(a.me.incarnation == 2)
    }

    @Test func memberCountsIncludeThisNodeAndFollowStatusChanges() {
        var a = self.startedInstance()
        _ = a.learn(["b", "c"])
        #expect(a.memberCounts == [.alive: 3])
        _ = a.receive(
            Packet(
                sender: "b", message: .ack(seq: 0),
                gossip: [.suspect(Suspicion(subject: "c", incarnation: 1, observer: "b"))]),
            from: Fixture.address("b"), now: .zero + .milliseconds(5))
        #expect(a.memberCounts == [.alive: 2, .suspect: 1])
        #expect(a.stats.membersSuspected == 1)
        #expect(a.stats.suspicionsRaised == 0, "heard of, not raised here")
    }

    @Test func aCrashIsCountedAsSuspicionsVotesAndCertificatesWithThePhiOfTheSuspect() throws {
        let names = (1...5).map { "node-\($0)" }
        var network = MiniNetwork(names: names)
        network.run(until: .zero + .seconds(5))
        let crashed = "node-4"
        let observers = names.filter { network.nodes[$0]!.observedSubjects.contains(crashed) }
        try #require(!observers.isEmpty)
        network.down.insert(crashed)
        // Run until an observer suspects it from its own probes; its phi is exposed then.
        var suspectedAt: String?
        let deadline = network.now + .seconds(5)
        while suspectedAt == nil, network.now < deadline {
            network.run(until: network.now + .milliseconds(10))
            suspectedAt = observers.first { network.nodes[$0]!.stats.suspicionsRaised > 0 }
        }
        let observer = try #require(suspectedAt, "no observer raised a suspicion of the crashed node")
        let phis = network.nodes[observer]!.suspectPhis(now: network.now)
        #expect(phis.map(\.name) == [crashed])
        #expect((phis.first?.phi ?? 0) >= Configuration.lan.phi.threshold)
        #expect(network.nodes[observer]!.stats.probesFailed > 0)

        network.run(until: network.now + .seconds(5))
        for name in names where name != crashed {
            let stats = network.nodes[name]!.stats
            #expect(network.status(of: crashed, at: name) == .failed)
            #expect(stats.certificates == 1, "\(name) certified the crash once")
            #expect(stats.membersSuspected >= 1)
            #expect(network.nodes[name]!.suspectPhis(now: network.now).isEmpty, "failed is no longer suspect")
        }
        #expect(observers.map { network.nodes[$0]!.stats.votesCast }.reduce(0, +) >= 1)
        // Everyone answered everyone before the crash: acks and samples were counted.
        let live = network.nodes["node-1"]!
        #expect(live.stats.acksReceived > 0)
        #expect(live.stats.messagesSent > live.stats.probesSent)
    }
}

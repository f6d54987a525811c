import Testing
import VigilCrypto

@testable import VigilCore

/// `vigil force-leave` (a signed operator removal) and serf-style reconnection to
/// failed members, on the in-memory network with virtual time.
@Suite("Force-leave and reconnect")
struct RemovalAndReconnectTests {
    let names = (1...7).map { "node-\($0)" }

    /// A converged cluster in which `crashed` was certified failed everywhere.
    func clusterWithFailedMember(_ crashed: String, configuration: Configuration = .lan) -> MiniNetwork {
        var network = MiniNetwork(names: self.names, configuration: configuration)
        network.run(until: .zero + .seconds(5))
        network.down.insert(crashed)
        network.run(until: network.now + .seconds(6))
        for observer in self.names where observer != crashed {
            #expect(network.status(of: crashed, at: observer) == .failed, "\(observer) sees \(crashed)")
        }
        return network
    }

    @Test func forceLeaveOfAFailedMemberMakesItLeftEverywhere() throws {
        var network = self.clusterWithFailedMember("node-4")
        let out = try network.nodes["node-1"]!.forceLeave("node-4", now: network.now)
        #expect(out.events.contains(.statusChanged(member: "node-4", from: .failed, to: .left, incarnation: 1)))
        network.carry(out, from: "node-1")
        network.run(until: network.now + .seconds(3))
        for observer in self.names where observer != "node-4" {
            #expect(network.status(of: "node-4", at: observer) == .left, "\(observer) sees node-4")
        }
    }

    @Test func forceLeaveRefusesLiveUnknownAndOwnNames() {
        var network = MiniNetwork(names: self.names)
        network.run(until: .zero + .seconds(5))
        var node = network.nodes["node-1"]!
        #expect(throws: ForceLeaveError.notFailed("node-2", status: .alive)) {
            try node.forceLeave("node-2", now: network.now)
        }
        #expect(throws: ForceLeaveError.unknown("ghost")) { try node.forceLeave("ghost", now: network.now) }
        #expect(throws: ForceLeaveError.isSelf("node-1")) { try node.forceLeave("node-1", now: network.now) }
        #expect(node.member(named: "node-2")?.status == .alive)
        #expect(
            ForceLeaveError.notFailed("node-2", status: .alive).description
                == "member `node-2` is alive, not failed: only a failed member can be forced to leave")
    }

    @Test func removalOfALiveMemberOrWithAForgedSignatureIsIgnored() {
        var network = self.clusterWithFailedMember("node-4")
        var node = network.nodes["node-2"]!
        // Signed by node-3's real key, but against node-5, which is alive: no effect.
        let alive = Removal(
            name: "node-5", incarnation: 1, issuer: "node-3",
            signature: Fixture.key("node-3").sign(Removal.signedBytes(name: "node-5", incarnation: 1, issuer: "node-3")))
        // Against the failed node-4, claiming node-3 but signed with another key.
        let forged = Removal(
            name: "node-4", incarnation: 1, issuer: "node-3",
            signature: Fixture.key("intruder").sign(
                Removal.signedBytes(name: "node-4", incarnation: 1, issuer: "node-3")))
        let out = node.receive(
            Packet(sender: "node-3", message: .gossip, gossip: [.removed(alive), .removed(forged)]),
            from: Fixture.address("node-3"), now: network.now)
        #expect(node.member(named: "node-5")?.status == .alive)
        #expect(node.member(named: "node-4")?.status == .failed)
        #expect(out.events.contains(.dropped(reason: .badSignature)))
        network.nodes["node-2"] = node
    }

    @Test func aLateJoinerLearnsARemovalThroughSync() throws {
        var network = self.clusterWithFailedMember("node-4")
        network.carry(try network.nodes["node-1"]!.forceLeave("node-4", now: network.now), from: "node-1")
        network.run(until: network.now + .seconds(3))
        var late = Fixture.instance("node-9", seed: 99)
        network.byAddress[Fixture.address("node-9")] = "node-9"
        let out = late.start(joining: [Fixture.address("node-2")], now: network.now)
        network.nodes["node-9"] = late
        network.carry(out, from: "node-9")
        network.run(until: network.now + .seconds(3))
        #expect(network.status(of: "node-4", at: "node-9") == .left)
    }

    @Test func aRemovedMemberThatRestartsJoinsAgainAsANewLife() throws {
        var network = self.clusterWithFailedMember("node-4")
        network.carry(try network.nodes["node-1"]!.forceLeave("node-4", now: network.now), from: "node-1")
        network.run(until: network.now + .seconds(3))
        var restarted = Fixture.instance("node-4", seed: 44, incarnation: Incarnation.first(life: 1))
        network.down.remove("node-4")
        let out = restarted.start(joining: [Fixture.address("node-1")], now: network.now)
        network.nodes["node-4"] = restarted
        network.carry(out, from: "node-4")
        network.run(until: network.now + .seconds(5))
        for observer in self.names {
            #expect(network.status(of: "node-4", at: observer) == .alive, "\(observer) sees node-4")
        }
    }

    /// A node that restarts with no seeds and no memory of the cluster (its join
    /// reaches nobody) is found again only because the others retry it while failed.
    @Test func failedMemberThatComesBackWithoutJoiningIsFoundByReconnect() {
        var network = self.clusterWithFailedMember("node-7", configuration: .local)
        var lonely = Fixture.instance(
            "node-7", configuration: .local, seed: 77, incarnation: Incarnation.first(life: 1))
        network.down.remove("node-7")
        let out = lonely.start(joining: [], now: network.now)
        network.nodes["node-7"] = lonely
        network.carry(out, from: "node-7")
        // reconnectInterval (5 s in `.local`) to start each member's clock, one more
        // for its first retry, plus jitter.
        network.run(until: network.now + Configuration.local.gossip.reconnectInterval.scaled(by: 3))
        for observer in self.names {
            #expect(network.status(of: "node-7", at: observer) == .alive, "\(observer) sees node-7")
            #expect(network.status(of: "node-1", at: observer) == .alive, "\(observer) sees node-1")
        }
    }

    @Test func reconnectRetriesBackOffAndStopAfterTheTimeout() {
        var configuration = Configuration.local
        configuration.gossip.reconnectInterval = .seconds(1)
        configuration.gossip.reconnectMaxBackoff = .seconds(8)
        configuration.gossip.reconnectTimeout = .seconds(40)
        var network = self.clusterWithFailedMember("node-7", configuration: configuration)
        // Count the syncs each node opens to the dead node's address, per 10 s window.
        var node = network.nodes["node-1"]!
        var attempts: [Instant] = []
        var now = network.now
        let end = now + .seconds(60)
        while now < end {
            now = now + .milliseconds(100)
            let out = node.tick(now: now)
            if out.streamed.contains(where: { $0.1 == Fixture.address("node-7") }) { attempts.append(now) }
        }
        #expect(attempts.count >= 4, "retried \(attempts.count) times")
        let gaps = zip(attempts.dropFirst(), attempts).map { $0 - $1 }
        // Each wait at least as long as the one before (within the jitter of the
        // once-per-interval check), and never above the cap plus one interval.
        for (later, earlier) in zip(gaps.dropFirst(), gaps) {
            #expect(later + configuration.gossip.reconnectInterval >= earlier, "gaps \(gaps)")
        }
        #expect(gaps.allSatisfy { $0 <= configuration.gossip.reconnectMaxBackoff + .seconds(2) }, "gaps \(gaps)")
        // Nothing after the timeout (measured from when node-1 first saw it failed).
        #expect(attempts.last! < network.now + configuration.gossip.reconnectTimeout + .seconds(2))
        network.nodes["node-1"] = node
    }

    /// A minority cut off long enough to be certified failed learns it within moments
    /// of the heal, from the first packet it sends to the majority — not half a
    /// minute or more later, when reconnect's backoff or a random sync comes round.
    @Test func aCutOffMinorityLearnsAtTheHealThatItWasCertifiedFailed() {
        var network = MiniNetwork(names: self.names)
        network.run(until: .zero + .seconds(5))
        let minority = ["node-6", "node-7"]
        for name in minority { network.side[name] = 1 }
        network.run(until: network.now + .seconds(20))
        for subject in minority {
            for observer in self.names where !minority.contains(observer) {
                #expect(network.status(of: subject, at: observer) == .failed, "\(observer) sees \(subject)")
            }
        }
        let healed = network.now
        network.side = [:]
        network.run(until: healed + .seconds(2))
        for name in minority {
            let learned = network.events.contains { item in
                guard item.node == name, item.at >= healed, case .declaredFailed(let certificate) = item.event else {
                    return false
                }
                return certificate.subject == name
            }
            #expect(learned, "\(name) did not learn within 2 s of the heal that it was certified failed")
        }
    }

    /// A failed member that keeps talking gets one full-state push per 10 probe
    /// periods, not one per packet.
    @Test func pushesToATalkingFailedMemberAreSpacedOut() {
        var network = self.clusterWithFailedMember("node-7")
        var node = network.nodes["node-1"]!
        let spacing = Configuration.lan.probe.period.scaled(by: Double(Instance.contactSyncPeriods))
        var now = network.now
        var pushes: [Instant] = []
        let end = now + spacing.scaled(by: 2.5)
        while now < end {
            now = now + .milliseconds(100)
            let ping = Packet(sender: "node-7", message: .ping(seq: 1, target: "node-1"))
            let out = node.receive(ping, from: Fixture.address("node-7"), now: now)
            #expect(out.sent.contains { $0.1 == Fixture.address("node-7") }, "pings are still answered")
            let full = out.streamed.filter { packet, to in
                guard to == Fixture.address("node-7"), case .sync(let sync) = packet.message else { return false }
                return sync.state != nil
            }
            if !full.isEmpty { pushes.append(now) }
        }
        #expect(pushes.count == 3, "pushes at \(pushes)")
        #expect(zip(pushes.dropFirst(), pushes).allSatisfy { $0 - $1 >= spacing }, "pushes at \(pushes)")
        network.nodes["node-1"] = node
    }
}

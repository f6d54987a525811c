import Testing

@testable import VigilCore

/// The leader's HA lifecycle on the in-memory network: fence once, confirm, only then
/// recover; retry failures; brake; resume after a leader change. Virtual time only.
@Suite("HA lifecycle: fence, then recover")
struct HALifecycleTests {
    let names = (1...7).map { "node-\($0)" }

    static var configuration: Configuration {
        var configuration = Configuration.lan
        configuration.ha.enabled = true
        configuration.ha.retryMin = .seconds(2)
        return configuration
    }

    func leader(_ network: MiniNetwork) -> String? {
        network.nodes.filter { !network.down.contains($0.key) && $0.value.isLeader }.map(\.key).sorted().first
    }

    /// A converged cluster with a leader, and a non-leader crashed and certified.
    func clusterWithACertifiedCrash() -> (MiniNetwork, leader: String, crashed: String) {
        var network = MiniNetwork(names: self.names, configuration: Self.configuration)
        network.run(until: .zero + .seconds(10))
        let leader = self.leader(network)!
        let crashed = self.names.last { $0 != leader }!
        network.down.insert(crashed)
        network.run(until: network.now + .seconds(8))
        return (network, leader, crashed)
    }

    /// A converged cluster with a leader, and three of its followers (3 of 7: over the
    /// brake's share) crashed at once and given time to be certified.
    func clusterWithThreeCrashedAtOnce() throws -> (MiniNetwork, leader: String, crashed: [String]) {
        var network = MiniNetwork(names: self.names, configuration: Self.configuration)
        network.run(until: .zero + .seconds(10))
        let leader = try #require(self.leader(network))
        let crashed = Array(self.names.filter { $0 != leader }.suffix(3))
        for name in crashed { network.down.insert(name) }
        network.run(until: network.now + .seconds(15))
        return (network, leader, crashed)
    }

    func phase(of node: String, at observer: String, _ network: MiniNetwork) -> HAPhase? {
        network.nodes[observer]!.haStatus.first { $0.node == node }?.phase
    }

    @Test func theLeaderFencesACertifiedFailureOnceAndRecoversOnlyAfterTheFenceIsConfirmed() {
        var (network, leader, crashed) = self.clusterWithACertifiedCrash()
        #expect(network.fenceOrders.count == 1, "fence orders: \(network.fenceOrders.map(\.by))")
        let fence = network.fenceOrders[0]
        #expect(fence.by == leader)
        #expect(fence.order.node == crashed)
        #expect(fence.order.term == network.nodes[leader]!.leaderStatus.term)
        network.run(until: network.now + .seconds(30))
        // The BMC has not answered: still fencing, nothing recovered, nobody else fenced.
        #expect(network.recoveryOrders.isEmpty)
        #expect(network.fenceOrders.count == 1)
        for name in self.names where name != crashed {
            #expect(self.phase(of: crashed, at: name, network) == .fencing, "\(name)")
        }
        network.completeFence(0, confirmed: true)
        network.run(until: network.now + .seconds(2))
        #expect(network.recoveryOrders.count == 1)
        let recovery = network.recoveryOrders[0]
        #expect(recovery.by == leader && recovery.order.node == crashed)
        #expect(recovery.at >= network.now - .seconds(2), "recovery came after the confirmation")
        network.completeRecovery(0, succeeded: true)
        network.run(until: network.now + .seconds(3))
        for name in self.names where name != crashed {
            #expect(self.phase(of: crashed, at: name, network) == .recovered, "\(name)")
            // Powered off for good this life: out of the quorum denominator.
            #expect(network.nodes[name]!.leaderStatus.voters.count == 6, "\(name)")
        }
        #expect(network.recoveryOrders.count == 1)
    }

    @Test func aFailedFenceIsRetriedWithBackoffAndNothingIsRecoveredMeanwhile() {
        var (network, _, crashed) = self.clusterWithACertifiedCrash()
        network.completeFence(0, confirmed: false)
        network.run(until: network.now + .seconds(1))
        #expect(self.phase(of: crashed, at: "node-1", network) == .fenceFailed)
        #expect(network.fenceOrders.count == 1, "not retried before retryMin")
        network.run(until: network.now + .seconds(3))
        #expect(network.fenceOrders.count == 2, "retried after retryMin")
        network.completeFence(1, confirmed: false)
        network.run(until: network.now + .seconds(3))
        #expect(network.fenceOrders.count == 2, "the second retry waits twice as long")
        network.run(until: network.now + .seconds(3))
        #expect(network.fenceOrders.count == 3)
        #expect(network.recoveryOrders.isEmpty, "no recovery without a confirmed fence")
    }

    @Test func theBrakeHoldsFencesWhenTooManyFailAtOnceUntilAnOperatorApproves() throws {
        var (network, leader, crashed) = try self.clusterWithThreeCrashedAtOnce()
        for name in crashed {
            #expect(network.status(of: name, at: leader) == .failed, "\(name)")
            #expect(self.phase(of: name, at: leader, network) == .awaitingApproval, "\(name)")
        }
        #expect(network.fenceOrders.isEmpty, "3 of 7 failed at once: the brake holds")
        // An operator approves one of them on a follower: the approval is gossiped,
        // and the leader fences that one only.
        let follower = self.names.first { $0 != leader && !crashed.contains($0) }!
        let approved = network.nodes[follower]!.command(.approve([crashed[0]]), now: network.now)
        #expect(approved.outcomes.map(\.done) == [true])
        network.carry(approved.directives, from: follower)
        network.run(until: network.now + .seconds(3))
        #expect(network.fenceOrders.map(\.order.node) == [crashed[0]])
        #expect(network.fenceOrders.map(\.by) == [leader])
        // `--all` approves what the brake still holds.
        let all = network.nodes[follower]!.command(.approveAll, now: network.now)
        #expect(all.outcomes.map(\.node) == Array(crashed.dropFirst()).sorted())
        network.carry(all.directives, from: follower)
        network.run(until: network.now + .seconds(3))
        #expect(Set(network.fenceOrders.map(\.order.node)) == Set(crashed))
        #expect(network.fenceOrders.count == 3, "each fenced once: \(network.fenceOrders.map(\.order.node))")
    }

    /// A hold sticks for that life: once the approved ones are fenced, the brake eases
    /// (one failure alone never trips it), but the node it held still waits for an
    /// operator — failures that come in a row must not slip through one at a time.
    @Test func aNodeTheBrakeHeldStaysHeldWhenTheBrakeEases() throws {
        var (network, leader, crashed) = try self.clusterWithThreeCrashedAtOnce()
        try #require(crashed.allSatisfy { self.phase(of: $0, at: leader, network) == .awaitingApproval })
        let follower = self.names.first { $0 != leader && !crashed.contains($0) }!
        let approved = network.nodes[follower]!.command(.approve(Array(crashed.prefix(2))), now: network.now)
        network.carry(approved.directives, from: follower)
        network.run(until: network.now + .seconds(3))
        #expect(network.fenceOrders.map(\.order.node).sorted() == Array(crashed.prefix(2)))
        for index in network.fenceOrders.indices { network.completeFence(index, confirmed: true) }
        network.run(until: network.now + .seconds(20))
        #expect(!network.nodes[leader]!.brakeEngaged(), "two of three fenced: one failure alone does not brake")
        #expect(network.fenceOrders.count == 2, "fenced without approval: \(network.fenceOrders.map(\.order.node))")
        #expect(self.phase(of: crashed[2], at: leader, network) == .awaitingApproval)
        // Its approval alone lets it go.
        let last = network.nodes[follower]!.command(.approve([crashed[2]]), now: network.now)
        #expect(last.outcomes.map(\.done) == [true])
        network.carry(last.directives, from: follower)
        network.run(until: network.now + .seconds(3))
        #expect(network.fenceOrders.map(\.order.node).last == crashed[2])
    }

    @Test func approvingANodeTheBrakeDoesNotHoldIsRefusedAndRecordsNothing() {
        var (network, leader, crashed) = self.clusterWithACertifiedCrash()
        let follower = self.names.first { $0 != leader && $0 != crashed }!
        let before = network.nodes[follower]!.haStatus
        let out = network.nodes[follower]!.command(.approve([crashed, "nobody"]), now: network.now)
        #expect(out.outcomes.map(\.done) == [false, false])
        #expect(out.outcomes[0].message.contains("not held by the brake"), "\(out.outcomes[0].message)")
        #expect(out.outcomes[1].message == "no member named nobody")
        #expect(network.nodes[follower]!.haStatus == before)
    }

    @Test func aNewLeaderResumesTheFenceTheOldOneStartedUnderAHigherTerm() throws {
        var (network, leader, crashed) = self.clusterWithACertifiedCrash()
        #expect(network.fenceOrders.count == 1)
        let oldTerm = network.fenceOrders[0].order.term
        // The leader dies mid-fence; its BMC call is lost with it.
        network.down.insert(leader)
        network.run(until: network.now + .seconds(15))
        let next = try #require(self.leader(network))
        let resumed = network.fenceOrders.filter { $0.by == next && $0.order.node == crashed }
        #expect(resumed.count == 1, "orders: \(network.fenceOrders.map { ($0.by, $0.order.node, $0.order.term) })")
        #expect((resumed.first?.order.term ?? 0) > oldTerm)
        #expect(network.recoveryOrders.isEmpty)
    }

    @Test func aDeposedLeadersLateReportUnderItsOldTermDoesNotOverrideTheNewLeader() throws {
        var (network, leader, crashed) = self.clusterWithACertifiedCrash()
        let oldTerm = network.fenceOrders[0].order.term
        // The leader is cut off with its fence in flight; the majority elects another.
        for name in self.names where name != leader { network.side[name] = 1 }
        network.run(until: network.now + .seconds(15))
        let next = try #require(
            network.nodes.filter { $0.key != leader && $0.key != crashed && $0.value.isLeader }.map(\.key).first)
        #expect(!network.nodes[leader]!.isLeader, "the cut-off leader lost its lease")
        let resumed = try #require(network.fenceOrders.last { $0.by == next })
        #expect(resumed.order.term > oldTerm)
        // The old leader's BMC call now fails, and the partition heals.
        network.completeFence(0, confirmed: false)
        network.side = [:]
        // Gossip spreads what is new; the periodic sync (30 s with `lan`) repairs
        // the rest, the old leader's stale view included.
        network.run(until: network.now + .seconds(65))
        for name in self.names where name != crashed {
            let record = try #require(network.nodes[name]!.haStatus.first { $0.node == crashed }, "\(name)")
            #expect(record.term == resumed.order.term && record.phase == .fencing, "\(name): \(record)")
        }
        #expect(network.fenceOrders.filter { $0.by == leader }.count == 1, "the old leader ordered nothing more")
    }

    @Test func aForgedHARecordIsIgnored() {
        var (network, _, crashed) = self.clusterWithACertifiedCrash()
        var node = network.nodes["node-1"]!
        let life = node.haStatus.first { $0.node == crashed }!.life
        let bytes = HARecord.signedBytes(
            node: crashed, life: life, term: 99, sequence: 1, phase: .fenced, leader: "node-2", attempts: 0,
            detail: "forged")
        let forged = HARecord(
            node: crashed, life: life, term: 99, sequence: 1, phase: .fenced, leader: "node-2", attempts: 0,
            detail: "forged", signature: Fixture.key("intruder").sign(bytes))
        let out = node.receive(
            Packet(sender: "node-2", message: .gossip, gossip: [.ha(forged)]), from: Fixture.address("node-2"),
            now: network.now)
        #expect(out.events.contains(.dropped(reason: .badSignature)))
        #expect(node.haStatus.first { $0.node == crashed }?.phase == .fencing)
        network.nodes["node-1"] = node
    }
}

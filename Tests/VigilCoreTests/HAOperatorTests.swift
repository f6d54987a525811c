import Testing

@testable import VigilCore

/// `vigil fence confirm/unfence` from any member, and a fenced node that comes back
/// staying out of service until an operator returns it. Virtual time only.
@Suite("HA operators: confirm, unfence, out of service")
struct HAOperatorTests {
    let names = (1...5).map { "node-\($0)" }
    let lifecycle = HALifecycleTests()

    static var configuration: Configuration {
        var configuration = Configuration.lan
        configuration.ha.enabled = true
        configuration.ha.retryMin = .seconds(2)
        return configuration
    }

    /// A converged 5-node cluster with a leader and one non-leader crashed, certified
    /// and ordered fenced.
    func clusterWithAFence() -> (MiniNetwork, leader: String, crashed: String) {
        var network = MiniNetwork(names: self.names, configuration: Self.configuration)
        network.run(until: .zero + .seconds(10))
        let leader = self.lifecycle.leader(network)!
        let crashed = self.names.last { $0 != leader }!
        network.down.insert(crashed)
        network.run(until: network.now + .seconds(8))
        return (network, leader, crashed)
    }

    func phase(of node: String, at observer: String, _ network: MiniNetwork) -> HAPhase? {
        network.nodes[observer]!.haStatus.first { $0.node == node }?.phase
    }

    @Test func anOperatorConfirmOnAFollowerLetsTheLeaderRecoverAndALateFenceFailureDoesNotUndoIt() {
        var (network, leader, crashed) = self.clusterWithAFence()
        #expect(network.fenceOrders.count == 1)
        let follower = self.names.first { $0 != leader && $0 != crashed }!
        let out = network.nodes[follower]!.command(.confirm(crashed), now: network.now)
        #expect(out.outcomes.map(\.done) == [true], "\(out.outcomes)")
        network.carry(out.directives, from: follower)
        network.run(until: network.now + .seconds(3))
        #expect(network.recoveryOrders.map(\.order.node) == [crashed])
        #expect(network.recoveryOrders.map(\.by) == [leader])
        // The BMC call the leader started answers late, with a failure: the node
        // stays confirmed off (a later stage of its life wins).
        network.completeFence(0, confirmed: false)
        network.run(until: network.now + .seconds(3))
        for name in self.names where name != crashed {
            #expect(self.phase(of: crashed, at: name, network) == .recovering, "\(name)")
        }
        #expect(network.fenceOrders.count == 1, "no fence retried after the confirm")
    }

    @Test func confirmIsRefusedForALiveNodeAndForThisNode() {
        var (network, leader, crashed) = self.clusterWithAFence()
        let live = self.names.first { $0 != leader && $0 != crashed }!
        let other = network.nodes[leader]!.command(.confirm(live), now: network.now)
        #expect(other.outcomes.map(\.done) == [false])
        #expect(other.outcomes[0].message.contains("not failed"), "\(other.outcomes[0].message)")
        let own = network.nodes[leader]!.command(.confirm(leader), now: network.now)
        #expect(own.outcomes.map(\.done) == [false])
        #expect(network.recoveryOrders.isEmpty)
    }

    @Test func aFencedNodeThatComesBackStaysOutOfServiceUntilUnfenced() throws {
        var (network, leader, crashed) = self.clusterWithAFence()
        network.completeFence(0, confirmed: true)
        network.run(until: network.now + .seconds(2))
        network.completeRecovery(0, succeeded: true)
        network.run(until: network.now + .seconds(3))
        #expect(self.phase(of: crashed, at: leader, network) == .recovered)
        #expect(network.nodes[leader]!.leaderStatus.voters.count == 4)

        // Someone powers it on again: a new life joins.
        network.down.remove(crashed)
        var back = Fixture.instance(crashed, configuration: Self.configuration, seed: 99, incarnation: Incarnation.first(life: 7))
        let join = back.start(joining: [Fixture.address(leader)], now: network.now)
        network.nodes[crashed] = back
        network.carry(join, from: crashed)
        network.run(until: network.now + .seconds(10))
        #expect(network.status(of: crashed, at: leader) == .alive)
        for name in self.names {
            // Alive, but out of the denominator everywhere, itself included.
            #expect(network.nodes[name]!.fenceStatus.outOfService == [crashed], "\(name)")
            #expect(!network.nodes[name]!.leaderStatus.voters.contains(crashed), "\(name)")
        }
        #expect(network.nodes[crashed]!.isLeader == false)
        #expect(network.fenceOrders.count == 1 && network.recoveryOrders.count == 1, "nothing more done to it")

        // Unfence is refused for a node that is not fenced, then accepted for it.
        let wrong = network.nodes[leader]!.command(.unfence(leader), now: network.now)
        #expect(wrong.outcomes.map(\.done) == [false])
        let follower = self.names.first { $0 != leader && $0 != crashed }!
        let out = network.nodes[follower]!.command(.unfence(crashed), now: network.now)
        #expect(out.outcomes.map(\.done) == [true], "\(out.outcomes)")
        network.carry(out.directives, from: follower)
        network.run(until: network.now + .seconds(3))
        for name in self.names {
            #expect(network.nodes[name]!.fenceStatus.outOfService.isEmpty, "\(name)")
            #expect(network.nodes[name]!.leaderStatus.voters.contains(crashed), "\(name)")
        }

        // In service again, it is fenced again should it fail again.
        network.down.insert(crashed)
        network.run(until: network.now + .seconds(10))
        #expect(network.fenceOrders.count == 2, "\(network.fenceOrders.map { ($0.order.node, $0.order.life) })")
        #expect(network.fenceOrders.last?.order.life == 7)
    }

    @Test func unfenceWaitsForARunningRecovery() {
        var (network, leader, crashed) = self.clusterWithAFence()
        network.completeFence(0, confirmed: true)
        network.run(until: network.now + .seconds(2))
        #expect(self.phase(of: crashed, at: leader, network) == .recovering)
        let out = network.nodes[leader]!.command(.unfence(crashed), now: network.now)
        #expect(out.outcomes.map(\.done) == [false])
        #expect(out.outcomes[0].message.contains("recovery is running"), "\(out.outcomes[0].message)")
    }

    @Test func recordsThatTieOnTermAndSequenceConvergeWhicheverArrivesFirst() {
        let key = Fixture.key("node-1")
        func record(_ phase: HAPhase, by signer: String) -> HARecord {
            let bytes = HARecord.signedBytes(
                node: "x", life: 1, term: 3, sequence: 2, phase: phase, leader: signer, attempts: 0, detail: "")
            return HARecord(
                node: "x", life: 1, term: 3, sequence: 2, phase: phase, leader: signer, attempts: 0, detail: "",
                signature: key.sign(bytes))
        }
        let failure = record(.fenceFailed, by: "node-1")
        let confirm = record(.fenced, by: "node-2")
        #expect(failure.precedence < confirm.precedence)
        // A later stage wins even at an older term.
        let lateFailure = HARecord(
            node: "x", life: 1, term: 9, sequence: 5, phase: .fenceFailed, leader: "node-1", attempts: 0, detail: "",
            signature: failure.signature)
        #expect(lateFailure.precedence < confirm.precedence)
        let approvals = [record(.approved, by: "node-2"), record(.approved, by: "node-3")]
        #expect(approvals[0].precedence < approvals[1].precedence)
    }
}

import Testing
import VigilCrypto

@testable import VigilCore

/// Every HA record a node stores is handed to its shell to journal before anything
/// carries it on, and what was journaled comes back at a restart without beating newer
/// news. Virtual time only.
@Suite("HA journaling: persist before gossip, restore at start")
struct HAJournalingTests {
    let lifecycle = HALifecycleTests()
    var names: [String] { self.lifecycle.names }

    /// A converged cluster whose leader fenced and recovered a crashed follower.
    func clusterThatRecoveredACrash() throws -> (MiniNetwork, leader: String, crashed: String) {
        let (certified, leader, crashed) = self.lifecycle.clusterWithACertifiedCrash()
        var network = certified
        try #require(network.fenceOrders.count == 1)
        network.completeFence(0, confirmed: true)
        network.run(until: network.now + .seconds(2))
        try #require(network.recoveryOrders.count == 1)
        network.completeRecovery(0, succeeded: true)
        network.run(until: network.now + .seconds(5))
        return (network, leader, crashed)
    }

    static func record(
        _ node: String, life: UInt32, term: UInt64, sequence: UInt32, phase: HAPhase, leader: String = "node-1"
    ) -> HARecord {
        let bytes = HARecord.signedBytes(
            node: node, life: life, term: term, sequence: sequence, phase: phase, leader: leader, attempts: 0,
            detail: "test")
        return HARecord(
            node: node, life: life, term: term, sequence: sequence, phase: phase, leader: leader, attempts: 0,
            detail: "test", signature: Fixture.key(leader).sign(bytes))
    }

    @Test func everyHAStepIsJournaledOnEveryNodeBeforeItLeavesThatNode() throws {
        let (network, leader, crashed) = try self.clusterThatRecoveredACrash()
        let unjournaled = network.sentBeforeJournaled.map { "\($0.node) sent \($0.record.node) \($0.record.phase)" }
        #expect(unjournaled.count == 0, "sent before journaled: \(unjournaled.prefix(5))")
        let leaderSteps = (network.journaled[leader] ?? []).filter { $0.node == crashed }.map(\.phase)
        #expect(leaderSteps == [.fencing, .fenced, .recovering, .recovered], "\(leaderSteps)")
        for name in self.names where name != crashed {
            let rows = (network.journaled[name] ?? []).filter { $0.node == crashed }
            #expect(rows.last?.phase == .recovered, "\(name): \(rows.map(\.phase))")
            // One row per record stored, each newer than the one before it.
            #expect(zip(rows, rows.dropFirst()).allSatisfy { $0.precedence < $1.precedence }, "\(name)")
        }
    }

    @Test func theLeaderJournalsEachStepBeforeItOrdersTheNextAction() throws {
        let (certified, leader, _) = self.lifecycle.clusterWithACertifiedCrash()
        var network = certified
        let order = try #require(network.fenceOrders.first?.order)
        let out = network.nodes[leader]!.fenceCompleted(order, confirmed: true, detail: "redfish: off", now: network.now)
        let fenced = try #require(out.firstIndex { if case .persist(.ha(let r)) = $0 { r.phase == .fenced } else { false } })
        let recovering = try #require(
            out.firstIndex { if case .persist(.ha(let r)) = $0 { r.phase == .recovering } else { false } })
        let recover = try #require(out.firstIndex { if case .recover = $0 { true } else { false } })
        #expect(fenced < recovering && recovering < recover, "\(out)")
        let published = try #require(out.firstIndex { if case .publish(.haChanged) = $0 { true } else { false } })
        #expect(fenced < published, "journaled before it is announced")
        for (index, directive) in out.enumerated() {
            if case .send(let packet, _) = directive, !packet.haRecords.isEmpty {
                #expect(index > recovering)
            }
        }
    }

    @Test func aStaleOrForgedRecordIsNotJournaled() throws {
        let (network, _, crashed) = try self.clusterThatRecoveredACrash()
        var node = network.nodes["node-1"]!
        let current = try #require(node.haStatus.first { $0.node == crashed })
        let stale = Packet(sender: current.leader, message: .gossip, gossip: [.ha(current)])
        #expect(node.receive(stale, from: Fixture.address(current.leader), now: network.now).journaled.isEmpty)
        var forged = current
        forged.sequence += 1
        forged.phase = .unfenced  // a later stage: only its signature can stop it
        let bad = Packet(sender: current.leader, message: .gossip, gossip: [.ha(forged)])
        let out = node.receive(bad, from: Fixture.address(current.leader), now: network.now)
        #expect(out.events.contains(.dropped(reason: .badSignature)))
        #expect(out.journaled.isEmpty)
    }

    @Test func restoreKeepsOnlyRecordsNewerThanWhatTheInstanceHolds() {
        var instance = Fixture.instance("node-1", configuration: HALifecycleTests.configuration)
        let older = Self.record("node-5", life: 3, term: 1, sequence: 9, phase: .fencing)
        let newer = Self.record("node-5", life: 3, term: 2, sequence: 1, phase: .fenced)
        instance.restore(haRecords: [newer, older])
        #expect(instance.haStatus == [newer], "a later term wins over more steps in an earlier one")
        instance.restore(haRecords: [older])
        #expect(instance.haStatus == [newer])
        let nextLife = Self.record("node-5", life: 4, term: 1, sequence: 1, phase: .fencing)
        let other = Self.record("node-6", life: 1, term: 1, sequence: 1, phase: .recovered)
        instance.restore(haRecords: [other, nextLife])
        #expect(instance.haStatus == [nextLife, other])
        // Nothing restored is journaled again or gossiped as news.
        let out = instance.start(joining: [], now: .zero)
        #expect(out.journaled.isEmpty)
    }

    @Test func aRestartedNodeComesBackWithItsJournaledRecordsAndDoesNotJournalThemTwice() throws {
        var (network, leader, crashed) = try self.clusterThatRecoveredACrash()
        let follower = self.names.first { $0 != leader && $0 != crashed }!
        // The journal's newest row per node, as the agent restores it.
        var latest: [String: HARecord] = [:]
        for record in network.journaled[follower] ?? [] { latest[record.node] = record }
        var restarted = Fixture.instance(
            follower, configuration: HALifecycleTests.configuration, seed: 99, incarnation: Incarnation.first(life: 2))
        restarted.restore(haRecords: Array(latest.values))
        #expect(restarted.haStatus.first { $0.node == crashed }?.phase == .recovered, "known before any sync")
        network.journaled[follower] = []
        network.nodes[follower] = restarted
        let out = network.nodes[follower]!.start(joining: [Fixture.address(leader)], now: network.now)
        network.carry(out, from: follower)
        network.run(until: network.now + .seconds(40))
        #expect(network.nodes[follower]!.haStatus.first { $0.node == crashed }?.phase == .recovered)
        #expect(
            (network.journaled[follower] ?? []).filter { $0.node == crashed }.isEmpty,
            "the peers' copies are no news")
        #expect(network.recoveryOrders.count == 1, "nothing recovered twice")
    }

    @Test func aRestoredRecordThatPeersLackReachesThemThroughSync() throws {
        var network = MiniNetwork(names: ["node-1", "node-2"], configuration: HALifecycleTests.configuration)
        network.run(until: .zero + .seconds(5))
        try #require(network.nodes["node-2"]!.haStatus.isEmpty)
        // node-1 led once and journaled a fence of node-9; node-2 never heard of it.
        let record = Self.record("node-9", life: 1, term: 1, sequence: 2, phase: .fenced, leader: "node-1")
        var restarted = Fixture.instance(
            "node-1", configuration: HALifecycleTests.configuration, seed: 7, incarnation: Incarnation.first(life: 2))
        restarted.restore(haRecords: [record])
        network.nodes["node-1"] = restarted
        let out = network.nodes["node-1"]!.start(joining: [Fixture.address("node-2")], now: network.now)
        network.carry(out, from: "node-1")
        network.run(until: network.now + .seconds(40))
        #expect(network.nodes["node-2"]!.haStatus == [record])
        #expect(network.journaled["node-2"]?.contains(record) == true, "the peer journals what it learned")
    }
}

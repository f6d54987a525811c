import Testing

@testable import VigilCore

@Suite("Small clusters on an in-memory network")
struct ClusterTests {
    let names = (1...7).map { "node-\($0)" }

    @Test func nodesJoinThroughOneSeedAndConverge() {
        var network = MiniNetwork(names: self.names)
        network.run(until: .zero + .seconds(5))
        for observer in self.names {
            for subject in self.names {
                #expect(network.status(of: subject, at: observer) == .alive, "\(observer) sees \(subject)")
            }
        }
    }

    /// A subject's phi detector hears from it once per period, at regular intervals: the
    /// random probe (every 4th period) goes to members the prober does not watch. It used
    /// to land on subjects too, adding early heartbeats that widened the deviation.
    @Test func randomProbesGoToMembersTheProberDoesNotWatch() {
        let names = (1...12).map { "node-\($0)" }
        var network = MiniNetwork(names: names)
        network.run(until: .zero + .seconds(10))
        network.pings = [:]
        network.run(until: .zero + .seconds(70))
        let periods = 60 * 2  // lan: one probe of each subject every 500 ms
        var randomProbes = 0
        for node in names {
            let subjects = Set(network.nodes[node]!.subjects)
            #expect(!subjects.isEmpty, "\(node) watches \(subjects.sorted())")
            for (target, count) in network.pings[node] ?? [:] {
                if subjects.contains(target) {
                    #expect(abs(count - periods) <= 1, "\(node) pinged its subject \(target) \(count) times in \(periods) periods")
                } else {
                    randomProbes += count
                }
            }
        }
        // Every node probes a non-subject every 4th period: 30 in the minute.
        #expect(randomProbes >= names.count * 29 && randomProbes <= names.count * 31, "\(randomProbes) random probes")
    }

    @Test func crashedNodeIsFailedEverywhereWithACertificate() {
        var network = MiniNetwork(names: self.names)
        network.run(until: .zero + .seconds(5))
        let crashed = "node-4"
        network.down.insert(crashed)
        let crashAt = network.now
        network.run(until: crashAt + .seconds(5))
        for observer in self.names where observer != crashed {
            #expect(network.status(of: crashed, at: observer) == .failed, "\(observer) sees \(crashed)")
            let certificate = network.nodes[observer]!.certificate(for: crashed)
            #expect(certificate.map { network.nodes[observer]!.verify($0) } == true)
        }
        // Nobody else was touched.
        for observer in self.names where observer != crashed {
            for subject in self.names where subject != crashed {
                #expect(network.status(of: subject, at: observer) == .alive, "\(observer) sees \(subject)")
            }
        }
    }
}

extension ClusterTests {
    @Test func gracefulLeaveIsSeenAsLeftNotFailed() {
        var network = MiniNetwork(names: self.names)
        network.run(until: .zero + .seconds(5))
        let leaver = "node-3"
        let out = network.nodes[leaver]!.leave(now: network.now)
        network.carry(out, from: leaver)
        network.run(until: network.now + .milliseconds(200))
        network.down.insert(leaver)
        network.run(until: network.now + .seconds(5))
        for observer in self.names where observer != leaver {
            #expect(network.status(of: leaver, at: observer) == .left, "\(observer) sees \(leaver)")
        }
        #expect(!network.events.contains { if case .failureCertified = $0.event { true } else { false } })
    }

    @Test func nodeCutOffFromEveryoneSuspectsItselfAndDoesNotVote() {
        var network = MiniNetwork(names: self.names)
        network.run(until: .zero + .seconds(5))
        // node-1 loses its network, but keeps running: everyone else goes silent for it.
        let lonely = "node-1"
        for other in self.names where other != lonely { network.down.insert(other) }
        network.run(until: network.now + .seconds(10))
        let node = network.nodes[lonely]!
        #expect(node.isIsolated)
        #expect(network.events.contains { $0.node == lonely && $0.event == .isolated(true) })
        // It must not have accused anybody with a vote.
        let accusedByLonely = network.events.contains {
            if $0.node == lonely, case .failureCertified = $0.event { true } else { false }
        }
        #expect(!accusedByLonely)
    }

    @Test func lateJoinerLearnsAFailureWithItsCertificateThroughSync() {
        var network = MiniNetwork(names: self.names)
        network.run(until: .zero + .seconds(5))
        network.down.insert("node-5")
        network.run(until: network.now + .seconds(8))
        #expect(network.status(of: "node-5", at: "node-1") == .failed)
        // A new node joins through node-2 and must learn node-5 is failed, with proof.
        var late = Fixture.instance("node-9", seed: 99)
        network.byAddress[Fixture.address("node-9")] = "node-9"
        let out = late.start(joining: [Fixture.address("node-2")], now: network.now)
        network.nodes["node-9"] = late
        network.carry(out, from: "node-9")
        network.run(until: network.now + .seconds(3))
        #expect(network.status(of: "node-5", at: "node-9") == .failed)
        #expect(network.nodes["node-9"]!.certificate(for: "node-5") != nil)
        #expect(network.status(of: "node-9", at: "node-1") == .alive)
    }

    @Test func aTickFarLaterThanAskedIsBlamedOnOurselvesNotOurSubjects() {
        var network = MiniNetwork(names: self.names)
        network.run(until: .zero + .seconds(5))
        let sleeper = "node-2"
        var node = network.nodes[sleeper]!
        // The process was stopped for 3 s; it first runs its timers, then its backlog.
        let out = node.tick(now: network.now + .seconds(3))
        #expect(!out.events.contains { if case .statusChanged(_, _, .suspect, _) = $0 { true } else { false } })
        #expect(node.healthScore > 0)
    }
}

import Testing
import VigilCore
@testable import VigilSim

/// The simulation's event loop and node lives, driven with stand-in engines.
@Suite struct SimulationTests {
    @Test func eventsAtEqualTimesRunInScheduleOrder() {
        let (sim, journal) = probeSimulation(nodes: 2, conditions: LinkConditions(delay: .milliseconds(1)))
        for seq in 1...20 { sim.send(.probe(from: "node-0001", seq: UInt32(seq)), from: 0, to: 1) }
        sim.run(until: .ms(50))
        let received = journal.inputs(of: 1).compactMap { entry -> UInt32? in
            if case .receive(_, let seq) = entry.input { return seq } else { return nil }
        }
        #expect(received == Array(1...20))
    }

    @Test func jitterReordersDatagrams() {
        let (sim, journal) = probeSimulation(
            nodes: 2, conditions: LinkConditions(delay: .milliseconds(1), jitter: .milliseconds(1)))
        for seq in 1...50 { sim.send(.probe(from: "node-0001", seq: UInt32(seq)), from: 0, to: 1) }
        sim.run(until: .ms(50))
        let received = journal.inputs(of: 1).compactMap { entry -> UInt32? in
            if case .receive(_, let seq) = entry.input { return seq } else { return nil }
        }
        #expect(received.count == 50)
        #expect(received != received.sorted(), "seed 1")
    }

    @Test func partitionBlocksTrafficInTheSimulation() {
        let (sim, journal) = probeSimulation(nodes: 3)
        sim.perform(.partition(NetworkPartition(id: 1, nodes: 3, splitOff: [0], oneWay: true)))
        sim.send(.probe(from: "node-0001", seq: 1), from: 0, to: 1)
        sim.send(.probe(from: "node-0002", seq: 2), from: 1, to: 0)
        sim.send(.probe(from: "node-0001", seq: 3), from: 0, to: 2, reliable: true)
        sim.run(until: .ms(10))
        #expect(journal.inputs(of: 1).filter { $0.input == .receive(from: "node-0001", seq: 1) }.isEmpty)
        #expect(journal.inputs(of: 0).contains { $0.input == .receive(from: "node-0002", seq: 2) })
        #expect(journal.inputs(of: 2).filter { $0.input == .receive(from: "node-0001", seq: 3) }.isEmpty)
        #expect(sim.counters.datagramsLost == 1)
        #expect(sim.counters.streamsBlocked == 1)
        sim.perform(.heal(partitionID: 1))
        sim.send(.probe(from: "node-0001", seq: 4), from: 0, to: 1)
        sim.run(until: .ms(20))
        #expect(journal.inputs(of: 1).contains { $0.input == .receive(from: "node-0001", seq: 4) })
    }

    @Test func pausedNodeGetsOneTickThenItsBacklogInArrivalOrderAtResume() {
        let (sim, journal) = probeSimulation(nodes: 2, tickEvery: .milliseconds(100))
        sim.schedule(.pause(node: 1, duration: .seconds(2)), at: .ms(1050))
        sim.run(until: .ms(1500))
        for seq in 1...5 {
            sim.send(.probe(from: "node-0001", seq: UInt32(seq)), from: 0, to: 1)
            sim.run(for: .milliseconds(100))
        }
        #expect(sim.state(of: 1) == .paused)
        sim.run(until: .ms(3300))
        #expect(sim.state(of: 1) == .running)

        let inputs = journal.inputs(of: 1)
        let duringPause = inputs.filter { $0.time > .ms(1050) && $0.time < .ms(3050) }
        #expect(duringPause.isEmpty, "a paused node must process nothing: \(duringPause)")
        let atResume = inputs.filter { $0.time == .ms(3050) }.map(\.input)
        #expect(atResume == [.tick] + (1...5).map { .receive(from: "node-0001", seq: UInt32($0)) })
        // Then its timers run as before.
        #expect(inputs.contains { $0.time == .ms(3150) && $0.input == .tick })
    }

    @Test func crashedNodeDropsEverythingAndGetsNoMoreTicks() {
        let (sim, journal) = probeSimulation(nodes: 2, tickEvery: .milliseconds(100))
        sim.run(until: Instant(nanoseconds: 1_049_500_000))
        // In flight when the node dies: lost with it.
        sim.send(.probe(from: "node-0001", seq: 1), from: 0, to: 1)
        sim.schedule(.crash(node: 1), at: .ms(1050))
        sim.run(until: .ms(1500))
        sim.send(.probe(from: "node-0001", seq: 2), from: 0, to: 1)
        sim.send(.probe(from: "node-0002", seq: 3), from: 1, to: 0)  // a dead node sends nothing
        sim.run(until: .ms(3000))

        #expect(sim.state(of: 1) == .crashed)
        #expect(sim.node(1) == nil)
        #expect(journal.inputs(of: 1).allSatisfy { $0.time <= .ms(1000) })
        #expect(!journal.inputs(of: 0).contains { $0.input == .receive(from: "node-0002", seq: 3) })
        #expect(sim.counters.deliveredToDeadNode == 2)
    }

    @Test func restartIsANewLifeAboveTheLastIncarnation() {
        let (sim, journal) = probeSimulation(nodes: 2)
        sim.schedule(.crash(node: 1), at: .ms(500))
        sim.schedule(.restart(node: 1, seeds: [0]), at: .ms(2000))
        sim.run(until: .ms(2500))
        #expect(sim.state(of: 1) == .running)
        let secondLife = Incarnation.first(life: 2)
        #expect(sim.node(1)?.incarnation == secondLife)
        let inputs = journal.inputs(of: 1)
        #expect(inputs.filter { $0.time > .ms(500) && $0.time < .ms(2000) }.isEmpty)
        #expect(inputs.contains { $0.time == .ms(2000) && $0.input == .start(incarnation: secondLife) })
        #expect(inputs.contains { $0.time == .ms(2100) && $0.input == .tick })
    }

    @Test func trafficCountsSealAndHeaderOverhead() {
        let (sim, _) = probeSimulation(nodes: 2)
        let packet = Packet.probe(from: "node-0001", seq: 1)
        sim.send(packet, from: 0, to: 1)
        #expect(sim.messagesSent[0] == 1)
        #expect(sim.bytesSent[0] == wireBytes(packet) + 48 + 28)
    }
}

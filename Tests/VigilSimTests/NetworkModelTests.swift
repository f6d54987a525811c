import Testing
import VigilCore
@testable import VigilSim

/// The network model on its own: loss, delay, partitions, gray and slow nodes.
@Suite struct NetworkModelTests {
    private func lossRate(
        _ network: NetworkModel, from: Int, to: Int, reliable: Bool = false, trials: Int = 100_000, seed: UInt64 = 7
    ) -> Double {
        var rng = DeterministicRNG(seed: seed)
        var lost = 0
        for _ in 0..<trials where network.fate(from: from, to: to, reliable: reliable, rng: &rng) == nil {
            lost += 1
        }
        return Double(lost) / Double(trials)
    }

    @Test func datagramLossRateIsNearTheConfiguredProbability() {
        for p in [0.01, 0.05, 0.2, 0.5] {
            let network = NetworkModel(nodes: 2, defaults: LinkConditions(loss: p, delay: .milliseconds(1)))
            let rate = self.lossRate(network, from: 0, to: 1)
            #expect(abs(rate - p) < 0.01, "loss \(p): measured \(rate) over 100000 datagrams, seed 7")
        }
    }

    @Test func streamsAreNeverLost() {
        let network = NetworkModel(nodes: 2, defaults: LinkConditions(loss: 0.5, delay: .milliseconds(1)))
        #expect(self.lossRate(network, from: 0, to: 1, reliable: true, trials: 10_000) == 0)
    }

    @Test func delayIsBasePlusJitterWithinBounds() {
        let network = NetworkModel(
            nodes: 2, defaults: LinkConditions(delay: .milliseconds(2), jitter: .milliseconds(3)))
        var rng = DeterministicRNG(seed: 3)
        var seen = Set<Int64>()
        for _ in 0..<10_000 {
            let delay = network.fate(from: 0, to: 1, reliable: false, rng: &rng)!
            #expect(delay >= 2_000_000 && delay <= 5_000_000, "delay \(delay) ns, seed 3")
            seen.insert(delay / 1_000_000)
        }
        #expect(seen == [2, 3, 4], "jitter should spread delays over the whole range, seed 3")
    }

    @Test func symmetricPartitionBlocksBothDirectionsAcrossTheCutOnly() {
        var network = NetworkModel(nodes: 4, defaults: LinkConditions(delay: .milliseconds(1)))
        network.addPartition(NetworkPartition(id: 1, nodes: 4, splitOff: [0, 1]))
        var rng = DeterministicRNG(seed: 1)
        for (from, to, blocked) in [(0, 2, true), (2, 0, true), (1, 3, true), (3, 1, true),
                                    (0, 1, false), (1, 0, false), (2, 3, false), (3, 2, false)] {
            #expect(network.isBlocked(from: from, to: to) == blocked, "\(from)→\(to)")
            #expect((network.fate(from: from, to: to, reliable: false, rng: &rng) == nil) == blocked, "\(from)→\(to)")
            #expect((network.fate(from: from, to: to, reliable: true, rng: &rng) == nil) == blocked, "stream \(from)→\(to)")
        }
        network.healPartition(id: 1)
        #expect(!network.isBlocked(from: 0, to: 2))
        #expect(network.fate(from: 2, to: 0, reliable: false, rng: &rng) != nil)
    }

    @Test func oneWayPartitionBlocksOnlyTheGroupsTrafficToTheRest() {
        var network = NetworkModel(nodes: 3, defaults: LinkConditions(delay: .milliseconds(1)))
        network.addPartition(NetworkPartition(id: 7, nodes: 3, splitOff: [0], oneWay: true))
        #expect(network.isBlocked(from: 0, to: 1))
        #expect(network.isBlocked(from: 0, to: 2))
        #expect(!network.isBlocked(from: 1, to: 0))
        #expect(!network.isBlocked(from: 2, to: 0))
        #expect(!network.isBlocked(from: 1, to: 2))
    }

    @Test func grayNodeLosesItsShareInBothDirections() {
        var network = NetworkModel(nodes: 3, defaults: LinkConditions(delay: .milliseconds(1)))
        network.setGray(0, loss: 0.3)
        #expect(abs(self.lossRate(network, from: 0, to: 1) - 0.3) < 0.01, "outbound, seed 7")
        #expect(abs(self.lossRate(network, from: 1, to: 0) - 0.3) < 0.01, "inbound, seed 7")
        #expect(self.lossRate(network, from: 1, to: 2) == 0)
        // On top of link loss: 1 - 0.9 * 0.7 = 0.37.
        network.defaults.loss = 0.1
        #expect(abs(self.lossRate(network, from: 0, to: 1) - 0.37) < 0.01, "combined, seed 7")
    }

    @Test func linkOverrideAppliesToItsDirectionOnly() {
        var network = NetworkModel(nodes: 2, defaults: LinkConditions(delay: .milliseconds(1)))
        network.setLink(from: 0, to: 1, LinkConditions(loss: 1, delay: .milliseconds(1)))
        #expect(self.lossRate(network, from: 0, to: 1, trials: 1000) == 1)
        #expect(self.lossRate(network, from: 1, to: 0, trials: 1000) == 0)
        network.setLink(from: 0, to: 1, nil)
        #expect(self.lossRate(network, from: 0, to: 1, trials: 1000) == 0)
    }

    @Test func slowNodeAddsItsDelayToWhatItSendsAndReceives() {
        var network = NetworkModel(nodes: 3, defaults: LinkConditions(delay: .milliseconds(1)))
        network.setSlow(0, delay: .milliseconds(50))
        var rng = DeterministicRNG(seed: 1)
        #expect(network.fate(from: 0, to: 1, reliable: false, rng: &rng) == 51_000_000)
        #expect(network.fate(from: 1, to: 0, reliable: true, rng: &rng) == 51_000_000)
        #expect(network.fate(from: 1, to: 2, reliable: false, rng: &rng) == 1_000_000)
        #expect(network.processingDelay(of: 0) == 50_000_000)
    }

    @Test func nearestRankPercentiles() {
        let d = Distribution([5, 1, 4, 2, 3])
        #expect(d.count == 5)
        #expect(d.p50 == 3)
        #expect(d.p99 == 5)
        #expect(d.max == 5)
        let hundred = Distribution((1...100).map(Double.init))
        #expect(hundred.p50 == 50)
        #expect(hundred.p99 == 99)
        #expect(Distribution([]).p50 == nil)
    }

    @Test func standardLayoutNamesAndAddresses() {
        let layout = ClusterLayout.standard(nodes: 300)
        #expect(layout.names[0] == "node-0001")
        #expect(layout.addresses[0].description == "10.0.0.1:7946")
        #expect(layout.addresses[250].description == "10.0.1.1:7946")
        #expect(Set(layout.addresses).count == 300)
    }
}

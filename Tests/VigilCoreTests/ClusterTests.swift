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

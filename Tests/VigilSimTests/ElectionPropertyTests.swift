import Testing
import VigilCore
import VigilSim

/// DESIGN.md invariant 2 over many seeded runs with crashes, pauses, loss and
/// partitions: at most one leader per term. Bounded in virtual time only. (40 seeds
/// keep the debug-build suite quick; the fault mix cycles through every combination
/// within the first 60.)
@Suite struct ElectionPropertyTests {
    static let seeds: [UInt64] = Array(1...40)

    static func scenario(seed: UInt64) -> Scenario {
        var scenario = Scenario()
        scenario.nodes = 9
        scenario.duration = .seconds(45)
        scenario.seed = seed
        scenario.loss = 0.02
        scenario.crashes = Int(seed % 3)
        scenario.restartAfter = seed % 4 == 0 ? .seconds(5) : nil
        scenario.pauses = Int((seed / 3) % 2)
        // Longer than the lease in half the runs: a paused leader must lose it.
        scenario.pauseDuration = seed % 2 == 0 ? .seconds(4) : .milliseconds(800)
        if seed % 2 == 1 {
            scenario.partition = PartitionSpec(
                share: [0.2, 0.34, 0.45][Int(seed % 3)], start: .seconds(10), duration: .seconds(20),
                oneWay: seed % 5 == 0)
        }
        return scenario
    }

    @Test func atMostOneLeaderPerTermAcrossSeededFaults() {
        var violations: [String] = []
        var withoutLeader: [UInt64] = []
        for seed in Self.seeds {
            let report = Simulator.run(Self.scenario(seed: seed))
            violations += report.election.invariantViolations.map { "seed \(seed): \($0)" }
            if report.election.termsWithLeader == 0 { withoutLeader.append(seed) }
        }
        #expect(violations.isEmpty, "\(violations.prefix(10))")
        // Every run had a live majority for most of its time: each elected someone.
        #expect(withoutLeader.isEmpty, "seeds that never elected a leader: \(withoutLeader)")
    }

    /// Nodes joining one after another, without configured voters: every node counts
    /// the voters it knows, and those sets grow at different speeds. Before newcomers
    /// waited a lease to vote, candidates won majorities of different sets in one term
    /// (these seeds, and `vigil simulate --nodes 200` seeds 1-5).
    @Test func aBulkJoinElectsOneLeaderPerTerm() {
        var violations: [String] = []
        for seed in UInt64(1)...4 {
            var scenario = Scenario()
            scenario.nodes = 60
            scenario.joinStagger = .milliseconds(100)
            scenario.duration = .seconds(5)
            scenario.seed = seed
            let report = Simulator.run(scenario)
            violations += report.election.invariantViolations.map { "seed \(seed): \($0)" }
            #expect(report.converged, "seed \(seed)")
            #expect(report.election.termsWithLeader >= 1, "seed \(seed): \(report.election)")
        }
        #expect(violations.isEmpty, "\(violations)")
    }

    @Test func aQuietClusterKeepsOneLeaderInOneTerm() {
        var scenario = Scenario()
        scenario.nodes = 12
        scenario.duration = .seconds(60)
        scenario.loss = 0.05
        scenario.seed = 3
        let report = Simulator.run(scenario)
        #expect(report.election.invariantViolations.isEmpty)
        #expect(report.election.termsWithLeader == 1, "seed 3: \(report.election)")
        #expect(report.election.lastLeader != nil)
    }
}

/// DESIGN.md invariants 1–3 with the leader fencing through simulated BMCs (power off =
/// the node stops) and recovering through a simulated cloud.
@Suite struct HAPropertyTests {
    @Test func noFenceWithoutALeaderNoLiveNodeFencedNoRecoveryBeforeItsFence() {
        var violations: [String] = []
        var liveFenced: [String] = []
        var unrecovered: [String] = []
        for seed in UInt64(1)...20 {
            var scenario = ElectionPropertyTests.scenario(seed: seed)
            scenario.restartAfter = nil
            // Pauses within the preset's tolerance: a fenced paused node is a false fence.
            // (A pause beyond it is a failure, and fencing it is right: issue 5's pause-long.)
            scenario.pauseDuration = .milliseconds(800)
            scenario.configuration.ha.enabled = true
            let report = Simulator.run(scenario)
            violations += (report.election.invariantViolations + report.ha.invariantViolations).map { "seed \(seed): \($0)" }
            liveFenced += report.ha.fencesOfLiveNodes.map { "seed \(seed): \($0)" }
            #expect(report.ha.recoveriesBeforeFence == 0, "seed \(seed)")
            // Without a partition every crash (at most two of nine: below the brake) is
            // fenced and recovered. With one, the majority may see a third of the cluster
            // fail at once, and the brake rightly holds for an operator.
            guard scenario.partition == nil else { continue }
            for name in report.faults.crashed where !report.ha.recoveredNodes.contains(name) {
                unrecovered.append("seed \(seed): \(name)")
            }
        }
        #expect(violations.isEmpty, "\(violations.prefix(10))")
        #expect(liveFenced.isEmpty, "live nodes fenced: \(liveFenced.prefix(10))")
        #expect(unrecovered.isEmpty, "crashed but never recovered: \(unrecovered.prefix(10))")
    }
}

import Testing
import VigilCore
import VigilSim

/// Fixed-seed HA runs of `--kill-leader` and `--partition SHARE --partition-for D`, and
/// the property runner itself. Bounded in virtual time only.
@Suite struct HAScenarioTests {
    static func killLeaderScenario(seed: UInt64) -> Scenario {
        var scenario = Scenario()
        scenario.nodes = 9
        scenario.duration = .seconds(90)
        scenario.seed = seed
        scenario.loss = 0.01
        scenario.crashes = 1
        scenario.killLeader = true
        scenario.configuration.ha.enabled = true
        return scenario
    }

    @Test func aLeaderKilledMidFenceIsReplacedAndEachFenceCompletesOnce() {
        let seed: UInt64 = 7
        let report = Simulator.run(Self.killLeaderScenario(seed: seed))
        let killed = try! #require(report.faults.killedLeader, "seed \(seed): no fence, so no leader killed")
        #expect(report.haViolations.isEmpty, "seed \(seed): \(report.ha.invariantViolations)")
        // The crashed node and the killed leader: both down to the end, both owed and delivered.
        #expect(report.ha.livesChecked == 2, "seed \(seed): \(report.ha)")
        #expect(report.ha.fenceCompletions == 2, "seed \(seed): \(report.ha)")
        #expect(report.ha.recoveriesAccepted == 2, "seed \(seed): \(report.ha)")
        #expect(report.ha.recoveredNodes.sorted() == (report.faults.crashed + [killed]).sorted(), "seed \(seed)")
        // The fence the killed leader ordered was ordered again by its successor.
        #expect(report.ha.fences >= 3, "seed \(seed): \(report.ha)")
        #expect(report.election.lastLeader != killed, "seed \(seed)")
    }

    @Test func aKilledLeaderThatRestartsNeverHearsItsOldLifesFence() {
        var scenario = Self.killLeaderScenario(seed: 7)
        scenario.duration = .seconds(120)
        scenario.restartAfter = .seconds(60)
        let report = Simulator.run(scenario)
        #expect(report.faults.killedLeader != nil, "seed 7")
        #expect(report.haViolations.isEmpty, "seed 7: \(report.ha.invariantViolations)")
        #expect(report.ha.fenceCompletions == 2, "seed 7: \(report.ha)")
        #expect(report.ha.recoveriesAccepted == 2, "seed 7: \(report.ha)")
    }

    @Test func withoutTheKillTheSameRunHasOneFenceAndNoKilledLeader() {
        var scenario = Self.killLeaderScenario(seed: 7)
        scenario.killLeader = false
        let report = Simulator.run(scenario)
        #expect(report.faults.killedLeader == nil)
        #expect(report.haViolations.isEmpty, "seed 7: \(report.ha.invariantViolations)")
        #expect(report.ha.fenceCompletions == 1, "seed 7: \(report.ha)")
        #expect(report.ha.fences == 1, "seed 7: \(report.ha)")
    }

    static func partitionScenario(seed: UInt64) -> Scenario {
        var scenario = Scenario()
        scenario.nodes = 10
        scenario.duration = .seconds(90)
        scenario.seed = seed
        scenario.crashes = 1
        scenario.partition = PartitionSpec(share: 0.3, start: nil, duration: .seconds(20))
        scenario.configuration.ha.enabled = true
        return scenario
    }

    @Test func aPartitionForADurationStartsAtASeededTimeAndTheMinorityNeverFences() {
        var starts: Set<Double> = []
        for seed: UInt64 in [3, 4] {
            let report = Simulator.run(Self.partitionScenario(seed: seed))
            let start = try! #require(report.faults.partitionAtMs, "seed \(seed)")
            starts.insert(start)
            #expect(start >= 0 && start <= 70_000, "seed \(seed): the cut heals inside the scenario")
            #expect(report.faults.partitioned.count == 3, "seed \(seed)")
            #expect(report.scenario.partition == "0.3 for 20s")
            #expect(report.haViolations.isEmpty, "seed \(seed): \(report.ha.invariantViolations)")
            // Three of ten cut off for 20 s: the majority fences them (more than the
            // brake's share, so it holds them for an operator) and never the rest.
            #expect(report.ha.fencesOfLiveNodes.isEmpty, "seed \(seed)")
        }
        #expect(starts.count == 2, "the start follows the seed")
        // The same seed, the same start.
        #expect(
            Simulator.run(Self.partitionScenario(seed: 3)).faults.partitionAtMs
                == Simulator.run(Self.partitionScenario(seed: 3)).faults.partitionAtMs)
    }

    @Test func thePropertyRunnerPassesGoodSeedsAndNamesTheSeedsThatFail() {
        let seeds: [UInt64] = Array(1...6)
        let good = HAProperties.run(seeds: seeds, workers: 2) { HAProperties.scenario(seed: $0) }
        #expect(good.runs == 6)
        #expect(good.failed.isEmpty, "\(good.failed.map { ($0.seed, $0.violations) })")
        #expect(good.fences > 0)
        // A lease nobody outlives: the leader killed mid-fence is never replaced, so its
        // fence never completes. The runner must report those seeds, by kind.
        let strict = HAProperties.run(seeds: [7, 8], workers: 2) { seed in
            var scenario = Self.killLeaderScenario(seed: seed)
            scenario.configuration.election.leaseDuration = .seconds(3600)
            return scenario
        }
        #expect(strict.failed.map(\.seed) == [7, 8], "\(strict.violationsByKind)")
        #expect((strict.violationsByKind[.fenceNotOnce] ?? 0) >= 2)
        #expect(strict.failed.map(\.seed) == strict.failed.map(\.seed).sorted())
    }
}

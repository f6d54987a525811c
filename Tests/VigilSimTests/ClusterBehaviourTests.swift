import Testing
import VigilCore
import VigilSim

/// Cluster behaviour of the real engine (`VigilCore.Instance`) on the simulator.
///
/// These need a working engine: against the stub `Instance` (which sends nothing)
/// the cluster never converges and they fail. That is expected until the engine lands.
@Suite struct ClusterBehaviourTests {
    /// DESIGN.md invariant 4: every crashed node is failed by every live member within
    /// the detection bound.
    @Test(arguments: 1...5)
    func everyCrashIsFailedEverywhereWithinTenSeconds(seed: UInt64) {
        var scenario = Scenario()
        scenario.nodes = 20
        scenario.loss = 0.05
        scenario.crashes = 3
        scenario.duration = .seconds(60)
        scenario.seed = seed
        let report = Simulator.run(scenario)
        #expect(report.converged == true, "seed \(seed): cluster did not converge")
        #expect(report.detection.crashes == 3, "seed \(seed)")
        #expect(report.detection.undetected == 0, "seed \(seed): \(report.detection)")
        #expect((report.detection.failedEverywhereMs.max ?? .infinity) <= 10_000, "seed \(seed): \(report.detection)")
        #expect(report.falseFailures == 0, "seed \(seed): \(report.falseFailedMembers)")
        // Every certificate names a node that really was down.
        for certified in report.certifiedFailures {
            #expect(certified.subjectState == .crashed, "seed \(seed): \(certified.certificate.subject) certified while \(String(describing: certified.subjectState))")
        }
    }

    /// DESIGN.md invariant 5: no live node is declared failed under the stated budget.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func noFalseFailureUnderLossAndPauses(seed: UInt64) {
        var scenario = Scenario()
        scenario.nodes = 20
        scenario.loss = 0.10
        scenario.pauses = 2
        scenario.pauseDuration = .seconds(1)
        scenario.duration = .seconds(300)
        scenario.seed = seed
        let report = Simulator.run(scenario)
        #expect(report.converged == true, "seed \(seed): cluster did not converge")
        #expect(report.falseFailures == 0, "seed \(seed): \(report.falseFailedMembers)")
        #expect(report.certifications == 0, "seed \(seed): certificates against live nodes")
    }

    /// Issue 6: no false failure at 20% loss on every link. Loss everywhere makes
    /// every subject's probe rounds fail alike, so neither the flap rule nor the
    /// chronic-failure rule (rounds of one subject failing far more often than of the
    /// others) may take a live member for a gray one.
    @Test(arguments: [1, 2] as [UInt64])
    func noFalseFailureAtTwentyPercentLossEverywhere(seed: UInt64) {
        var scenario = Scenario()
        scenario.nodes = 20
        scenario.loss = 0.20
        scenario.duration = .seconds(300)
        scenario.seed = seed
        let report = Simulator.run(scenario)
        #expect(report.converged == true, "seed \(seed): cluster did not converge")
        #expect(report.falseFailures == 0, "seed \(seed): \(report.falseFailedMembers)")
        #expect(report.certifications == 0, "seed \(seed): certificates against live nodes")
    }

    @Test func sameSeedGivesEqualReports() throws {
        var scenario = Scenario()
        scenario.nodes = 20
        scenario.loss = 0.05
        scenario.crashes = 1
        scenario.pauses = 1
        scenario.duration = .seconds(60)
        scenario.seed = 42
        let first = Simulator.run(scenario)
        let second = Simulator.run(scenario)
        #expect(first.converged == true, "seed 42: cluster did not converge")
        #expect(try first.deterministicJSON() == second.deterministicJSON(), "seed 42")
    }

    /// Gray failure (issue 2): a node losing 80% of its packets both ways ends failed
    /// or alive and stays there. Failed is final for a life, so no member certifies
    /// the gray node's failure twice, and nobody else is harmed.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func grayNodeEndsStablyWithoutOscillating(seed: UInt64) {
        var scenario = Scenario()
        scenario.nodes = 30
        scenario.gray = 1
        scenario.grayLoss = 0.8
        scenario.duration = .seconds(180)
        scenario.seed = seed
        let report = Simulator.run(scenario)
        #expect(report.falseFailures == 0, "seed \(seed): \(report.falseFailedMembers)")
        var seen = Set<String>()
        for certified in report.certifiedFailures {
            let key = "\(certified.observer)/\(certified.certificate.subject)"
            #expect(seen.insert(key).inserted, "seed \(seed): \(key) certified the same failure twice")
        }
    }

    /// Issue 2, figure (a): with the default preset, N=100 and 5% loss, a crash is
    /// failed by every live member within 3 s of virtual time.
    @Test(arguments: [1, 2] as [UInt64])
    func crashIsFailedEverywhereWithinThreeSecondsAtOneHundredNodes(seed: UInt64) {
        var scenario = Scenario()
        scenario.nodes = 100
        scenario.loss = 0.05
        scenario.crashes = 2
        scenario.duration = .seconds(45)
        scenario.seed = seed
        let report = Simulator.run(scenario)
        #expect(report.converged == true, "seed \(seed)")
        #expect(report.detection.undetected == 0, "seed \(seed): \(report.detection)")
        #expect((report.detection.failedEverywhereMs.max ?? .infinity) <= 3_000, "seed \(seed): \(report.detection)")
        #expect(report.falseFailures == 0, "seed \(seed): \(report.falseFailedMembers)")
    }
}

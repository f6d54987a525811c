import Testing
import VigilCore
@testable import VigilSim

/// Whole scenarios on the naive `ToyDetector`: checks the runner and the report's
/// bookkeeping, independent of the real engine.
@Suite struct ScenarioTests {
    private func toyScenario(seed: UInt64) -> Scenario {
        var scenario = Scenario()
        scenario.nodes = 16
        scenario.duration = .seconds(60)
        scenario.loss = 0.05
        scenario.seed = seed
        return scenario
    }

    @Test func sameSeedGivesByteIdenticalReports() throws {
        var scenario = self.toyScenario(seed: 11)
        scenario.crashes = 2
        scenario.pauses = 1
        scenario.pauseDuration = .seconds(1)
        scenario.gray = 1
        scenario.grayLoss = 0.5
        scenario.partition = PartitionSpec(share: 0.25, start: .seconds(5), duration: .seconds(5))
        let first = Simulator.run(scenario, makeNode: ToyDetector.init)
        let second = Simulator.run(scenario, makeNode: ToyDetector.init)
        #expect(try first.deterministicJSON() == second.deterministicJSON(), "seed 11")
        #expect(first.traffic.datagramsSent > 0)

        scenario.seed = 12
        let other = Simulator.run(scenario, makeNode: ToyDetector.init)
        #expect(try first.deterministicJSON() != other.deterministicJSON(), "seeds 11 and 12")
    }

    @Test func toyClusterConvergesAndEveryCrashIsTimed() {
        for seed: UInt64 in 1...3 {
            var scenario = self.toyScenario(seed: seed)
            scenario.crashes = 3
            let report = Simulator.run(scenario, makeNode: ToyDetector.init)
            #expect(report.converged, "seed \(seed)")
            #expect(report.detection.crashes == 3, "seed \(seed)")
            #expect(report.detection.undetected == 0, "seed \(seed)")
            // The toy suspects a peer after 3 s and fails it after 6 s of silence, checked
            // every 100 ms; the silence began at the last contact, up to ~1 s before the crash.
            let max = report.detection.failedEverywhereMs.max ?? 0
            #expect(max > 5000 && max < 6200, "seed \(seed): \(report.detection.failedEverywhereMs)")
            let suspect = report.detection.firstSuspectMs.max ?? 0
            #expect(suspect > 1500 && suspect < 3200, "seed \(seed): \(report.detection.firstSuspectMs)")
            #expect(report.falseFailures == 0, "seed \(seed): \(report.falseFailedMembers)")
            #expect(report.crashRecords.count == 3, "seed \(seed)")
            #expect(report.faults.crashed.count == 3, "seed \(seed)")
        }
    }

    @Test func trafficIsMeasuredOverTheScenarioPhase() {
        let report = Simulator.run(self.toyScenario(seed: 1), makeNode: ToyDetector.init)
        // 3 pings + about 3 acks per 100 ms per node: ~60 messages/s.
        let rate = report.traffic.messagesSentPerNodePerS.mean
        #expect(rate > 50 && rate < 62, "seed 1: \(rate) msg/s")
        #expect(report.traffic.bytesSentPerNodePerS.mean > rate * 76, "seed 1")
        #expect(report.scenarioSeconds == 60)
    }

    @Test func pausedNodeMarkedFailedIsAFalseFailure() {
        var scenario = self.toyScenario(seed: 4)
        scenario.loss = 0
        scenario.pauses = 1
        scenario.pauseDuration = .seconds(8)  // longer than the toy's 6 s
        let report = Simulator.run(scenario, makeNode: ToyDetector.init)
        #expect(report.converged, "seed 4")
        #expect(report.falseFailedMembers.contains(report.faults.paused[0]), "seed 4: \(report.falseFailedMembers)")
        #expect(report.falseSuspicions > 0, "seed 4")
    }

    @Test func failuresAcrossAPartitionAreCountedApart() {
        var scenario = self.toyScenario(seed: 5)
        scenario.loss = 0
        scenario.partition = PartitionSpec(share: 0.25, start: .seconds(5), duration: .seconds(10))
        let report = Simulator.run(scenario, makeNode: ToyDetector.init)
        #expect(report.converged, "seed 5")
        #expect(report.faults.partitioned.count == 4, "seed 5")
        #expect(report.partitionedFailed == 16, "seed 5: both sides fail each other")
        #expect(report.falseFailures == 0, "seed 5: \(report.falseFailedMembers)")
    }

    @Test func grayNodeFlapsAreCounted() {
        var scenario = self.toyScenario(seed: 6)
        scenario.loss = 0
        scenario.gray = 1
        scenario.grayLoss = 0.97
        let report = Simulator.run(scenario, makeNode: ToyDetector.init)
        #expect(report.converged, "seed 6")
        #expect(report.grayFlaps.total > 0, "seed 6: \(report.grayFlaps)")
        #expect(report.grayFlaps.perNode.keys.sorted() == report.faults.gray, "seed 6")
    }

    @Test func restartedNodeEndsItsCrashRecord() {
        var scenario = self.toyScenario(seed: 7)
        scenario.crashes = 1
        scenario.restartAfter = .seconds(2)  // before the toy can fail it
        let report = Simulator.run(scenario, makeNode: ToyDetector.init)
        let record = report.crashRecords[0]
        #expect(record.restartedAt != nil, "seed 7")
        #expect(report.detection.undetected == 1, "seed 7")
        #expect(report.falseFailures == 0, "seed 7: \(report.falseFailedMembers)")
    }
}

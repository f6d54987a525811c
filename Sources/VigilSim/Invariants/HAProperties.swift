import Dispatch
import Synchronization
import VigilCore

/// The HA invariants over many seeds (`vigil simulate --ha --seeds 1-1000`): each seed
/// picks its own small cluster and mix of faults (`scenario(seed:)`), runs it, and the
/// runs' `HAInvariants` results add up to one summary.
public enum HAProperties {
    /// Seed `seed`'s scenario on `preset`: 5–15 nodes, 120 s after convergence, up to
    /// 2 % loss; in about half the runs the leader is killed during its first fence; up
    /// to three crashes, never more nodes down than a majority can spare; a quarter of
    /// the crashed nodes restart after 20–80 s; up to two nodes pausing within the
    /// preset's tolerance; half the runs with a partition of 5–40 s at a seeded time
    /// (a third of them one-way, a fifth cutting off a majority). Everything in it is a
    /// `vigil simulate` flag, so `replayArguments` reproduces it.
    public static func scenario(seed: UInt64, preset: String = "lan") -> Scenario {
        var scenario = Scenario(preset: preset) ?? Scenario()
        // Apart from the streams the run itself forks from the seed.
        var rng = DeterministicRNG(seed: seed ^ 0x6861_7072_6f70)  // "haprop"
        scenario.seed = seed
        scenario.nodes = 5 + rng.below(11)
        scenario.duration = .seconds(120)
        scenario.loss = [0, 0.01, 0.02][rng.below(3)]
        scenario.configuration.ha.enabled = true
        scenario.killLeader = rng.chance(0.5)
        let spare = (scenario.nodes - 1) / 2 - (scenario.killLeader ? 1 : 0)
        let most = min(3, spare)
        scenario.crashes = scenario.killLeader ? 1 + rng.below(most) : rng.below(most + 1)
        if rng.chance(0.25) { scenario.restartAfter = .seconds(20 + rng.below(61)) }
        scenario.pauses = min(rng.below(3), scenario.nodes - scenario.crashes)
        let tolerance = scenario.configuration.pauseTolerance.milliseconds
        scenario.pauseDuration = .milliseconds(Int(tolerance * (0.2 + 0.55 * rng.nextUnit())))
        if rng.chance(0.5) {
            let majority = rng.chance(0.2)
            let share = majority ? 0.55 + 0.15 * rng.nextUnit() : 0.1 + 0.35 * rng.nextUnit()
            scenario.partition = PartitionSpec(
                share: (share * 100).rounded() / 100, start: nil, duration: .seconds(5 + rng.below(36)),
                oneWay: rng.chance(1.0 / 3))
        }
        return scenario
    }

    /// What the runs added up to.
    public struct Summary: Sendable {
        public var runs = 0
        public var fences = 0
        public var fenceCompletions = 0
        public var duplicateFences = 0
        public var recoveriesAccepted = 0
        public var duplicateRecoveries = 0
        public var leadersKilled = 0
        public var livesChecked = 0
        public var heldByBrake = 0
        public var violationsByKind: [HAInvariants.Kind: Int] = [:]
        /// Seeds with a violation, ascending, each with its first few violations.
        public var failed: [(seed: UInt64, scenario: Scenario, violations: [String])] = []

        mutating func add(_ report: SimulationReport, scenario: Scenario) {
            self.runs += 1
            self.fences += report.ha.fences
            self.fenceCompletions += report.ha.fenceCompletions
            self.duplicateFences += report.ha.duplicateFences
            self.recoveriesAccepted += report.ha.recoveriesAccepted
            self.duplicateRecoveries += report.ha.duplicateRecoveries
            self.leadersKilled += report.faults.killedLeader == nil ? 0 : 1
            self.livesChecked += report.ha.livesChecked
            self.heldByBrake += report.ha.heldByBrake
            for violation in report.haViolations { self.violationsByKind[violation.kind, default: 0] += 1 }
            if !report.haViolations.isEmpty {
                self.failed.append((report.seed, scenario, report.haViolations.prefix(3).map(\.description)))
            }
        }
    }

    /// Runs `scenario(seed)` for every seed on `workers` threads.
    public static func run(
        seeds: [UInt64], workers: Int, scenario: @escaping @Sendable (UInt64) -> Scenario
    ) -> Summary {
        struct Shared {
            var next = 0
            var summary = Summary()
        }
        let shared = Mutex(Shared())
        DispatchQueue.concurrentPerform(iterations: max(1, min(workers, seeds.count))) { _ in
            while true {
                let index: Int? = shared.withLock { state in
                    guard state.next < seeds.count else { return nil }
                    state.next += 1
                    return state.next - 1
                }
                guard let index else { return }
                let s = scenario(seeds[index])
                let report = Simulator.run(s)
                shared.withLock { $0.summary.add(report, scenario: s) }
            }
        }
        var summary = shared.withLock { $0.summary }
        summary.failed.sort { $0.seed < $1.seed }
        return summary
    }
}

import VigilCore

/// Runs a `Scenario` on a simulated cluster and measures it.
///
/// Where everything random comes from: the scenario's seed makes one generator, forked
/// for the simulation (network, node lives, identities), for the join schedule, for
/// picking faulty nodes and fault times, and for picking a partition's side. Adding a
/// fault of one kind therefore does not move the network's loss draws.
public enum Simulator {
    /// Failures across a partition still count as partition failures this long after
    /// it heals (at least 30 s, or two sync intervals): news of them is still spreading.
    public static func partitionGrace(for configuration: Configuration) -> Duration {
        max(.seconds(30), configuration.gossip.syncInterval * 2)
    }

    /// Runs `scenario` on real `VigilCore.Instance` engines. The scenario must be valid
    /// (`scenario.problems` empty).
    public static func run(_ scenario: Scenario) -> SimulationReport {
        let configuration = scenario.configuration
        return self.run(scenario) { spawn in
            Instance(
                name: spawn.name, address: spawn.address, identity: spawn.identity,
                incarnation: spawn.incarnation, configuration: configuration, rng: spawn.rng,
                election: spawn.election)
        }
    }

    /// Runs `scenario` on engines made by `makeNode` (tests use stand-ins).
    public static func run<Node: SimulatedNode>(
        _ scenario: Scenario, makeNode: @escaping (NodeSpawn) -> Node
    ) -> SimulationReport {
        precondition(scenario.problems.isEmpty, "invalid scenario: \(scenario.problems.joined(separator: "; "))")
        let wallStart = ContinuousClock.now
        var run = ScenarioRun(scenario, makeNode: makeNode)
        run.warmUp()
        run.scheduleFaults()
        run.finish()
        let wall = ContinuousClock.now - wallStart
        return run.report(wallSeconds: Double(wall.nanoseconds) / 1e9)
    }
}

/// One run of a scenario: the simulation plus what was decided about it.
struct ScenarioRun<Node: SimulatedNode> {
    let scenario: Scenario
    let simulation: Simulation<Node>
    private var scheduleRNG: DeterministicRNG
    private var faultRNG: DeterministicRNG
    private var partitionRNG: DeterministicRNG

    private(set) var convergedAt: Instant?
    private(set) var scenarioStart: Instant = .zero
    private(set) var crashed: [Int] = []
    private(set) var paused: [Int] = []
    private(set) var gray: [Int] = []
    private(set) var slow: [Int] = []
    private(set) var partitioned: [Int] = []
    private(set) var partitionAt: Duration?

    init(_ scenario: Scenario, makeNode: @escaping (NodeSpawn) -> Node) {
        self.scenario = scenario
        var root = DeterministicRNG(seed: scenario.seed)
        let simulationRNG = root.fork()
        self.scheduleRNG = root.fork()
        self.faultRNG = root.fork()
        self.partitionRNG = root.fork()
        let layout = ClusterLayout.standard(nodes: scenario.nodes)
        let network = NetworkModel(
            nodes: scenario.nodes,
            defaults: LinkConditions(loss: scenario.loss, delay: scenario.delay, jitter: scenario.jitter))
        self.simulation = Simulation(
            layout: layout, network: network, rng: simulationRNG,
            accounting: WireAccounting(
                sealOverhead: scenario.configuration.gossip.sealOverhead, roundTrip: scenario.wireRoundTrip),
            makeNode: makeNode)
        self.simulation.tracesHA = scenario.configuration.ha.enabled
        self.simulation.pauseTolerance = scenario.configuration.pauseTolerance
        self.simulation.killLeaderAtFirstFence = scenario.killLeader
        self.simulation.killedLeaderRestartAfter = scenario.restartAfter
    }

    /// Starts the nodes one after another and runs until every node sees every other
    /// alive, checking every 50 ms of virtual time, or until the warm-up limit.
    mutating func warmUp() {
        let stagger = self.scenario.effectiveJoinStagger.nanoseconds
        var lastStart: Int64 = 0
        for node in 0..<self.scenario.nodes {
            let at = node == 0 ? 0 : Int64(node) * stagger + self.scheduleRNG.nanoseconds(upTo: stagger / 2)
            lastStart = at
            let seeds = Array(0..<min(node, self.scenario.joinSeeds))
            self.simulation.schedule(.start(node: node, seeds: seeds), at: Instant(nanoseconds: at))
        }
        let limit = Instant(nanoseconds: lastStart) + (self.scenario.warmupLimit ?? .seconds(60))
        while self.simulation.now < limit {
            self.simulation.run(until: min(self.simulation.now + .milliseconds(50), limit))
            if self.simulation.recorder.isConverged {
                self.convergedAt = self.simulation.now
                break
            }
        }
        self.scenarioStart = self.simulation.now
        self.simulation.recorder.scenarioStart = self.scenarioStart.nanoseconds
        self.simulation.resetTraffic()
    }

    /// Picks the faulty nodes (each gets at most one fault) and schedules their faults
    /// inside the scenario phase.
    mutating func scheduleFaults() {
        let s = self.scenario
        let t0 = self.scenarioStart
        let duration = s.duration.nanoseconds
        let end = t0 + s.duration
        let order = self.faultRNG.permutation(of: s.nodes)
        var cursor = 0
        func take(_ k: Int) -> [Int] {
            let picked = Array(order[cursor..<cursor + k])
            cursor += k
            return picked
        }
        self.crashed = take(s.crashes)
        self.paused = take(s.pauses)
        self.gray = take(s.gray)
        self.slow = take(s.slow)

        // Crashes leave a tail of min(30 s, duration / 2) for detection.
        let crashWindow = duration - min(30_000_000_000, duration / 2)
        let crashedSet = Set(self.crashed)
        let rejoinSeeds = Array((0..<s.nodes).filter { !crashedSet.contains($0) }.prefix(s.joinSeeds))
        for node in self.crashed {
            let at = t0 + .nanoseconds(self.faultRNG.nanoseconds(upTo: crashWindow))
            self.simulation.schedule(.crash(node: node), at: at)
            if let after = s.restartAfter, at + after < end {
                self.simulation.schedule(.restart(node: node, seeds: rejoinSeeds), at: at + after)
            }
        }

        // One pause per node per virtual minute, at a random moment of that minute.
        let minute: Int64 = 60_000_000_000
        let pauseLength = s.pauseDuration.nanoseconds
        for node in self.paused {
            var windowStart: Int64 = 0
            while windowStart < duration {
                let room = min(minute, duration - windowStart) - pauseLength
                if room >= 0 {
                    let at = t0 + .nanoseconds(windowStart + self.faultRNG.nanoseconds(upTo: room))
                    self.simulation.schedule(.pause(node: node, duration: s.pauseDuration), at: at)
                }
                windowStart += minute
            }
        }

        for node in self.gray {
            self.simulation.schedule(.gray(node: node, loss: s.grayLoss), at: t0)
        }
        for node in self.slow {
            self.simulation.schedule(.slow(node: node, delay: s.slowDelay), at: t0)
        }

        if let spec = s.partition {
            let size = min(max(Int((spec.share * Double(s.nodes)).rounded()), 1), max(s.nodes - 1, 1))
            self.partitioned = Array(self.partitionRNG.permutation(of: s.nodes).prefix(size)).sorted()
            let cut = NetworkPartition(id: 1, nodes: s.nodes, splitOff: self.partitioned, oneWay: spec.oneWay)
            // A seeded start lets the cut heal inside the scenario phase when it fits.
            let start =
                spec.start
                ?? .nanoseconds(self.partitionRNG.nanoseconds(upTo: max(duration - spec.duration.nanoseconds, 0)))
            self.partitionAt = start
            let from = t0 + start
            let heal = from + spec.duration
            self.simulation.schedule(.partition(cut), at: from)
            self.simulation.schedule(.heal(partitionID: 1), at: heal)
            let grace = Simulator.partitionGrace(for: s.configuration)
            self.simulation.recorder.notePartition(
                group: cut.group, from: from.nanoseconds, until: (heal + grace).nanoseconds)
            self.simulation.recorder.haTrace.partitions.append(
                HATrace.Partition(
                    group: cut.group, oneWay: spec.oneWay, from: from, healedAt: heal, graceUntil: heal + grace))
        }
    }

    /// Runs the scenario phase to its end.
    func finish() {
        self.simulation.run(until: self.scenarioStart + self.scenario.duration)
        self.simulation.recorder.haTrace.end = self.simulation.now
    }

    func report(wallSeconds: Double) -> SimulationReport {
        let s = self.scenario
        let sim = self.simulation
        let recorder = sim.recorder
        let names = sim.layout.names
        let seconds = Double(s.duration.nanoseconds) / 1e9

        let records = recorder.crashes
        let detected = records.compactMap { $0.failedEverywhereAfter?.milliseconds }
        let suspected = records.compactMap { $0.firstSuspectAfter?.milliseconds }

        var flapsPerNode: [String: Int] = [:]
        for node in self.gray { flapsPerNode[names[node]] = recorder.grayFlaps[node] }
        let flapCounts = self.gray.map { recorder.grayFlaps[$0] }

        let byteRates = sim.bytesSent.map { Double($0) / seconds }
        let messageRates = sim.messagesSent.map { Double($0) / seconds }

        func sortedNames(_ nodes: some Sequence<Int>) -> [String] {
            nodes.sorted().map { names[$0] }
        }
        let checked = HAInvariants.check(
            recorder.haTrace, settle: s.haSettle, lease: s.configuration.election.leaseDuration)
        let haViolations = s.configuration.ha.enabled ? checked.violations : []

        return SimulationReport(
            seed: s.seed,
            nodes: s.nodes,
            preset: s.preset,
            virtualSeconds: Double(sim.now.nanoseconds) / 1e9,
            scenarioSeconds: seconds,
            converged: self.convergedAt != nil,
            convergenceMs: self.convergedAt.map { Double($0.nanoseconds) / 1e6 },
            scenario: SimulationReport.ScenarioEcho(
                loss: s.loss, delayMs: s.delay.milliseconds, jitterMs: s.jitter.milliseconds,
                crashes: s.crashes, restartAfterMs: s.restartAfter?.milliseconds,
                pauses: s.pauses, pauseForMs: s.pauseDuration.milliseconds,
                gray: s.gray, grayLoss: s.grayLoss, slow: s.slow, slowDelayMs: s.slowDelay.milliseconds,
                partition: s.partition?.description,
                killLeader: s.killLeader,
                wireSizes: "encoded",
                wireRoundTrip: s.wireRoundTrip,
                pauseToleranceMs: s.configuration.pauseTolerance.milliseconds),
            faults: SimulationReport.Faults(
                crashed: sortedNames(self.crashed), paused: sortedNames(self.paused),
                gray: sortedNames(self.gray), slow: sortedNames(self.slow),
                partitioned: sortedNames(self.partitioned),
                partitionAtMs: self.partitionAt?.milliseconds,
                killedLeader: sim.killedLeader.map { names[$0.node] },
                leaderKilledAtMs: sim.killedLeader.map { ($0.at - self.scenarioStart).milliseconds }),
            detection: SimulationReport.Detection(
                crashes: records.count,
                undetected: records.count - detected.count,
                failedEverywhereMs: Distribution(detected),
                firstSuspectMs: Distribution(suspected)),
            falseFailures: recorder.falseFailures.count,
            falseFailedMembers: sortedNames(recorder.falseFailures.keys),
            partitionedFailed: recorder.partitionedFailures.count,
            falseSuspicions: recorder.falseSuspicions,
            grayFailed: recorder.grayFailures.count,
            grayFlaps: SimulationReport.Flaps(
                total: flapCounts.reduce(0, +), maxPerNode: flapCounts.max() ?? 0, perNode: flapsPerNode),
            traffic: SimulationReport.Traffic(
                bytesSentPerNodePerS: MeanMax(byteRates),
                messagesSentPerNodePerS: MeanMax(messageRates),
                datagramsSent: sim.counters.datagramsSent,
                datagramsLost: sim.counters.datagramsLost,
                streamsSent: sim.counters.streamsSent,
                streamsBlocked: sim.counters.streamsBlocked,
                datagramOverheadBytes: sim.accounting.sealOverhead + WireAccounting.udpHeaderBytes),
            certifications: recorder.certifiedFailures.count,
            election: self.electionSummary(recorder, twoLeaders: checked.violations.filter { $0.kind == .twoLeadersInTerm }),
            ha: SimulationReport.HA(
                enabled: s.configuration.ha.enabled, fences: checked.fencesOrdered,
                fencedNodes: sortedNames(checked.poweredOff), fencesOfLiveNodes: sortedNames(checked.fencesOfLiveNodes),
                fenceCompletions: checked.fenceCompletions, duplicateFences: checked.duplicateFences,
                recoveries: checked.recoveriesOrdered, recoveredNodes: sortedNames(checked.recoveredNodes),
                recoveriesAccepted: checked.recoveriesAccepted, duplicateRecoveries: checked.duplicateRecoveries,
                recoveriesBeforeFence: checked.recoveriesBeforeFence,
                livesChecked: checked.livesChecked, heldByBrake: checked.heldByBrake,
                invariantViolations: haViolations.map(\.description)),
            throughput: SimulationReport.Throughput(
                messages: sim.messagesTotal, events: sim.eventsTotal, wallSeconds: wallSeconds),
            wallSeconds: wallSeconds,
            haViolations: haViolations,
            certifiedFailures: recorder.certifiedFailures,
            crashRecords: records)
    }

    private func electionSummary(
        _ recorder: Recorder, twoLeaders: [HAInvariants.Violation]
    ) -> SimulationReport.Election {
        let terms = recorder.leadersByTerm.keys.sorted()
        let violations = twoLeaders.map(\.detail)
        let last = terms.last
        return SimulationReport.Election(
            termsWithLeader: terms.count, lastTerm: last,
            lastLeader: last.flatMap { recorder.leadersByTerm[$0]?.min() }.map { recorder.names[$0] },
            leaderChanges: recorder.leaderChanges,
            firstLeaderMs: recorder.firstLeaderAt.map { Double($0.nanoseconds) / 1e6 },
            invariantViolations: violations)
    }
}

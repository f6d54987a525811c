import ArgumentParser
import Foundation
import VigilAgent
import VigilCore
import VigilSim

/// `vigil simulate`: runs a scenario on the deterministic cluster simulator.
struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a seeded scenario on a simulated cluster and report detection and traffic.",
        discussion: """
            Every simulated node runs the real protocol engine on a virtual clock over a \
            simulated lossy network; the same seed gives the same report (except \
            wall_seconds). The cluster first warms up until every node sees every other \
            alive, then the scenario phase runs for --duration with the faults below.

            Durations: 500ms, 2s, 10m, 1h, 1m30s. Fractions: 0.05 or 5%.
            Partition: SHARE@START+DURATION, e.g. 0.4@2m+30s splits 40% of the nodes \
            off 2 minutes into the scenario for 30 seconds; or SHARE with --partition-for, \
            e.g. --partition 0.4 --partition-for 30s, at a time drawn from the seed (the \
            cut heals inside the scenario when it fits). Add --one-way to block only their \
            traffic towards the rest.

            With --ha, --kill-leader crashes the leader right after it orders the first \
            fence, while the BMC call is in flight (with --restart-after it comes back \
            that much later). The `ha` section then lists every broken invariant: a \
            fence without a valid certificate or by a node not leading the newest term, \
            two leaders in a term, a fence ordered from a partition's minority side, a \
            live node fenced, a recovery before its BMC power-off, a fence of a life \
            the leader knew fenced or one leader confirming a life twice, and a node down for --settle (after any heal, with \
            a majority able to lead) that was never fenced or recovered (unless the \
            brake held it).

            Property runs: --ha --seeds 1-1000 runs each seed with its own random mix \
            (5-15 nodes, crashes, restarts, pauses, partitions incl. one-way, leader \
            kills; 120 s each) on --workers threads, prints a summary with the command \
            replaying each failed seed, and exits 1 on any violation. Only --preset \
            and --settle apply to them.

            Traffic counts bytes as sent on the wire: each datagram's packet plus the \
            agent's seal overhead (gossip.seal_overhead, 48 bytes in the presets) plus \
            28 bytes of IPv4/UDP headers; each stream message plus the seal and 40 bytes \
            of IPv4/TCP headers per segment. Packet sizes come from the wire codec.

            Percentiles are nearest-rank. Exit status: 0 after a run, 1 when property \
            runs found a violation, 2 for bad arguments.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json
    }

    @Option(help: "Number of nodes.")
    var nodes: Int = 50

    @Option(help: "Length of the scenario phase, after convergence (e.g. 10m, 90s).")
    var duration: String = "10m"

    @Option(help: "Nodes that crash at random times in the scenario phase.")
    var crash: Int = 0

    @Option(name: .customLong("restart-after"), help: "Restart each crashed node this long after its crash.")
    var restartAfter: String?

    @Option(help: "Datagram loss on every link, 0..1 or a percentage (e.g. 0.05, 5%).")
    var loss: String = "0"

    @Option(help: "One-way network delay.")
    var delay: String = "1ms"

    @Option(help: "Extra uniform random delay per datagram, 0..JITTER (reorders datagrams).")
    var jitter: String = "1ms"

    @Option(help: "Nodes that pause (SIGSTOP) about once per virtual minute.")
    var pause: Int = 0

    @Option(name: .customLong("pause-for"), help: "How long each pause lasts.")
    var pauseFor: String = "2s"

    @Option(help: "Gray nodes: they lose --gray-loss of their datagrams in both directions.")
    var gray: Int = 0

    @Option(name: .customLong("gray-loss"), help: "Share of a gray node's datagrams lost, 0..1 or a percentage.")
    var grayLoss: String = "0.8"

    @Option(help: "Slow nodes: everything they handle and send takes --slow-delay longer.")
    var slow: Int = 0

    @Option(name: .customLong("slow-delay"), help: "Extra processing time of a slow node.")
    var slowDelay: String = "200ms"

    @Option(
        help: "Split SHARE of the nodes off at START for DURATION: SHARE@START+DURATION (e.g. 0.4@2m+30s), or SHARE with --partition-for.")
    var partition: String?

    @Option(
        name: .customLong("partition-for"),
        help: "With --partition SHARE: the cut lasts this long, starting at a time drawn from the seed (e.g. 30s).")
    var partitionFor: String?

    @Flag(name: .customLong("one-way"), help: "Make --partition one-way: the split-off nodes cannot reach the rest, the rest still reaches them.")
    var oneWay: Bool = false

    @Option(help: "Seed of every random choice of the run.")
    var seed: UInt64 = 1

    @Option(help: "Configuration preset: \(Configuration.presetNames.joined(separator: ", ")) (default: lan, or the --config file's).")
    var preset: String?

    @Option(
        help: ArgumentHelp(
            "Run the nodes with an agent config file's protocol settings: its `preset:` (or --preset) with its `protocol:` overrides.",
            discussion: "The file is read and checked exactly as `vigil agent --config` reads it; keys other than `preset` and `protocol` are checked but play no part. Not with --seeds.",
            valueName: "file"))
    var config: String?

    @Option(help: "Output format: table (for people) or json.")
    var format: Format = .table

    @Option(help: "Also write the JSON report to this file.")
    var out: String?

    @Flag(name: .customLong("wire-roundtrip"), help: "Encode and decode every packet on its way (checks the codec; slower).")
    var wireRoundTrip: Bool = false

    @Flag(
        name: .customLong("ha"),
        help: "The leader fences certified failures through simulated BMCs (power off = the node stops) and recovers them; the report's `ha` section checks the invariants.")
    var ha: Bool = false

    @Flag(
        name: .customLong("kill-leader"),
        help: "With --ha: crash the leader right after it orders the first fence, while the BMC call is in flight (--restart-after restarts it).")
    var killLeader: Bool = false

    @Option(help: "With --ha: a node down this long (after any heal) must have been fenced and recovered by the end.")
    var settle: String = "40s"

    @Option(help: "With --ha: property runs over seeds FIRST-LAST (e.g. 1-1000), each with its own random fault mix.")
    var seeds: String?

    @Option(help: "Threads for --seeds.")
    var workers: Int = 2

    func validate() throws {
        if self.seeds != nil {
            _ = try self.seedRange()
            _ = try self.propertyScenario(seed: 1)
        } else {
            _ = try self.scenario()
        }
    }

    func run() throws {
        if self.seeds != nil {
            try self.runProperties()
            return
        }
        let scenario = try self.scenario()
        let report = Simulator.run(scenario)
        let json = try report.jsonData(prettyPrinted: true)
        if let out = self.out {
            do {
                try json.write(to: URL(fileURLWithPath: out))
            } catch {
                throw RuntimeError("cannot write the report to `\(out)`: \(error.localizedDescription)")
            }
        }
        switch self.format {
        case .table:
            print(ReportTable.render(report), terminator: "")
        case .json:
            print(String(decoding: json, as: UTF8.self))
        }
    }

    /// The scenario the flags describe, or a `ValidationError` naming the bad flag.
    func scenario() throws -> Scenario {
        guard var scenario = Scenario(preset: self.presetName) else {
            throw ValidationError(
                "--preset must be one of \(Configuration.presetNames.joined(separator: ", ")), got `\(self.presetName)`")
        }
        if let path = self.config {
            let file = try Self.protocolSettings(fromConfigFile: path, preset: self.preset)
            scenario.configuration = file.configuration
            scenario.preset = "\(file.preset) with \(path)"
        }
        guard self.nodes >= 1 else { throw ValidationError("--nodes must be at least 1, got \(self.nodes)") }
        scenario.nodes = self.nodes
        scenario.duration = try Self.duration(self.duration, flag: "--duration", example: "10m")
        guard scenario.duration > .zero else { throw ValidationError("--duration must be positive, e.g. `10m`") }
        scenario.loss = try Self.fraction(self.loss, flag: "--loss", example: "0.05")
        scenario.delay = try Self.duration(self.delay, flag: "--delay", example: "1ms")
        scenario.jitter = try Self.duration(self.jitter, flag: "--jitter", example: "1ms")
        for (flag, count) in [("--crash", self.crash), ("--pause", self.pause), ("--gray", self.gray), ("--slow", self.slow)]
        where count < 0 {
            throw ValidationError("\(flag) must be a number of nodes, 0 or more, got \(count)")
        }
        scenario.crashes = self.crash
        scenario.restartAfter = try self.restartAfter.map {
            try Self.duration($0, flag: "--restart-after", example: "30s")
        }
        scenario.pauses = self.pause
        scenario.pauseDuration = try Self.duration(self.pauseFor, flag: "--pause-for", example: "2s")
        scenario.gray = self.gray
        scenario.grayLoss = try Self.fraction(self.grayLoss, flag: "--gray-loss", example: "0.8")
        scenario.slow = self.slow
        scenario.slowDelay = try Self.duration(self.slowDelay, flag: "--slow-delay", example: "200ms")
        if let text = self.partition, !text.contains("@") {
            guard let share = ArgumentParsing.fraction(text), share > 0, share < 1 else {
                throw ValidationError("--partition SHARE must be a fraction strictly between 0 and 1 like `0.4`, got `\(text)`")
            }
            guard let length = self.partitionFor else {
                throw ValidationError("--partition \(text) needs --partition-for, e.g. `--partition 0.4 --partition-for 30s`")
            }
            let duration = try Self.duration(length, flag: "--partition-for", example: "30s")
            guard duration > .zero else { throw ValidationError("--partition-for must be positive, e.g. `30s`") }
            scenario.partition = PartitionSpec(share: share, start: nil, duration: duration, oneWay: self.oneWay)
        } else if let text = self.partition {
            guard self.partitionFor == nil else {
                throw ValidationError("--partition-for goes with --partition SHARE; `\(text)` already says how long")
            }
            guard let spec = ArgumentParsing.partition(text, oneWay: self.oneWay) else {
                throw ValidationError(
                    "--partition must be SHARE@START+DURATION like `0.4@2m+30s` (0 < SHARE < 1), got `\(text)`")
            }
            scenario.partition = spec
        } else if self.oneWay || self.partitionFor != nil {
            throw ValidationError("--one-way and --partition-for need --partition, e.g. `--partition 0.4 --partition-for 30s`")
        }
        if scenario.faultyNodes > scenario.nodes {
            throw ValidationError(
                "--crash + --pause + --gray + --slow (\(scenario.faultyNodes)) must not exceed --nodes (\(scenario.nodes))")
        }
        scenario.seed = self.seed
        scenario.wireRoundTrip = self.wireRoundTrip
        scenario.configuration.ha.enabled = self.ha
        guard self.ha || !self.killLeader else {
            throw ValidationError("--kill-leader needs --ha: without it nobody fences")
        }
        scenario.killLeader = self.killLeader
        scenario.haSettle = try Self.duration(self.settle, flag: "--settle", example: "40s")
        if let problem = scenario.problems.first { throw ValidationError(problem) }
        return scenario
    }

    /// `--preset`, or `lan` when it is not given.
    var presetName: String { self.preset ?? "lan" }

    /// The preset and `protocol:` overrides of an agent config file, read as
    /// `vigil agent --config` reads them (flags beat the file; the environment is not
    /// read, so a `VIGIL_PRESET` of the shell cannot change a simulation). Simulated
    /// nodes seal nothing, so a file without a cluster key is fine.
    static func protocolSettings(
        fromConfigFile path: String, preset: String?
    ) throws -> (preset: String, configuration: Configuration) {
        do {
            let settings = try AgentConfiguration.load(
                flags: AgentFlags(preset: preset, config: path, insecureNoEncryption: true), environment: [:])
            return (settings.preset, settings.protocolConfiguration)
        } catch {
            throw ValidationError(error.description)
        }
    }

    // MARK: Property runs

    /// `FIRST-LAST` or a single seed.
    func seedRange() throws -> ClosedRange<UInt64> {
        let text = self.seeds ?? ""
        let parts = text.split(separator: "-", maxSplits: 1).map { UInt64($0) }
        guard self.ha else { throw ValidationError("--seeds checks the HA invariants: add --ha") }
        guard self.workers >= 1 else { throw ValidationError("--workers must be at least 1, got \(self.workers)") }
        switch parts.count {
        case 1 where parts[0] != nil: return parts[0]!...parts[0]!
        case 2 where parts[0] != nil && parts[1] != nil && parts[0]! <= parts[1]!: return parts[0]!...parts[1]!
        default: throw ValidationError("--seeds must be FIRST-LAST like `1-1000` (or one seed), got `\(text)`")
        }
    }

    func propertyScenario(seed: UInt64) throws -> Scenario {
        guard self.config == nil else {
            throw ValidationError("--config applies to one run, not to --seeds (property runs take --preset)")
        }
        guard Scenario(preset: self.presetName) != nil else {
            throw ValidationError(
                "--preset must be one of \(Configuration.presetNames.joined(separator: ", ")), got `\(self.presetName)`")
        }
        var scenario = HAProperties.scenario(seed: seed, preset: self.presetName)
        scenario.haSettle = try Self.duration(self.settle, flag: "--settle", example: "40s")
        return scenario
    }

    func runProperties() throws {
        let range = try self.seedRange()
        let template = try self.propertyScenario(seed: range.lowerBound)
        let preset = self.presetName
        let settle = template.haSettle
        let start = ContinuousClock.now
        let summary = HAProperties.run(seeds: Array(range), workers: self.workers) { seed in
            var scenario = HAProperties.scenario(seed: seed, preset: preset)
            scenario.haSettle = settle
            return scenario
        }
        let wall = Double((ContinuousClock.now - start).nanoseconds) / 1e9
        let violations = summary.violationsByKind.values.reduce(0, +)
        var lines: [String] = []
        lines.append(
            "HA properties: \(summary.runs) runs (seeds \(range.lowerBound)-\(range.upperBound), preset \(preset)), "
                + "\(summary.failed.count) failed, \(violations) violations, \(String(format: "%.1f", wall)) s wall")
        let fences = "  fences ordered \(summary.fences), lives confirmed fenced \(summary.fenceCompletions)"
        let repeats = " (+\(summary.duplicateFences) repeated by a leader that could not know), "
        let recoveries =
            "recoveries accepted \(summary.recoveriesAccepted), duplicate recoveries dropped \(summary.duplicateRecoveries)"
        lines.append(fences + repeats + recoveries)
        lines.append(
            "  leaders killed mid-fence \(summary.leadersKilled), lives owed a fence and recovery \(summary.livesChecked) "
                + "(all delivered unless listed below), held by the brake \(summary.heldByBrake)")
        if summary.violationsByKind.isEmpty {
            lines.append("  violations by kind: none")
        } else {
            lines.append("  violations by kind:")
            for (kind, count) in summary.violationsByKind.sorted(by: { $0.key < $1.key }) {
                lines.append("    \(kind.rawValue): \(count)")
            }
            lines.append("  failed seeds (replay one with the command shown):")
            for failure in summary.failed {
                lines.append("    seed \(failure.seed): vigil simulate \(Self.arguments(for: failure.scenario).joined(separator: " "))")
                for violation in failure.violations { lines.append("      \(violation)") }
            }
        }
        print(lines.joined(separator: "\n"))
        if violations > 0 { throw ExitCode(1) }
    }

    /// The flags that make `vigil simulate` run `scenario` as is.
    static func arguments(for scenario: Scenario) -> [String] {
        func d(_ duration: Duration) -> String {
            let ms = duration.nanoseconds / 1_000_000
            return ms % 1000 == 0 ? "\(ms / 1000)s" : "\(ms)ms"
        }
        var args = [
            "--ha", "--preset", scenario.preset, "--nodes", "\(scenario.nodes)", "--duration", d(scenario.duration),
            "--seed", "\(scenario.seed)", "--loss", "\(scenario.loss)", "--settle", d(scenario.haSettle),
        ]
        if scenario.crashes > 0 { args += ["--crash", "\(scenario.crashes)"] }
        if let after = scenario.restartAfter { args += ["--restart-after", d(after)] }
        if scenario.pauses > 0 { args += ["--pause", "\(scenario.pauses)", "--pause-for", d(scenario.pauseDuration)] }
        if let p = scenario.partition {
            if let start = p.start {
                args += ["--partition", "\(p.share)@\(d(start))+\(d(p.duration))"]
            } else {
                args += ["--partition", "\(p.share)", "--partition-for", d(p.duration)]
            }
            if p.oneWay { args.append("--one-way") }
        }
        if scenario.killLeader { args.append("--kill-leader") }
        return args
    }

    private static func duration(_ text: String, flag: String, example: String) throws -> Duration {
        guard let value = ArgumentParsing.duration(text) else {
            throw ValidationError("\(flag) must be a duration like `\(example)` (units ns, us, ms, s, m, h), got `\(text)`")
        }
        return value
    }

    private static func fraction(_ text: String, flag: String, example: String) throws -> Double {
        guard let value = ArgumentParsing.fraction(text) else {
            throw ValidationError("\(flag) must be a fraction from 0 to 1 like `\(example)` or a percentage like `5%`, got `\(text)`")
        }
        return value
    }
}

/// A failure while running (not a usage error): exit status 1.
struct RuntimeError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

import ArgumentParser
import Foundation
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
            off 2 minutes into the scenario for 30 seconds (add --one-way to block only \
            their traffic towards the rest).

            Traffic counts bytes as sent on the wire: each datagram's packet plus the \
            agent's seal overhead (gossip.seal_overhead, 48 bytes in the presets) plus \
            28 bytes of IPv4/UDP headers; each stream message plus the seal and 40 bytes \
            of IPv4/TCP headers per segment. Packet sizes come from the wire codec.

            Percentiles are nearest-rank. Exit status: 0 after a run, 2 for bad arguments.
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

    @Option(help: "Split SHARE of the nodes off at START for DURATION: SHARE@START+DURATION (e.g. 0.4@2m+30s).")
    var partition: String?

    @Flag(name: .customLong("one-way"), help: "Make --partition one-way: the split-off nodes cannot reach the rest, the rest still reaches them.")
    var oneWay: Bool = false

    @Option(help: "Seed of every random choice of the run.")
    var seed: UInt64 = 1

    @Option(help: "Configuration preset: \(Configuration.presetNames.joined(separator: ", ")).")
    var preset: String = "lan"

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

    func validate() throws {
        _ = try self.scenario()
    }

    func run() throws {
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
        guard var scenario = Scenario(preset: self.preset) else {
            throw ValidationError(
                "--preset must be one of \(Configuration.presetNames.joined(separator: ", ")), got `\(self.preset)`")
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
        if let text = self.partition {
            guard let spec = ArgumentParsing.partition(text, oneWay: self.oneWay) else {
                throw ValidationError(
                    "--partition must be SHARE@START+DURATION like `0.4@2m+30s` (0 < SHARE < 1), got `\(text)`")
            }
            scenario.partition = spec
        } else if self.oneWay {
            throw ValidationError("--one-way needs --partition, e.g. `--partition 0.4@2m+30s --one-way`")
        }
        if scenario.faultyNodes > scenario.nodes {
            throw ValidationError(
                "--crash + --pause + --gray + --slow (\(scenario.faultyNodes)) must not exceed --nodes (\(scenario.nodes))")
        }
        scenario.seed = self.seed
        scenario.wireRoundTrip = self.wireRoundTrip
        scenario.configuration.ha.enabled = self.ha
        if let problem = scenario.problems.first { throw ValidationError(problem) }
        return scenario
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

import ArgumentParser
import Foundation
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import VigilAgent
import VigilCore
import VigilCrypto

/// `vigil agent`: the daemon that runs on every node.
struct Agent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the Vigil agent on this node.",
        discussion: """
            Settings come from flags, then VIGIL_* environment variables, then the \
            --config file (YAML or JSON), then defaults. Gossip is sealed with the \
            cluster key (--encrypt, or a --keyring-file); running without one needs \
            --insecure-no-encryption, said explicitly. SIGTERM or SIGINT (or \
            `vigil leave`) leaves the cluster gracefully, then stops.
            """)

    @Option(help: "This node's name (default: the host name; the Nova compute host name).") var name: String?
    @Option(help: "Address to bind UDP and TCP to, HOST:PORT (default 0.0.0.0:7946).") var bind: String?
    @Option(help: "Address peers should use, HOST:PORT (default: the bind address).") var advertise: String?
    @Option(help: "A member to join through, HOST:PORT (repeatable).") var join: [String] = []
    @Option(name: .customLong("data-dir"), help: "Data directory (default /var/lib/vigil).") var dataDir: String?
    @Option(help: "Control socket path (default: <data-dir>/vigil.sock).") var control: String?
    @Option(help: "The cluster key, base64 (make one with `vigil keygen`).") var encrypt: String?
    @Option(name: .customLong("keyring-file"), help: "Keyring file (JSON; default <data-dir>/keyring.json); wins over --encrypt.") var keyringFile: String?
    @Option(name: .customLong("tag"), help: "A tag k=v (repeatable).") var tags: [String] = []
    @Option(help: "Serve Prometheus metrics at http://HOST:PORT/metrics (default: off).") var metrics: String?
    @Option(
        name: .customLong("log-level"),
        help: "Least severe log level written: trace, debug, info, notice, warning, error, critical (default info).")
    var logLevel: String?
    @Option(help: "Protocol preset: lan, wan or local.") var preset: String?
    @Option(help: "Configuration file (YAML or JSON).") var config: String?
    @Flag(name: .customLong("insecure-no-encryption"), help: "Run without sealing gossip (tests only).")
    var insecureNoEncryption = false

    func run() async throws {
        let flags = AgentFlags(
            name: self.name, bind: self.bind, advertise: self.advertise, join: self.join,
            dataDirectory: self.dataDir, control: self.control, encrypt: self.encrypt, keyringFile: self.keyringFile,
            tags: self.tags, metrics: self.metrics, logLevel: self.logLevel, preset: self.preset, config: self.config,
            insecureNoEncryption: self.insecureNoEncryption)
        let settings: AgentConfiguration
        let starting: StartingKeyring
        do {
            settings = try AgentConfiguration.load(flags: flags, environment: ProcessInfo.processInfo.environment)
            // Without a key the transport still needs a keyring: a random one nobody
            // else has would isolate the node, so insecure mode is refused for now.
            guard let loaded = try settings.loadStartingKeyring() else {
                throw ValidationError(
                    "running without encryption is not supported yet: give --encrypt KEY (make one with `vigil keygen`)")
            }
            starting = loaded
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
        let logLevel = settings.logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = logLevel
            return handler
        }
        var logger = Logger(label: "vigil")
        logger[metadataKey: "node.name"] = "\(settings.name)"
        if let ignored = starting.ignoredEncryptKeyID, let file = starting.file {
            // The keyring the cluster moved to wins over a stale `--encrypt`: reinstalling
            // an old key could reopen one the operator removed on purpose.
            logger.warning(
                "keyring.encrypt-ignored",
                metadata: [
                    "keys.id": "\(ClusterKey.formatID(ignored))", "keyring.file": "\(file)",
                    "hint": "the keyring file holds the keys adopted from the cluster; delete it to start over from --encrypt",
                ])
        }

        let haActions: any HAActions
        if let fencing = settings.fencing, let recovery = settings.recovery, settings.protocolConfiguration.ha.enabled {
            haActions = ConfiguredHA(fencing: fencing, recovery: recovery, logger: logger)
            logger.notice(
                "ha.enabled",
                metadata: [
                    "fence.default_levels": "\(fencing.levels.count)", "fence.nodes": "\(fencing.nodes.count)",
                    "fence.timeout": "\(fencing.timeout)", "recovery.driver": "\(recovery.driverName)",
                ])
        } else {
            haActions = UnconfiguredHA()
            // Said once, at start: an operator must not believe this cluster fences.
            logger.notice(
                "ha.disabled",
                metadata: [
                    "ha.reason": "\(settings.haOffReason ?? "-")",
                    "hint": "failures are detected and reported, but nothing is fenced or recovered",
                ])
        }

        do {
            let dataDirectory = try DataDirectory(path: settings.dataDirectory)
            let identity = try dataDirectory.loadOrCreateIdentity()
            let life = try dataDirectory.nextLife()
            let transport = try await GossipTransport(
                settings: TransportSettings(bind: settings.bind, advertise: settings.advertise),
                keyring: starting.keyring, logger: logger)
            var instance = Instance(
                name: settings.name, address: transport.advertisedAddress, tags: settings.tags, identity: identity,
                incarnation: Incarnation.first(life: life),
                configuration: settings.protocolConfiguration.reservingEnvelope(
                    advertisedHost: transport.advertisedAddress.host),
                rng: DeterministicRNG(seed: SecureRandom.uint64()), election: try dataDirectory.loadElection())
            if let record = starting.record {
                instance.restoreKeyring(record)
            }
            // What this node knew of fences and recoveries before it stopped; a journal
            // that cannot be read stops the agent here (DataDirectoryError) untouched.
            let journal = try HAJournal(directory: dataDirectory)
            instance.restore(haRecords: try journal.latestRecords())
            // Metrics only when asked for: the registry, the factory and the bootstrap
            // live here, the library takes the factory.
            var metrics: (AgentMetrics, MetricsServer)?
            if let address = settings.metricsAddress {
                let registry = PrometheusCollectorRegistry()
                let factory = DescribedPrometheusFactory(registry: registry)
                MetricsSystem.bootstrap(factory)
                let server = try await MetricsServer(
                    bind: address, render: { registry.emitToBuffer() }, logger: logger)
                metrics = (AgentMetrics(factory: factory), server)
            }
            let runtime = AgentRuntime(
                instance: instance, sink: transport, presetName: settings.preset, dataDirectory: dataDirectory,
                logger: logger, keyring: transport, keyringFile: settings.keyringFilePath, metrics: metrics?.0,
                journal: journal, eventLoop: transport.eventLoop)
            let control = ControlServer(path: settings.controlSocketPath, control: runtime, logger: logger)
            // Rejoin through whoever was alive last time, as well as the configured seeds
            // (serf's snapshot): a restarted node needs no --join.
            let remembered = dataDirectory.loadSnapshot(logger: logger)
                .filter { $0.status.isLive && $0.name != settings.name }.map(\.address)
            var seeds = settings.join
            for address in remembered where !seeds.contains(address) { seeds.append(address) }
            let service = AgentService(
                runtime: runtime, transport: transport, control: control, metrics: metrics?.1, seeds: seeds,
                leaveGrace: settings.protocolConfiguration.probe.period.scaled(by: 2), dataDirectory: dataDirectory,
                haActions: haActions, logger: logger)
            let group = ServiceGroup(
                configuration: ServiceGroupConfiguration(
                    services: [.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup)],
                    gracefulShutdownSignals: [.sigterm, .sigint],
                    logger: logger))
            try await group.run()
        } catch let error as DataDirectoryError {
            FileHandle.standardError.write(Data("Error: \(error.description)\n".utf8))
            throw ExitCode(1)
        } catch let error as TransportError {
            FileHandle.standardError.write(Data("Error: \(error.description)\n".utf8))
            throw ExitCode(1)
        } catch let error as MetricsServerError {
            FileHandle.standardError.write(Data("Error: \(error.description)\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// `vigil keygen`: a new cluster key, base64, for --encrypt.
struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a new random cluster key (base64).")

    func run() throws {
        print(ClusterKey.generate().base64)
    }
}

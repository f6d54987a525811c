import ArgumentParser
import Foundation
import VigilAgent
import VigilCore
import VigilCrypto

/// `vigil-loadgen`: floods one agent with valid sealed packets, for
/// `scripts/bench-absorb.sh`.
///
/// A separate executable rather than a `vigil` subcommand: it exists to overload a
/// node, so it should not ship in the binary operators install on every compute
/// node, and its raw-socket sending loop has nothing in common with the CLI's
/// control-socket commands.
@main
struct LoadGen: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigil-loadgen",
        abstract: "Send valid sealed packets to one agent at a given rate, or flat out, and report the rate sent.",
        discussion: """
            The cluster key is read the way `vigil agent` reads it: --encrypt, --keyring-file, \
            --config, VIGIL_* variables, the data directory's keyring.json. Each thread sends \
            from its own UDP socket on loopback and reads the agent's answers (acks to pings), \
            as a peer would. With --rate, every packet is sealed before the clock starts (each \
            with its own nonce, all with the start time), so the sending loop does no crypto; \
            --rate 0 seals while sending, as fast as one core allows. Exit status: 0 after \
            sending, 1 if a socket failed, 2 for bad arguments.
            """)

    enum Kind: String, ExpressibleByArgument, CaseIterable {
        /// A ping naming the agent as target: the agent opens it and seals an ack.
        case ping
        /// Gossip with no updates: the agent opens it and answers nothing.
        case gossip
    }

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @Option(help: "The agent's gossip address, IP:PORT (default: the bind address of --config, 0.0.0.0 as 127.0.0.1).")
    var target: String?
    @Option(name: .customLong("target-name"), help: "The agent's node name, which pings must name (default: --config's name).")
    var targetName: String?
    @Option(help: "The sender name sealed into every packet, a peer that is not a member.")
    var sender = "loadgen"
    @Option(help: "Packets per second over all threads; 0 sends flat out.")
    var rate: Int = 0
    @Option(help: "How long to send, e.g. 3s or 500ms (at most 25s: packets must stay within the agent's 30 s freshness window).")
    var duration: String = "3s"
    @Option(help: "Sending threads, each with its own socket (1...64).")
    var threads: Int = 1
    @Option(help: "What to send: ping (answered with an ack) or gossip (answered with nothing).")
    var message: Kind = .ping
    @Option(help: "Output: text or json.")
    var format: Format = .text

    @Option(help: "The cluster key, base64, as for `vigil agent`.") var encrypt: String?
    @Option(name: .customLong("keyring-file"), help: "Keyring file, as for `vigil agent`.") var keyringFile: String?
    @Option(name: .customLong("data-dir"), help: "Data directory whose keyring.json to read, as for `vigil agent`.")
    var dataDir: String?
    @Option(help: "Agent configuration file (YAML or JSON) to take the key, name and address from.") var config: String?

    func validate() throws {
        guard self.rate >= 0 else { throw ValidationError("--rate must be packets per second, 0 or more, got \(self.rate)") }
        guard (1...64).contains(self.threads) else { throw ValidationError("--threads must be 1...64, got \(self.threads)") }
        guard let duration = Duration(parsing: self.duration), duration > .zero, duration <= .seconds(25) else {
            throw ValidationError("--duration must be a duration like `3s` or `500ms`, above 0 and at most 25s, got `\(self.duration)`")
        }
        _ = duration
        guard !self.sender.isEmpty else { throw ValidationError("--sender must not be empty") }
        if self.rate > 0 {
            let total = Double(self.rate) * self.durationSeconds
            guard total <= 20_000_000 else {
                throw ValidationError("--rate × --duration is \(Int(total)) packets, more than the 20,000,000 sealed ahead at most")
            }
        }
    }

    var durationSeconds: Double {
        let components = Duration(parsing: self.duration)!.components
        return Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

    func run() throws {
        let flags = AgentFlags(
            name: self.targetName, dataDirectory: self.dataDir, encrypt: self.encrypt, keyringFile: self.keyringFile,
            config: self.config)
        let settings: AgentConfiguration
        let keyring: Keyring
        do {
            settings = try AgentConfiguration.load(flags: flags, environment: ProcessInfo.processInfo.environment)
            guard let loaded = try settings.loadKeyring() else {
                throw ValidationError("no cluster key: give --encrypt KEY, --keyring-file or --config, as for `vigil agent`")
            }
            keyring = loaded
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
        let target: Address
        if let text = self.target {
            guard let parsed = Address(parsing: text) else {
                throw ValidationError("--target must be IP:PORT like 127.0.0.1:7946, got `\(text)`")
            }
            target = parsed
        } else {
            let bind = settings.bind
            target = Address(host: bind.host == "0.0.0.0" ? "127.0.0.1" : bind.host == "::" ? "::1" : bind.host, port: bind.port)
        }
        guard target.port != 0 else {
            throw ValidationError("--target needs the agent's port; the configuration binds port 0 (see `vigil info`)")
        }
        let plan: Blaster.Plan
        do {
            plan = try Blaster.Plan(
                target: target, packet: self.packet(to: settings.name), sender: self.sender, keyring: keyring,
                rate: self.rate, seconds: self.durationSeconds, threads: self.threads)
        } catch {
            throw ValidationError(error.description)
        }
        let result: Blaster.Result
        do {
            result = try Blaster.run(plan)
        } catch {
            FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
            throw ExitCode.failure
        }
        self.report(result, target: target)
    }

    private func packet(to name: String) -> Packet {
        switch self.message {
        case .ping: Packet(sender: self.sender, message: .ping(seq: 1, target: name))
        case .gossip: Packet(sender: self.sender, message: .gossip)
        }
    }

    private func report(_ result: Blaster.Result, target: Address) {
        let perSecond = result.seconds > 0 ? Double(result.sent) / result.seconds : 0
        switch self.format {
        case .text:
            print(
                "sent \(result.sent) \(self.message.rawValue) packets to \(target) in "
                    + String(format: "%.3f s: %.0f packets/s", result.seconds, perSecond)
                    + " (\(self.threads) thread(s), asked \(self.rate == 0 ? "flat out" : "\(self.rate)/s"), "
                    + "\(result.sendErrors) send errors, \(result.answers) answers read)")
        case .json:
            print(
                "{\"sent\":\(result.sent),\"seconds\":\(String(format: "%.4f", result.seconds)),"
                    + "\"packets_per_second\":\(String(format: "%.0f", perSecond)),\"asked_rate\":\(self.rate),"
                    + "\"threads\":\(self.threads),\"message\":\"\(self.message.rawValue)\","
                    + "\"send_errors\":\(result.sendErrors),\"answers\":\(result.answers),"
                    + "\"sealed_bytes\":\(result.packetBytes)}")
        }
    }
}

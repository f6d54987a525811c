import Logging
import VigilCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Everything `vigil agent` needs to start, after flags, environment, config file and
/// defaults have been merged (``load(flags:environment:readFile:)``, in
/// `AgentConfiguration+Loading.swift`). Each default is documented where it is set.
public struct AgentConfiguration: Sendable, Equatable {
    /// This node's name in the cluster: the same string Nova uses for the compute
    /// host. Default: the host name (`gethostname`). At most 255 bytes of UTF-8.
    public var name: String
    /// Where gossip (UDP) and sync (TCP) listen. Default `0.0.0.0:7946`, serf's
    /// port. Port 0 picks a free port (tests).
    public var bind: Address
    /// The address other members use to reach this node, when it differs from
    /// `bind` (NAT, or `bind` on `0.0.0.0`). Default: none, the transport picks the
    /// address of the interface that reaches the seeds.
    public var advertise: Address?
    /// Seeds to join at start. Default: none (start a new cluster, or rejoin from
    /// the members snapshot in the data directory).
    public var join: [Address]
    /// Free-form labels gossiped with this member (role, zone, rack). At most 64,
    /// keys and values at most 255 bytes each. Default: none.
    public var tags: [String: String]
    /// Identity key, life counter and members snapshot. Default `/var/lib/vigil`.
    public var dataDirectory: String
    /// The control API's Unix socket. Default (`nil`): `<dataDirectory>/vigil.sock`;
    /// read ``controlSocketPath`` for the path in effect.
    public var controlPath: String?
    /// The primary cluster key, standard base64 (checked when loaded). Default: none.
    public var encryptKey: String?
    /// A JSON keyring, `{"primary":"BASE64","keys":["BASE64",...]}`; when the file
    /// exists it wins over ``encryptKey`` (it is what `vigil keys` rewrites: every
    /// cluster keyring the agent adopts is written there). Default (`nil`):
    /// `<dataDirectory>/keyring.json`; read ``keyringFilePath`` for the path in effect.
    public var keyringFile: String?
    /// Where Prometheus metrics are served over HTTP. Default: none (off).
    public var metricsAddress: Address?
    /// The least severe log messages written (to standard error): `trace`, `debug`,
    /// `info` (default), `notice`, `warning`, `error` or `critical`.
    public var logLevel: Logger.Level
    /// The protocol preset ``protocolConfiguration`` starts from: `lan` (default),
    /// `wan` or `local`.
    public var preset: String
    /// The protocol settings: the preset with the config file's `protocol:`
    /// overrides applied. Default `Configuration.lan`.
    public var protocolConfiguration: Configuration
    /// Run without sealing gossip. Must be asked for explicitly: with neither a key
    /// nor this, the configuration is refused. Default `false`.
    public var insecureNoEncryption: Bool
    /// The `fencing:` section: every node's fence levels, used while this node leads.
    /// Default none. With `recovery`, it turns HA on (``protocolConfiguration``'s `ha`).
    public var fencing: FencingSettings?
    /// The `recovery:` section: the driver that restarts a fenced node's VMs. Default none.
    public var recovery: RecoverySettings?

    /// The default gossip port (serf's).
    public static let defaultPort: UInt16 = 7946
    /// The default ``bind`` address.
    public static let defaultBind = Address(host: "0.0.0.0", port: defaultPort)
    /// The default ``dataDirectory``.
    public static let defaultDataDirectory = "/var/lib/vigil"
    /// The control socket's file name inside the data directory.
    public static let controlSocketName = "vigil.sock"

    public init(
        name: String = AgentConfiguration.hostName(),
        bind: Address = AgentConfiguration.defaultBind,
        advertise: Address? = nil,
        join: [Address] = [],
        tags: [String: String] = [:],
        dataDirectory: String = AgentConfiguration.defaultDataDirectory,
        controlPath: String? = nil,
        encryptKey: String? = nil,
        keyringFile: String? = nil,
        metricsAddress: Address? = nil,
        logLevel: Logger.Level = .info,
        preset: String = "lan",
        protocolConfiguration: Configuration = .lan,
        insecureNoEncryption: Bool = false,
        fencing: FencingSettings? = nil,
        recovery: RecoverySettings? = nil
    ) {
        self.name = name
        self.bind = bind
        self.advertise = advertise
        self.join = join
        self.tags = tags
        self.dataDirectory = dataDirectory
        self.controlPath = controlPath
        self.encryptKey = encryptKey
        self.keyringFile = keyringFile
        self.metricsAddress = metricsAddress
        self.logLevel = logLevel
        self.preset = preset
        self.protocolConfiguration = protocolConfiguration
        self.insecureNoEncryption = insecureNoEncryption
        self.fencing = fencing
        self.recovery = recovery
    }

    /// The control socket path in effect: ``controlPath``, or `vigil.sock` in the
    /// data directory.
    public var controlSocketPath: String {
        if let controlPath = self.controlPath { return controlPath }
        let directory = self.dataDirectory.hasSuffix("/") ? String(self.dataDirectory.dropLast()) : self.dataDirectory
        return "\(directory)/\(Self.controlSocketName)"
    }

    /// The address members reach this node at, as far as configuration knows:
    /// ``advertise`` if set, else ``bind`` (which the transport must replace when it
    /// is a wildcard such as `0.0.0.0`).
    public var advertisedAddress: Address {
        self.advertise ?? self.bind
    }

    /// This machine's host name, or `""` if it cannot be read (then loading fails
    /// with "set `--name`").
    public static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

import Logging
import VigilCore
import VigilCrypto
import Yams

// Reading the configuration: flags beat environment variables, which beat the config
// file, which beats the defaults. Every value is checked where it is read, so an
// error names the flag, variable or file key that holds it.
//
// Config file (YAML; JSON is valid YAML), every key optional:
//
//     name: node-1                      # VIGIL_NAME        --name
//     bind: 0.0.0.0:7946                # VIGIL_BIND        --bind
//     advertise: 10.0.0.1:7946          # VIGIL_ADVERTISE   --advertise
//     join: [10.0.0.2:7946]             # VIGIL_JOIN a,b    --join (repeatable)
//     tags: {zone: a, role: compute}    # VIGIL_TAGS k=v,.. --tag k=v (repeatable)
//     data_dir: /var/lib/vigil          # VIGIL_DATA_DIR    --data-dir
//     control: /run/vigil/vigil.sock    # VIGIL_CONTROL     --control
//     encrypt: BASE64KEY                # VIGIL_ENCRYPT     --encrypt
//     keyring_file: /etc/vigil/keyring.json  # VIGIL_KEYRING_FILE --keyring-file
//     metrics: 127.0.0.1:9090           # VIGIL_METRICS     --metrics
//     log_level: info                   # VIGIL_LOG_LEVEL   --log-level trace|debug|info|notice|warning|error|critical
//     preset: lan                       # VIGIL_PRESET      --preset lan|wan|local
//     insecure_no_encryption: false     #                   --insecure-no-encryption
//     protocol:                         # overrides of the preset, file only
//       probe: {observers, period, timeout, indirect_probes}
//       phi: {threshold, window_size, min_std_deviation, acceptable_pause}
//       lifeguard: {suspicion_min, suspicion_max, vote_health_limit}
//       gossip: {mtu, interval, fanout, sync_interval, retransmit_multiplier,
//                reconnect_interval, reconnect_max_backoff, reconnect_timeout}
//       quorum: {flap_limit, flap_window, max_suspect_share_to_vote, gray_round_failure_share,
//                gray_min_rounds, gray_failure_ratio}
//       election: {heartbeat_interval, lease, election_timeout_min, election_timeout_max,
//                  voters: "a,b,c"}
//     ha: {enabled, max_failed_share, ...}  # file only: AgentConfiguration+HA.swift
//     fencing: {timeout, levels, nodes}     # file only: FencingSettings+Loading.swift
//     recovery: {driver, ...}               # file only: RecoverySettings+Loading.swift
//
// Scalars replace lower layers; `tags` merge key by key (a higher layer wins per
// key); `join` replaces the lower layer's list. An empty environment variable counts
// as unset. Unknown keys are errors, so a typo is never silently ignored.

extension AgentConfiguration {
    /// Builds the configuration from flags, environment and config file.
    ///
    /// - Parameters:
    ///   - flags: the command line; `flags.config` names the config file, if any.
    ///   - environment: the process environment (`VIGIL_*` variables are read).
    ///   - readFile: reads the config file; tests pass file contents directly.
    /// - Throws: ``ConfigurationError`` naming the flag, variable or key at fault.
    public static func load(
        flags: AgentFlags,
        environment: [String: String],
        readFile: (String) throws -> String = AgentConfiguration.readTextFile
    ) throws(ConfigurationError) -> AgentConfiguration {
        var settings = Settings()
        if let path = flags.config {
            let text: String
            do {
                text = try readFile(path)
            } catch let error as ConfigurationError {
                throw error
            } catch let failure as FileSystem.Failure {
                throw ConfigurationError(source: "config file \(path)", message: "cannot read: \(failure.reason)")
            } catch {
                throw ConfigurationError(source: "config file \(path)", message: "cannot read: \(error)")
            }
            settings = try ConfigFileReader(path: path).read(text)
        }
        settings.overlay(with: try Settings(environment: environment))
        settings.overlay(with: try Settings(flags: flags))
        return try settings.resolve()
    }

    /// Reads a UTF-8 text file (the default `readFile` of
    /// ``load(flags:environment:readFile:)``); errors carry `strerror`'s words.
    public static func readTextFile(_ path: String) throws -> String {
        let bytes = try FileSystem.read(path)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ConfigurationError(source: "config file \(path)", message: "is not UTF-8 text")
        }
        return text
    }
}

// MARK: - Values and where they came from

/// Where a value was read: enough to build an error that names it.
struct ConfigurationOrigin: Equatable {
    var source: String
    var key: String?

    static func flag(_ name: String) -> Self { Self(source: "--\(name)") }
    static func environment(_ name: String) -> Self { Self(source: name) }

    func error(_ message: String) -> ConfigurationError {
        ConfigurationError(source: self.source, key: self.key, message: message)
    }
}

struct Sourced<Value> {
    var value: Value
    var origin: ConfigurationOrigin
}

/// One change to the preset, from the config file's `protocol:` section.
private struct ProtocolOverride {
    var key: String
    var origin: ConfigurationOrigin
    var apply: (inout Configuration) -> Void
}

/// The settings of one layer (file, environment or flags), already checked, and
/// after `overlay`, of several.
private struct Settings {
    var name: Sourced<String>?
    var bind: Sourced<Address>?
    var advertise: Sourced<Address>?
    var join: Sourced<[Address]>?
    var tags: [String: Sourced<String>] = [:]
    var dataDirectory: Sourced<String>?
    var control: Sourced<String>?
    var encrypt: Sourced<String>?
    var keyringFile: Sourced<String>?
    var metrics: Sourced<Address>?
    var logLevel: Sourced<Logger.Level>?
    var preset: Sourced<String>?
    var insecureNoEncryption: Sourced<Bool>?
    var overrides: [ProtocolOverride] = []
    /// `ha:`, `fencing:`, `recovery:` (file only).
    var ha: HAFileSettings?

    init() {}

    /// Lets every setting `higher` holds replace this one's.
    mutating func overlay(with higher: Settings) {
        self.name = higher.name ?? self.name
        self.bind = higher.bind ?? self.bind
        self.advertise = higher.advertise ?? self.advertise
        self.join = higher.join ?? self.join
        self.tags.merge(higher.tags) { _, new in new }
        self.dataDirectory = higher.dataDirectory ?? self.dataDirectory
        self.control = higher.control ?? self.control
        self.encrypt = higher.encrypt ?? self.encrypt
        self.keyringFile = higher.keyringFile ?? self.keyringFile
        self.metrics = higher.metrics ?? self.metrics
        self.logLevel = higher.logLevel ?? self.logLevel
        self.preset = higher.preset ?? self.preset
        self.insecureNoEncryption = higher.insecureNoEncryption ?? self.insecureNoEncryption
        self.overrides += higher.overrides
        self.ha = higher.ha ?? self.ha
    }

    init(environment: [String: String]) throws(ConfigurationError) {
        func value(_ name: String) -> String? {
            guard let text = environment[name], !text.isEmpty else { return nil }
            return text
        }
        if let text = value("VIGIL_NAME") {
            self.name = try Check.name(text, .environment("VIGIL_NAME"))
        }
        if let text = value("VIGIL_BIND") {
            self.bind = try Check.address(text, .environment("VIGIL_BIND"), allowsPortZero: true)
        }
        if let text = value("VIGIL_ADVERTISE") {
            self.advertise = try Check.address(text, .environment("VIGIL_ADVERTISE"))
        }
        if let text = value("VIGIL_JOIN") {
            let origin = ConfigurationOrigin.environment("VIGIL_JOIN")
            var seeds: [Address] = []
            for item in text.split(separator: ",") {
                let item = item.trimmingSpaces()
                guard !item.isEmpty else { continue }
                seeds.append(try Check.address(item, origin, expected: Check.seedListExpectation).value)
            }
            self.join = Sourced(value: seeds, origin: origin)
        }
        if let text = value("VIGIL_DATA_DIR") {
            self.dataDirectory = try Check.path(text, .environment("VIGIL_DATA_DIR"))
        }
        if let text = value("VIGIL_CONTROL") {
            self.control = try Check.path(text, .environment("VIGIL_CONTROL"))
        }
        if let text = value("VIGIL_ENCRYPT") {
            self.encrypt = try Check.clusterKey(text, .environment("VIGIL_ENCRYPT"))
        }
        if let text = value("VIGIL_KEYRING_FILE") {
            self.keyringFile = try Check.path(text, .environment("VIGIL_KEYRING_FILE"))
        }
        if let text = value("VIGIL_TAGS") {
            for item in text.split(separator: ",") {
                let item = item.trimmingSpaces()
                guard !item.isEmpty else { continue }
                let (key, tag) = try Check.tag(
                    item, .environment("VIGIL_TAGS"), expected: "must be KEY=VALUE pairs like `zone=a,role=compute`")
                self.tags[key] = tag
            }
        }
        if let text = value("VIGIL_METRICS") {
            self.metrics = try Check.address(text, .environment("VIGIL_METRICS"), allowsPortZero: true)
        }
        if let text = value("VIGIL_LOG_LEVEL") {
            self.logLevel = try Check.logLevel(text, .environment("VIGIL_LOG_LEVEL"))
        }
        if let text = value("VIGIL_PRESET") {
            self.preset = try Check.preset(text, .environment("VIGIL_PRESET"))
        }
    }

    init(flags: AgentFlags) throws(ConfigurationError) {
        if let text = flags.name { self.name = try Check.name(text, .flag("name")) }
        if let text = flags.bind { self.bind = try Check.address(text, .flag("bind"), allowsPortZero: true) }
        if let text = flags.advertise { self.advertise = try Check.address(text, .flag("advertise")) }
        if !flags.join.isEmpty {
            var seeds: [Address] = []
            for text in flags.join {
                seeds.append(try Check.address(text, .flag("join")).value)
            }
            self.join = Sourced(value: seeds, origin: .flag("join"))
        }
        if let text = flags.dataDirectory { self.dataDirectory = try Check.path(text, .flag("data-dir")) }
        if let text = flags.control { self.control = try Check.path(text, .flag("control")) }
        if let text = flags.encrypt { self.encrypt = try Check.clusterKey(text, .flag("encrypt")) }
        if let text = flags.keyringFile { self.keyringFile = try Check.path(text, .flag("keyring-file")) }
        for text in flags.tags {
            let (key, tag) = try Check.tag(text, .flag("tag"), expected: "must be KEY=VALUE like `zone=a`")
            self.tags[key] = tag
        }
        if let text = flags.metrics { self.metrics = try Check.address(text, .flag("metrics"), allowsPortZero: true) }
        if let text = flags.logLevel { self.logLevel = try Check.logLevel(text, .flag("log-level")) }
        if let text = flags.preset { self.preset = try Check.preset(text, .flag("preset")) }
        if flags.insecureNoEncryption {
            self.insecureNoEncryption = Sourced(value: true, origin: .flag("insecure-no-encryption"))
        }
    }

    /// Applies defaults and the rules that span settings.
    func resolve() throws(ConfigurationError) -> AgentConfiguration {
        let cross = ConfigurationOrigin(source: "configuration")
        var result = AgentConfiguration(name: "")
        if let name = self.name {
            result.name = name.value
        } else {
            let hostName = AgentConfiguration.hostName()
            let origin = ConfigurationOrigin(source: "configuration", key: "name")
            guard !hostName.isEmpty else {
                throw origin.error("is not set and the host name is empty; set `--name`, `VIGIL_NAME` or `name:`")
            }
            result.name = try Check.name(hostName, origin).value
        }
        result.bind = self.bind?.value ?? AgentConfiguration.defaultBind
        result.advertise = self.advertise?.value
        result.join = self.join?.value ?? []
        result.tags = self.tags.mapValues(\.value)
        if result.tags.count > WireCodec.maxTagCount {
            // Several layers may add tags; name the highest, whose tags were added last.
            let origins = self.tags.values.map(\.origin)
            let origin =
                [ConfigurationOrigin.flag("tag"), .environment("VIGIL_TAGS")].first(where: origins.contains)
                ?? origins.first!
            throw origin.error("must hold at most \(WireCodec.maxTagCount) tags, got \(result.tags.count)")
        }
        result.dataDirectory = self.dataDirectory?.value ?? AgentConfiguration.defaultDataDirectory
        result.controlPath = self.control?.value
        let socketPath = result.controlSocketPath
        if socketPath.utf8.count > Check.maxSocketPathBytes {
            let origin = self.control?.origin ?? self.dataDirectory?.origin ?? cross
            throw origin.error(
                "makes the control socket path `\(socketPath)` \(socketPath.utf8.count) bytes long, over the "
                    + "\(Check.maxSocketPathBytes) a Unix socket allows; set `--control` to a shorter path")
        }
        result.encryptKey = self.encrypt?.value
        result.keyringFile = self.keyringFile?.value
        result.metricsAddress = self.metrics?.value
        result.logLevel = self.logLevel?.value ?? .info
        result.insecureNoEncryption = self.insecureNoEncryption?.value ?? false

        if let insecure = self.insecureNoEncryption, insecure.value {
            if let key = self.encrypt ?? self.keyringFile {
                throw insecure.origin.error(
                    "asks to run without encryption, but a cluster key is also given (\(Self.describe(key.origin))); "
                        + "remove one of them")
            }
        } else if self.encrypt == nil && self.keyringFile == nil {
            throw cross.error(
                "no cluster key: give one with `--encrypt`, `VIGIL_ENCRYPT` or `encrypt:` (make one with "
                    + "`vigil keygen`) or a keyring with `--keyring-file`; to run unsealed on a trusted test "
                    + "network, pass `--insecure-no-encryption`")
        }

        result.preset = self.preset?.value ?? "lan"
        var configuration = Configuration.preset(named: result.preset)!
        for change in self.overrides {
            change.apply(&configuration)
        }
        let lifeguard = configuration.lifeguard
        if lifeguard.suspicionMin > lifeguard.suspicionMax {
            let (min, max) = (Check.format(lifeguard.suspicionMin), Check.format(lifeguard.suspicionMax))
            let preset = "preset `\(result.preset)`"
            if let change = self.overrides.last(where: { $0.key == "protocol.lifeguard.suspicion_min" }) {
                throw change.origin.error("(\(min)) must not exceed `suspicion_max` (\(max), with \(preset))")
            }
            let change = self.overrides.last { $0.key == "protocol.lifeguard.suspicion_max" }
            throw (change?.origin ?? cross).error(
                "(\(max)) must not be below `suspicion_min` (\(min), with \(preset))")
        }
        let election = configuration.election
        if election.electionTimeoutMin > election.electionTimeoutMax {
            let change =
                self.overrides.last { $0.key == "protocol.election.election_timeout_min" }
                ?? self.overrides.last { $0.key == "protocol.election.election_timeout_max" }
            throw (change?.origin ?? cross).error(
                "election_timeout_min (\(Check.format(election.electionTimeoutMin))) must not exceed "
                    + "election_timeout_max (\(Check.format(election.electionTimeoutMax)))")
        }
        // The leader must be able to renew its lease at least twice within it, or one
        // lost heartbeat costs the cluster its leader.
        if election.heartbeatInterval.scaled(by: 2) > election.leaseDuration {
            let change =
                self.overrides.last { $0.key == "protocol.election.heartbeat_interval" }
                ?? self.overrides.last { $0.key == "protocol.election.lease" }
            throw (change?.origin ?? cross).error(
                "heartbeat_interval (\(Check.format(election.heartbeatInterval))) must be at most half of "
                    + "lease (\(Check.format(election.leaseDuration)))")
        }
        if let ha = self.ha {
            configuration.ha = ha.ha
            result.fencing = ha.fencing
            result.recovery = ha.recovery
        }
        result.protocolConfiguration = configuration
        return result
    }

    private static func describe(_ origin: ConfigurationOrigin) -> String {
        origin.key.map { "`\($0)` in \(origin.source)" } ?? origin.source
    }
}

// MARK: - The config file

/// Walks the YAML tree of a config file by hand rather than through `Decodable`, so
/// that unknown keys are refused and every error names the dotted key.
private struct ConfigFileReader {
    var path: String

    static let topLevelKeys = [
        "name", "bind", "advertise", "join", "tags", "data_dir", "control", "encrypt", "keyring_file", "metrics",
        "log_level", "preset", "insecure_no_encryption", "protocol", "ha", "fencing", "recovery",
    ]

    func origin(_ key: String) -> ConfigurationOrigin {
        ConfigurationOrigin(source: self.path, key: key)
    }

    func read(_ text: String) throws(ConfigurationError) -> Settings {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw ConfigurationError(source: self.path, message: "is not valid YAML: \(Self.describe(error))")
        }
        var settings = Settings()
        guard let root else { return settings }  // an empty file sets nothing
        var haSections: [String: Node] = [:]
        guard case .mapping(let mapping) = root else {
            throw ConfigurationError(
                source: self.path,
                message: "must be a mapping of settings like `name: node-1`, got \(Self.describe(root))")
        }
        for (keyNode, value) in mapping {
            let key = try self.keyName(keyNode, in: nil)
            let origin = self.origin(key)
            switch key {
            case "name":
                if let text = try self.scalar(value, origin, Check.nameExpectation) {
                    settings.name = try Check.name(text, origin)
                }
            case "bind":
                if let text = try self.scalar(value, origin, Check.addressExpectation) {
                    settings.bind = try Check.address(text, origin, allowsPortZero: true)
                }
            case "advertise":
                if let text = try self.scalar(value, origin, Check.addressExpectation) {
                    settings.advertise = try Check.address(text, origin)
                }
            case "metrics":
                if let text = try self.scalar(value, origin, Check.addressExpectation) {
                    settings.metrics = try Check.address(text, origin, allowsPortZero: true)
                }
            case "join":
                settings.join = try self.seeds(value, origin)
            case "tags":
                settings.tags = try self.tags(value, origin)
            case "data_dir":
                if let text = try self.scalar(value, origin, Check.pathExpectation) {
                    settings.dataDirectory = try Check.path(text, origin)
                }
            case "control":
                if let text = try self.scalar(value, origin, Check.pathExpectation) {
                    settings.control = try Check.path(text, origin)
                }
            case "keyring_file":
                if let text = try self.scalar(value, origin, Check.pathExpectation) {
                    settings.keyringFile = try Check.path(text, origin)
                }
            case "encrypt":
                if let text = try self.scalar(value, origin, Check.keyExpectation) {
                    settings.encrypt = try Check.clusterKey(text, origin)
                }
            case "log_level":
                if let text = try self.scalar(value, origin, Check.logLevelExpectation) {
                    settings.logLevel = try Check.logLevel(text, origin)
                }
            case "preset":
                if let text = try self.scalar(value, origin, Check.presetExpectation) {
                    settings.preset = try Check.preset(text, origin)
                }
            case "insecure_no_encryption":
                if let text = try self.scalar(value, origin, Check.boolExpectation) {
                    settings.insecureNoEncryption = Sourced(value: try Check.bool(text, origin), origin: origin)
                }
            case "protocol":
                settings.overrides = try self.protocolOverrides(value)
            case "ha", "fencing", "recovery":
                // Read together below: whether HA is on depends on all three.
                if !Self.isNull(value) { haSections[key] = value }
            default:
                throw self.unknownKey(key, known: Self.topLevelKeys, in: nil)
            }
        }
        settings.ha = try HAFileSettings.read(
            ha: haSections["ha"], fencing: haSections["fencing"], recovery: haSections["recovery"], source: self.path)
        return settings
    }

    private func seeds(_ node: Node, _ origin: ConfigurationOrigin) throws(ConfigurationError) -> Sourced<[Address]>? {
        let expected = "must be a list of HOST:PORT addresses like `[10.0.0.1:7946]`"
        switch node {
        case .sequence(let sequence):
            var seeds: [Address] = []
            for (index, item) in sequence.enumerated() {
                let itemOrigin = ConfigurationOrigin(source: self.path, key: "\(origin.key!)[\(index)]")
                guard let text = try self.scalar(item, itemOrigin, Check.addressExpectation) else {
                    throw itemOrigin.error("\(Check.addressExpectation), got nothing")
                }
                seeds.append(try Check.address(text, itemOrigin).value)
            }
            return Sourced(value: seeds, origin: origin)
        case _ where Self.isNull(node):
            return nil
        default:
            throw origin.error("\(expected), got \(Self.describe(node))")
        }
    }

    private func tags(_ node: Node, _ origin: ConfigurationOrigin) throws(ConfigurationError) -> [String: Sourced<
        String
    >] {
        if Self.isNull(node) { return [:] }
        guard case .mapping(let mapping) = node else {
            throw origin.error("must be a mapping of tags like `{zone: a, role: compute}`, got \(Self.describe(node))")
        }
        var tags: [String: Sourced<String>] = [:]
        for (keyNode, value) in mapping {
            let key = try self.keyName(keyNode, in: origin.key)
            let tagOrigin = ConfigurationOrigin(source: self.path, key: "\(origin.key!).\(key)")
            let text = try self.scalar(value, tagOrigin, "must be a text value") ?? ""
            try Check.wireString(key, tagOrigin, what: "a tag key")
            try Check.wireString(text, tagOrigin, what: "a tag value")
            tags[key] = Sourced(value: text, origin: tagOrigin)
        }
        return tags
    }

    private func protocolOverrides(_ node: Node) throws(ConfigurationError) -> [ProtocolOverride] {
        if Self.isNull(node) { return [] }
        let groups = ProtocolKeys.groups()
        guard case .mapping(let mapping) = node else {
            throw self.origin("protocol").error(
                "must be a mapping of setting groups (\(groups.map(\.name).joined(separator: ", "))), "
                    + "got \(Self.describe(node))")
        }
        var overrides: [ProtocolOverride] = []
        for (groupNode, groupValue) in mapping {
            let groupName = try self.keyName(groupNode, in: "protocol")
            guard let group = groups.first(where: { $0.name == groupName }) else {
                throw self.unknownKey("protocol.\(groupName)", known: groups.map(\.name), in: "protocol")
            }
            let groupKey = "protocol.\(groupName)"
            if Self.isNull(groupValue) { continue }
            guard case .mapping(let fields) = groupValue else {
                throw self.origin(groupKey).error(
                    "must be a mapping of settings (\(group.fields.map(\.name).joined(separator: ", "))), "
                        + "got \(Self.describe(groupValue))")
            }
            for (fieldNode, fieldValue) in fields {
                let fieldName = try self.keyName(fieldNode, in: groupKey)
                let key = "\(groupKey).\(fieldName)"
                guard let field = group.fields.first(where: { $0.name == fieldName }) else {
                    throw self.unknownKey(key, known: group.fields.map(\.name), in: groupKey)
                }
                let origin = self.origin(key)
                guard let text = try self.scalar(fieldValue, origin, field.kind.expectation) else { continue }
                let apply = try field.kind.parse(text, origin)
                overrides.append(ProtocolOverride(key: key, origin: origin, apply: apply))
            }
        }
        return overrides
    }

    /// The text of a mapping key; keys must be plain text.
    private func keyName(_ node: Node, in parent: String?) throws(ConfigurationError) -> String {
        guard case .scalar(let scalar) = node else {
            let place = parent.map { " in `\($0)`" } ?? ""
            throw ConfigurationError(
                source: self.path, message: "has a key\(place) that is \(Self.describe(node)), not a name")
        }
        return scalar.string
    }

    /// The text of a scalar, `nil` for an explicit null (`key:` or `key: ~`), which
    /// leaves the setting to lower layers. Lists and mappings are errors.
    private func scalar(
        _ node: Node, _ origin: ConfigurationOrigin, _ expected: String
    ) throws(ConfigurationError) -> String? {
        guard case .scalar(let scalar) = node else {
            throw origin.error("\(expected), got \(Self.describe(node))")
        }
        return Self.isNull(node) ? nil : scalar.string
    }

    private func unknownKey(_ key: String, known: [String], in parent: String?) -> ConfigurationError {
        let place = parent.map { " in `\($0)`" } ?? ""
        return self.origin(key).error("is not a known setting; the keys\(place) are \(known.joined(separator: ", "))")
    }

    static func isNull(_ node: Node) -> Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// A short, one-line rendering of a value for "got ..." in errors.
    static func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar): Check.quote(scalar.string)
        case .sequence: "a list"
        case .mapping: "a mapping"
        case .alias: "an alias"
        }
    }

    /// YAML errors on one line: position and problem, without Yams's source snippet.
    static func describe(_ error: any Error) -> String {
        guard let error = error as? YamlError else { return Check.oneLine("\(error)") }
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let context = context.map { "\($0.text): " } ?? ""
            return "line \(mark.line), column \(mark.column): \(context)\(problem)"
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.sorted().map { "`\($0)`" }.joined(separator: ", ")
            return "line \(context.mark.line): duplicate key \(keys)"
        case .reader(let problem, let offset, _, _):
            return offset.map { "\(problem) at byte \($0)" } ?? problem
        default:
            return Check.oneLine("\(error)")
        }
    }
}

// MARK: - Protocol overrides

/// The `protocol:` keys, by group, and how each is read and bounded.
private enum ProtocolKeys {
    struct Group {
        var name: String
        var fields: [Field]
    }

    struct Field {
        var name: String
        var kind: Kind
    }

    enum Kind {
        /// A whole number in `range`.
        case count(WritableKeyPath<Configuration, Int>, ClosedRange<Int>)
        /// A duration, above zero unless `allowsZero`.
        case duration(WritableKeyPath<Configuration, Duration>, allowsZero: Bool)
        /// A finite number above zero.
        case positive(WritableKeyPath<Configuration, Double>)
        /// A number in `0...1`, or a percentage.
        case fraction(WritableKeyPath<Configuration, Double>)
        /// Member names separated by commas, none empty or repeated.
        case names(WritableKeyPath<Configuration, [String]>)

        var expectation: String {
            switch self {
            case .count(_, let range):
                range.upperBound == .max
                    ? "must be a whole number of at least \(range.lowerBound)"
                    : "must be a whole number from \(range.lowerBound) to \(range.upperBound)"
            case .duration(_, let allowsZero):
                allowsZero ? Check.durationExpectation : "must be a duration above zero like `500ms`"
            case .positive: "must be a number above zero like `8`"
            case .fraction: "must be a fraction from 0 to 1 like `0.5` or `50%`"
            case .names: "must be member names separated by commas, like `compute-01,compute-02,compute-03`"
            }
        }

        func parse(
            _ text: String, _ origin: ConfigurationOrigin
        ) throws(ConfigurationError) -> (inout Configuration) -> Void {
            let fail = origin.error("\(self.expectation), got \(Check.quote(text))")
            switch self {
            case .count(let path, let range):
                guard let value = Int(text.trimmingSpaces()), range.contains(value) else { throw fail }
                return { $0[keyPath: path] = value }
            case .duration(let path, let allowsZero):
                guard let value = Check.duration(text), allowsZero || value > .zero else { throw fail }
                return { $0[keyPath: path] = value }
            case .positive(let path):
                guard let value = Double(text.trimmingSpaces()), value.isFinite, value > 0 else { throw fail }
                return { $0[keyPath: path] = value }
            case .fraction(let path):
                guard let value = Check.fraction(text) else { throw fail }
                return { $0[keyPath: path] = value }
            case .names(let path):
                let names = text.split(separator: ",", omittingEmptySubsequences: false).map {
                    String($0).trimmingSpaces()
                }
                guard !names.isEmpty, !names.contains(where: \.isEmpty), Set(names).count == names.count,
                    names.allSatisfy({ $0.utf8.count <= WireCodec.maxStringBytes })
                else { throw fail }
                return { $0[keyPath: path] = names }
            }
        }
    }

    static func groups() -> [Group] {
        [
            Group(
                name: "probe",
                fields: [
                    // A certificate needs votes from more than half the observers, and
                    // carries at most `maxCertificateVotes` on the wire.
                    Field(name: "observers", kind: .count(\.probe.observers, 1...WireCodec.maxCertificateVotes)),
                    Field(name: "period", kind: .duration(\.probe.period, allowsZero: false)),
                    Field(name: "timeout", kind: .duration(\.probe.timeout, allowsZero: false)),
                    Field(name: "indirect_probes", kind: .count(\.probe.indirectProbes, 0...16)),
                ]),
            Group(
                name: "phi",
                fields: [
                    Field(name: "threshold", kind: .positive(\.phi.threshold)),
                    Field(name: "window_size", kind: .count(\.phi.windowSize, 1...10_000)),
                    Field(name: "min_std_deviation", kind: .duration(\.phi.minStdDeviation, allowsZero: false)),
                    Field(name: "acceptable_pause", kind: .duration(\.phi.acceptablePause, allowsZero: true)),
                ]),
            Group(
                name: "lifeguard",
                fields: [
                    Field(name: "suspicion_min", kind: .duration(\.lifeguard.suspicionMin, allowsZero: false)),
                    Field(name: "suspicion_max", kind: .duration(\.lifeguard.suspicionMax, allowsZero: false)),
                    Field(name: "vote_health_limit", kind: .count(\.lifeguard.voteHealthLimit, 0...Int.max)),
                ]),
            Group(
                name: "gossip",
                fields: [
                    // 576: the least datagram every IPv4 host must accept (RFC 791);
                    // 65000 stays under UDP's 65507-byte payload limit with room to spare.
                    Field(name: "mtu", kind: .count(\.gossip.mtu, 576...65_000)),
                    Field(name: "interval", kind: .duration(\.gossip.interval, allowsZero: false)),
                    Field(name: "fanout", kind: .count(\.gossip.fanout, 1...64)),
                    Field(name: "sync_interval", kind: .duration(\.gossip.syncInterval, allowsZero: false)),
                    Field(name: "retransmit_multiplier", kind: .count(\.gossip.retransmitMultiplier, 1...64)),
                    Field(name: "reconnect_interval", kind: .duration(\.gossip.reconnectInterval, allowsZero: false)),
                    Field(
                        name: "reconnect_max_backoff", kind: .duration(\.gossip.reconnectMaxBackoff, allowsZero: false)),
                    Field(name: "reconnect_timeout", kind: .duration(\.gossip.reconnectTimeout, allowsZero: true)),
                ]),
            Group(
                name: "election",
                fields: [
                    Field(
                        name: "heartbeat_interval", kind: .duration(\.election.heartbeatInterval, allowsZero: false)),
                    Field(name: "lease", kind: .duration(\.election.leaseDuration, allowsZero: false)),
                    Field(
                        name: "election_timeout_min", kind: .duration(\.election.electionTimeoutMin, allowsZero: false)),
                    Field(
                        name: "election_timeout_max", kind: .duration(\.election.electionTimeoutMax, allowsZero: false)),
                    Field(name: "voters", kind: .names(\.election.voters)),
                ]),
            Group(
                name: "quorum",
                fields: [
                    Field(name: "flap_limit", kind: .count(\.quorum.flapLimit, 1...Int.max)),
                    Field(name: "flap_window", kind: .duration(\.quorum.flapWindow, allowsZero: false)),
                    Field(name: "max_suspect_share_to_vote", kind: .fraction(\.quorum.maxSuspectShareToVote)),
                    Field(name: "gray_round_failure_share", kind: .fraction(\.quorum.grayRoundFailureShare)),
                    Field(name: "gray_min_rounds", kind: .count(\.quorum.grayMinRounds, 1...Int.max)),
                    Field(name: "gray_failure_ratio", kind: .positive(\.quorum.grayFailureRatio)),
                ]),
        ]
    }
}

// MARK: - Checks shared by flags, environment and file

/// Parses and bounds single values; each failure names its origin.
enum Check {
    static let addressExpectation = "must be HOST:PORT like `0.0.0.0:7946`"
    static let seedListExpectation =
        "must be HOST:PORT addresses separated by commas, like `10.0.0.1:7946,10.0.0.2:7946`"
    static let nameExpectation = "must be a node name like `compute-17`"
    static let pathExpectation = "must be a file system path"
    static let keyExpectation = "must be a cluster key in base64 (make one with `vigil keygen`)"
    static let presetExpectation = "must be one of \(Configuration.presetNames.joined(separator: ", "))"
    static let boolExpectation = "must be `true` or `false`"
    static let durationExpectation = "must be a duration like `500ms`"
    /// `sun_path` holds 108 bytes, the last one the terminating NUL.
    static let maxSocketPathBytes = 107

    static func name(_ text: String, _ origin: ConfigurationOrigin) throws(ConfigurationError) -> Sourced<String> {
        guard !text.isEmpty else { throw origin.error("\(Self.nameExpectation), got an empty name") }
        try Self.wireString(text, origin, what: "a name")
        return Sourced(value: text, origin: origin)
    }

    /// - Parameter allowsPortZero: port 0 asks the kernel for a free port, which only
    ///   makes sense where this node listens (`bind`, `metrics`).
    static func address(
        _ text: String, _ origin: ConfigurationOrigin, allowsPortZero: Bool = false,
        expected: String = Check.addressExpectation
    ) throws(ConfigurationError) -> Sourced<Address> {
        guard let address = Address(parsing: text.trimmingSpaces()) else {
            throw origin.error("\(expected), got \(Self.quote(text))")
        }
        guard allowsPortZero || address.port != 0 else {
            throw origin.error("\(expected) with a port other than 0, got \(Self.quote(text))")
        }
        try Self.wireString(address.host, origin, what: "a host")
        return Sourced(value: address, origin: origin)
    }

    static func path(_ text: String, _ origin: ConfigurationOrigin) throws(ConfigurationError) -> Sourced<String> {
        guard !text.isEmpty, !text.contains("\0") else {
            throw origin.error("\(Self.pathExpectation), got \(Self.quote(text))")
        }
        return Sourced(value: text, origin: origin)
    }

    /// Checks the key now, so that a bad key fails at start with its source named.
    /// The key itself never appears in an error.
    static func clusterKey(_ text: String, _ origin: ConfigurationOrigin) throws(ConfigurationError) -> Sourced<String>
    {
        do {
            _ = try ClusterKey(base64: text)
        } catch {
            throw origin.error("must be a cluster key in base64, but the \(error)")
        }
        return Sourced(value: text, origin: origin)
    }

    static let logLevelExpectation =
        "must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))"

    static func logLevel(_ text: String, _ origin: ConfigurationOrigin) throws(ConfigurationError)
        -> Sourced<Logger.Level>
    {
        guard let level = Logger.Level(rawValue: text.trimmingSpaces().lowercased()) else {
            throw origin.error("\(Self.logLevelExpectation), got \(Self.quote(text))")
        }
        return Sourced(value: level, origin: origin)
    }

    static func preset(_ text: String, _ origin: ConfigurationOrigin) throws(ConfigurationError) -> Sourced<String> {
        let name = text.trimmingSpaces().lowercased()
        guard Configuration.preset(named: name) != nil else {
            throw origin.error("\(Self.presetExpectation), got \(Self.quote(text))")
        }
        return Sourced(value: name, origin: origin)
    }

    static func bool(_ text: String, _ origin: ConfigurationOrigin) throws(ConfigurationError) -> Bool {
        switch text.trimmingSpaces().lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw origin.error("\(Self.boolExpectation), got \(Self.quote(text))")
        }
    }

    /// `KEY=VALUE`, split at the first `=`; the value may be empty.
    static func tag(
        _ text: String, _ origin: ConfigurationOrigin, expected: String
    ) throws(ConfigurationError) -> (String, Sourced<String>) {
        guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
            throw origin.error("\(expected), got \(Self.quote(text))")
        }
        let key = String(text[..<equals])
        let value = String(text[text.index(after: equals)...])
        try Self.wireString(key, origin, what: "a tag key")
        try Self.wireString(value, origin, what: "a tag value")
        return (key, Sourced(value: value, origin: origin))
    }

    /// Names, hosts and tags travel with a one-byte length (`Member.validateForWire`).
    static func wireString(_ text: String, _ origin: ConfigurationOrigin, what: String) throws(ConfigurationError) {
        let count = text.utf8.count
        guard count <= WireCodec.maxStringBytes else {
            throw origin.error(
                "holds \(what) of \(count) bytes; at most \(WireCodec.maxStringBytes) bytes of UTF-8 fit on the wire")
        }
    }

    /// Parses a duration: one or more `NUMBER UNIT` parts, units `ns`, `us`, `ms`,
    /// `s`, `m`, `h` (`500ms`, `2s`, `1m30s`, `1.5s`); a bare `0` is zero.
    /// (The same rules as the CLI's `ArgumentParsing.duration`.)
    static func duration(_ text: String) -> Duration? {
        Duration(parsing: text)
    }

    /// Writes a duration the way `duration(_:)` reads it: `1m30s`, `500ms`, `1.25s`.
    static func format(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let nanoseconds = attoseconds / 1_000_000_000
        if seconds == 0 {
            return nanoseconds % 1_000_000 == 0 ? "\(nanoseconds / 1_000_000)ms" : "\(nanoseconds)ns"
        }
        if nanoseconds != 0 {
            return "\(Double(seconds) + Double(nanoseconds) / 1e9)s"
        }
        var parts = ""
        if seconds >= 3600 { parts += "\(seconds / 3600)h" }
        if seconds % 3600 >= 60 { parts += "\(seconds % 3600 / 60)m" }
        if seconds % 60 != 0 { parts += "\(seconds % 60)s" }
        return parts
    }

    /// A fraction in `0...1`, written `0.05` or `5%`.
    static func fraction(_ text: String) -> Double? {
        let s = text.trimmingSpaces()
        let value = s.hasSuffix("%") ? Double(s.dropLast()).map { $0 / 100 } : Double(s)
        guard let value, value.isFinite, (0...1).contains(value) else { return nil }
        return value
    }

    /// A value quoted for "got ..." in an error: one line, at most 60 characters.
    static func quote(_ text: String) -> String {
        let line = Self.oneLine(text)
        let shown = line.count > 60 ? "\(line.prefix(57))..." : line
        return "`\(shown)`"
    }

    static func oneLine(_ text: String) -> String {
        String(text.map { $0.isNewline || ($0.asciiValue.map { $0 < 0x20 } ?? false) ? " " : $0 })
    }
}

extension StringProtocol {
    fileprivate func trimmingSpaces() -> String {
        var s = Substring(self)
        while let first = s.first, first.isWhitespace { s = s.dropFirst() }
        while let last = s.last, last.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}

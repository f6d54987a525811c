import Foundation
import Yams

// The `fencing:` section of the config file (YAML), file only:
//
//     fencing:
//       timeout: 60s                     # one fence method, polling included (60s)
//       levels:                          # every node's levels, first tried first
//         - - method: redfish            # level 1: one method
//             url: https://{node}-bmc.example:443
//             system: /redfish/v1/Systems/1
//             username: vigil
//             password_file: /etc/vigil/bmc-password
//             insecure: false            # or ca_file: /etc/vigil/bmc-ca.pem
//         - - method: fence_agent        # level 2, tried when level 1 fails
//             agent: fence_ipmilan
//             options: {ip: "{node}-ipmi.example", username: vigil, lanplus: 1, cipher: 3}
//             password_file: /etc/vigil/ipmi-password
//       nodes:                           # a node's own levels instead of `levels`
//         compute-07:
//           levels: [[{method: script, path: /usr/local/bin/pdu-off, args: ["7"]}]]
//
// A level is a *list* of methods that must all confirm off (`FenceLevels`), never a
// single mapping: `[{...}, {...}]` under a level is two PDUs both switched off, so the
// shape is explicit. Text values may hold `{node}`, replaced by the node's name.
// Password files are read (and so checked) at load, unless their path holds `{node}`:
// then at each fence, where a missing one fails that fence loudly.

extension FencingSettings {
    /// The method names of `method:`.
    static let methodNames = ["redfish", "fence_agent", "ipmitool", "script"]

    /// Reads the `fencing:` section.
    /// - Parameters:
    ///   - node: the section's YAML node (a mapping).
    ///   - source: the config file's path, for errors.
    /// - Throws: `ConfigurationError` naming the dotted key at fault.
    public static func read(_ node: Node, source: String) throws(ConfigurationError) -> FencingSettings {
        let root = try ConfigSection(node: node, key: "fencing", source: source, allowed: ["timeout", "levels", "nodes"])
        var settings = FencingSettings()
        if let timeout = try root.duration("timeout") { settings.timeout = timeout }
        if let levels = root.value("levels") {
            settings.levels = try Self.levels(levels, key: "fencing.levels", source: source)
        }
        if let nodes = root.value("nodes") {
            guard case .mapping(let mapping) = nodes else {
                throw root.error("nodes", "must be a mapping of node names to `{levels: [...]}`")
            }
            for (name, value) in mapping {
                guard case .scalar(let scalar) = name, !scalar.string.isEmpty else {
                    throw root.error("nodes", "must be keyed by node names")
                }
                let entry = try ConfigSection(
                    node: value, key: "fencing.nodes.\(scalar.string)", source: source, allowed: ["levels"])
                guard let levels = entry.value("levels") else {
                    throw entry.error("levels", "is required: this node's fence levels, like `[[{method: redfish, ...}]]`")
                }
                settings.nodes[scalar.string] = try Self.levels(levels, key: "\(entry.key).levels", source: source)
            }
        }
        if settings.levels.isEmpty && settings.nodes.isEmpty {
            throw root.error("levels", "is required (or `nodes`): the fence levels, like `[[{method: redfish, ...}]]`")
        }
        return settings
    }

    private static func levels(_ node: Node, key: String, source: String) throws(ConfigurationError) -> [Level] {
        guard case .sequence(let levels) = node, !levels.isEmpty else {
            throw ConfigurationError(
                source: source, key: key,
                message: "must be a list of fence levels, each a list of methods, like `[[{method: redfish, ...}]]`")
        }
        var result: [Level] = []
        for (index, level) in levels.enumerated() {
            let levelKey = "\(key)[\(index)]"
            guard case .sequence(let methods) = level, !methods.isEmpty else {
                throw ConfigurationError(
                    source: source, key: levelKey,
                    message: "must be a list of fence methods that must all confirm off, like "
                        + "`[{method: redfish, ...}]` (write `- [{...}]`; a second level is a second list)")
            }
            var parsed: Level = []
            for (position, method) in methods.enumerated() {
                parsed.append(try Self.method(method, key: "\(levelKey)[\(position)]", source: source))
            }
            result.append(parsed)
        }
        return result
    }

    private static func method(_ node: Node, key: String, source: String) throws(ConfigurationError) -> Method {
        guard case .mapping(let mapping) = node, let name = mapping[Node("method")]?.string else {
            throw ConfigurationError(
                source: source, key: "\(key).method",
                message: "is required: one of \(Self.methodNames.map { "`\($0)`" }.joined(separator: ", "))")
        }
        switch name {
        case "redfish":
            let section = try ConfigSection(node: node, key: key, source: source, allowed: [
                "method", "url", "system", "username", "password_file", "insecure", "ca_file", "reset_type",
                "poll_interval", "connect_timeout",
            ])
            let url = try section.required("url", "the BMC's address like `https://{node}-bmc.example`")
            guard url.hasPrefix("https://") || url.hasPrefix("http://") else {
                throw section.error("url", "must start with https:// (or http://), got `\(url)`")
            }
            let system = try section.required("system", "the node's ComputerSystem, like `/redfish/v1/Systems/1`")
            guard system.hasPrefix("/") else {
                throw section.error("system", "must be a path like `/redfish/v1/Systems/1`, got `\(system)`")
            }
            var settings = RedfishSettings(
                baseURL: url, systemPath: system, username: try section.required("username", "the BMC account"),
                passwordFile: try Self.passwordFile(section, method: "redfish")!)
            settings.insecure = try section.bool("insecure") ?? false
            if let ca = try section.string("ca_file") {
                try Self.requireReadable(ca, section, "ca_file", what: "the CA certificate (PEM)")
                settings.caFile = ca
            }
            if let reset = try section.string("reset_type") { settings.resetType = reset }
            if let poll = try section.duration("poll_interval") { settings.pollInterval = poll }
            if let connect = try section.duration("connect_timeout") { settings.connectTimeout = connect }
            return .redfish(settings)
        case "fence_agent":
            let section = try ConfigSection(
                node: node, key: key, source: source, allowed: ["method", "agent", "options", "password_file"])
            let agent = try section.required("agent", "the fence agent, like `fence_redfish` or `fence_ipmilan`")
            if !agent.contains(Self.nodePlaceholder), ChildProcess.locate(agent) == nil {
                throw section.error(
                    "agent", "`\(agent)` is not found (looked in \(ChildProcess.searchPath)); install Debian's "
                        + "fence-agents or give the agent's full path")
            }
            let settings = FenceAgentSettings(
                agent: agent, options: try section.stringMap("options") ?? [:],
                passwordFile: try Self.passwordFile(section, method: agent, required: false))
            if let (option, problem) = settings.optionProblem { throw section.error("options.\(option)", problem) }
            return .fenceAgent(settings)
        case "ipmitool":
            let section = try ConfigSection(node: node, key: key, source: source, allowed: [
                "method", "host", "port", "username", "password_file", "interface", "cipher_suite", "privilege",
                "executable", "poll_interval",
            ])
            var settings = IPMIToolSettings(
                host: try section.required("host", "the BMC's address"),
                username: try section.required("username", "the BMC account"),
                passwordFile: try Self.passwordFile(section, method: "ipmitool")!)
            if let port = try section.integer("port", atLeast: 1) {
                guard port <= 65535 else { throw section.error("port", "must be a port from 1 to 65535, got \(port)") }
                settings.port = port
            }
            if let interface = try section.string("interface") { settings.interface = interface }
            if let cipher = try section.integer("cipher_suite", atLeast: 0) { settings.cipherSuite = cipher }
            settings.privilegeLevel = try section.string("privilege")
            if let executable = try section.string("executable") { settings.executable = executable }
            if let poll = try section.duration("poll_interval") { settings.pollInterval = poll }
            return .ipmitool(settings)
        case "script":
            let section = try ConfigSection(node: node, key: key, source: source, allowed: ["method", "path", "args", "env"])
            let path = try section.required("path", "the fence program, an absolute path")
            if !path.contains(Self.nodePlaceholder), ChildProcess.locate(path) == nil {
                throw section.error("path", "`\(path)` is not an executable file")
            }
            return .script(
                ScriptFenceSettings(
                    executable: path, arguments: try section.strings("args") ?? [],
                    environment: try section.stringMap("env") ?? [:]))
        default:
            throw ConfigurationError(
                source: source, key: "\(key).method",
                message: "must be one of \(Self.methodNames.map { "`\($0)`" }.joined(separator: ", ")), got `\(name)`")
        }
    }

    /// `password_file`, read once now so that a missing or unreadable file stops the
    /// agent at start rather than at its first fence (unless its path holds `{node}`).
    /// The password itself is not kept: drivers read the file at every fence.
    private static func passwordFile(
        _ section: ConfigSection, method: String, required: Bool = true
    ) throws(ConfigurationError) -> String? {
        guard let path = try section.string("password_file"), !path.isEmpty else {
            guard !required else {
                throw section.error("password_file", "is required: a file whose first line is the password (never the password itself)")
            }
            return nil
        }
        if !path.contains(Self.nodePlaceholder) {
            do throws(FenceError) {
                _ = try FenceSecret.read(fromFile: path, method: method)
            } catch {
                throw section.error("password_file", error.message)
            }
        }
        return path
    }

    private static func requireReadable(
        _ path: String, _ section: ConfigSection, _ name: String, what: String
    ) throws(ConfigurationError) {
        guard path.contains(Self.nodePlaceholder) || FileManager.default.isReadableFile(atPath: path) else {
            throw section.error(name, "cannot read \(path): give a readable file holding \(what)")
        }
    }
}

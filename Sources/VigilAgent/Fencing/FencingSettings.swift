import Logging

/// How this agent fences any node of the cluster, should it lead: the `fencing:`
/// section of the configuration file (read in `FencingSettings+Loading.swift`).
///
/// Every agent holds the whole map, not only its own BMC: any member may become the
/// leader, and only the leader fences.
public struct FencingSettings: Sendable, Equatable {
    /// One fence method of a level, with its driver's settings.
    public enum Method: Sendable, Equatable {
        case redfish(RedfishSettings)
        case fenceAgent(FenceAgentSettings)
        case ipmitool(IPMIToolSettings)
        case script(ScriptFenceSettings)
    }

    /// The methods of one level: *all* of them must confirm power-off for the level
    /// to fence the node (say, both PDUs of a dual-supply server); see `FenceLevels`.
    public typealias Level = [Method]

    /// Replaced by the node's name in every text value of a level, so that one
    /// default serves hundreds of nodes: `url: https://{node}-bmc.example`.
    public static let nodePlaceholder = "{node}"

    /// `timeout`: how long one fence method may take, its polling for Off included
    /// (`FenceRequest.timeout`). Default 60 s, Pacemaker's `stonith-timeout`: BMCs
    /// take from under a second to tens of seconds to report Off. Methods run one
    /// after another, so a node's whole fence takes at most this times its methods.
    public var timeout: Duration
    /// `levels`: the levels of every node without an entry in `nodes`, first tried
    /// first. Text values may hold `{node}`. Default none.
    public var levels: [Level]
    /// `nodes: {NAME: {levels: [...]}}`: a node's own levels, instead of `levels`.
    public var nodes: [String: [Level]]

    public init(timeout: Duration = .seconds(60), levels: [Level] = [], nodes: [String: [Level]] = [:]) {
        self.timeout = timeout
        self.levels = levels
        self.nodes = nodes
    }

    /// `node`'s levels with `{node}` replaced by its name; `nil` when it has none.
    public func levels(for node: String) -> [Level]? {
        let levels = self.nodes[node] ?? self.levels
        guard !levels.isEmpty else { return nil }
        return levels.map { level in level.map { $0.substituting(node: node) } }
    }

    /// The longest one node's fence can take: `timeout` for every method of its
    /// levels (each level may fail at its last method before the next is tried).
    public var longestFence: Duration {
        let most = ([self.levels] + Array(self.nodes.values)).map { $0.reduce(0) { $0 + $1.count } }.max() ?? 0
        return self.timeout * most
    }

    /// The longest fence of `node` (see `longestFence`).
    func longestFence(of node: String) -> Duration {
        self.timeout * (self.nodes[node] ?? self.levels).reduce(0) { $0 + $1.count }
    }
}

extension FencingSettings.Method {
    /// The method's name, as in the config file (`method:`).
    public var name: String {
        switch self {
        case .redfish: "redfish"
        case .fenceAgent: "fence_agent"
        case .ipmitool: "ipmitool"
        case .script: "script"
        }
    }

    /// The driver that carries it out.
    public func makeDriver() -> any FenceDriver {
        switch self {
        case .redfish(let settings): RedfishFenceDriver(settings: settings)
        case .fenceAgent(let settings): FenceAgentDriver(settings: settings)
        case .ipmitool(let settings): IPMIToolFenceDriver(settings: settings)
        case .script(let settings): ScriptFenceDriver(settings: settings)
        }
    }

    /// This method for `node`: `{node}` replaced in every text value.
    public func substituting(node: String) -> Self {
        let put = { (text: String) in text.replacingOccurrences(of: FencingSettings.nodePlaceholder, with: node) }
        switch self {
        case .redfish(var settings):
            settings.baseURL = put(settings.baseURL)
            settings.systemPath = put(settings.systemPath)
            settings.username = put(settings.username)
            settings.passwordFile = put(settings.passwordFile)
            settings.caFile = settings.caFile.map(put)
            settings.resetType = put(settings.resetType)
            return .redfish(settings)
        case .fenceAgent(var settings):
            settings.agent = put(settings.agent)
            settings.options = settings.options.mapValues(put)
            settings.passwordFile = settings.passwordFile.map(put)
            return .fenceAgent(settings)
        case .ipmitool(var settings):
            settings.host = put(settings.host)
            settings.username = put(settings.username)
            settings.passwordFile = put(settings.passwordFile)
            settings.interface = put(settings.interface)
            settings.privilegeLevel = settings.privilegeLevel.map(put)
            settings.executable = put(settings.executable)
            return .ipmitool(settings)
        case .script(var settings):
            settings.executable = put(settings.executable)
            settings.arguments = settings.arguments.map(put)
            settings.environment = settings.environment.mapValues(put)
            return .script(settings)
        }
    }
}

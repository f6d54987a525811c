/// How to run one ClusterLabs fence agent (`fence_redfish`, `fence_ipmilan`,
/// `fence_apc`, ... from Debian's `fence-agents`) for one node. Config keys (under a
/// fence level's method, `method: fence_agent`) are given next to each field.
public struct FenceAgentSettings: Sendable, Equatable {
    /// `agent`: the agent's name, looked up in /usr/local/sbin, /usr/local/bin,
    /// /usr/sbin, /usr/bin, /sbin, /bin, or an absolute path. No default.
    public var agent: String
    /// `options`: the agent's own options, written to its stdin as `key=value` lines
    /// (the fence-agent API; see `fence_redfish -h` for the names with `-` turned into
    /// `_`): e.g. `ip`, `ipport`, `username`, `ssl_insecure: 1`, `systems_uri`
    /// (always give it for fence_redfish: with several systems its discovery picks the
    /// wrong one), `lanplus: 1`, `cipher: 3` (fence_ipmilan; without it every call
    /// takes seconds more), `plug`. Never `action` (set per call) nor `password` (use
    /// `passwordFile`). Keys are `[a-z0-9_]`; values are one line. Default none.
    public var options: [String: String] = [:]
    /// `password_file`: a file whose first line is the password, passed to the agent
    /// as `password=` on stdin (never on argv). Default none (agents that need no
    /// password, or use `identity_file`). Note that some agents hand it on to a tool
    /// of their own on *its* command line (fence_ipmilan runs `ipmitool -P ...`); for
    /// IPMI prefer the `ipmitool` method, which uses `IPMI_PASSWORD`.
    public var passwordFile: String?

    /// - Parameters:
    ///   - agent: the fence agent, e.g. `fence_redfish`.
    ///   - options: its stdin options, without `action` and `password`.
    ///   - passwordFile: the file holding the password, if it needs one.
    public init(agent: String, options: [String: String] = [:], passwordFile: String? = nil) {
        self.agent = agent
        self.options = options
        self.passwordFile = passwordFile
    }

    /// The first option that cannot be handed to an agent, and why (checked at load
    /// and again before every run).
    var optionProblem: (option: String, problem: String)? {
        for (key, value) in self.options.sorted(by: { $0.key < $1.key }) {
            guard !key.isEmpty, key.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }) else {
                return (key, "must be named with lower-case letters, digits and `_`")
            }
            guard !["action", "o", "password", "passwd"].contains(key) else {
                return (key, "is set by Vigil; give the password in `password_file`, and leave the action out")
            }
            guard !value.contains(where: \.isNewline) else { return (key, "must have a one-line value") }
        }
        return nil
    }
}

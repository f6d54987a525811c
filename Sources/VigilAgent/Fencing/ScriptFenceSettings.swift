/// An operator's own fence program (a PDU, a cloud API, a lab's relay board). Config
/// keys (under a fence level's method, `method: script`) are given next to each field.
///
/// The program is run with `VIGIL_NODE` (the node to fence), `VIGIL_TERM` (the
/// leader's term, the fencing token) and `VIGIL_ACTION` (`off` or `status`) in its
/// environment, and no other variable of the agent's. For `off` it exits 0 only once
/// the node is verified off (anything else is a failure); for `status` it exits 0 if
/// the node is on, 2 if it is off, anything else if it cannot tell.
public struct ScriptFenceSettings: Sendable, Equatable {
    /// `path`: the program, an absolute path (or a name found in the standard
    /// directories, see `FenceAgentSettings.agent`). No default.
    public var executable: String
    /// `args`: arguments after the program name. They are visible to every user of
    /// the host (`ps`), so never a secret: pass secrets in a file the program reads.
    /// Default none.
    public var arguments: [String] = []
    /// `env`: extra environment variables for the program (e.g. the path of its
    /// credentials file, or a `PATH` of its own instead of the standard directories).
    /// The `VIGIL_*` variables are set by Vigil and win. Default none.
    public var environment: [String: String] = [:]

    /// - Parameter executable: the program to run.
    public init(executable: String, arguments: [String] = [], environment: [String: String] = [:]) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
    }
}

/// Why the agent's configuration was refused: one line naming where the bad value
/// came from, which key, and what was expected, e.g.
///
///     vigil.yaml: `protocol.probe.period` must be a duration like `500ms`, got `fast`
///     VIGIL_BIND: must be HOST:PORT like `0.0.0.0:7946`, got `nonsense`
///     config file /x.yaml: cannot read: No such file or directory
///
/// `vigil agent` prints `description` and exits with status 2.
public struct ConfigurationError: Error, Equatable, CustomStringConvertible {
    /// Where the value came from: a flag (`--bind`), an environment variable
    /// (`VIGIL_BIND`), a config file's path, `keyring file PATH`, or `configuration`
    /// for a rule across settings.
    public var source: String
    /// The key inside a file, dotted (`protocol.probe.period`); `nil` for flags and
    /// environment variables, which name themselves.
    public var key: String?
    /// What is wrong and what was expected, phrased to follow the key.
    public var message: String

    public init(source: String, key: String? = nil, message: String) {
        self.source = source
        self.key = key
        self.message = message
    }

    public var description: String {
        if let key = self.key {
            return "\(self.source): `\(key)` \(self.message)"
        }
        return "\(self.source): \(self.message)"
    }
}

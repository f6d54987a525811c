/// The `vigil agent` command-line flags, as given: `nil` (or empty, for the
/// repeatable ones) means "not on the command line", so the environment, the config
/// file or the default decides. Parsing and checking happen in
/// ``AgentConfiguration/load(flags:environment:readFile:)``, so that a bad flag gets
/// the same one-line error as a bad config key.
public struct AgentFlags: Sendable, Equatable {
    /// `--name NAME`
    public var name: String?
    /// `--bind HOST:PORT`
    public var bind: String?
    /// `--advertise HOST:PORT`
    public var advertise: String?
    /// `--join HOST:PORT`, repeatable.
    public var join: [String]
    /// `--data-dir DIR`
    public var dataDirectory: String?
    /// `--control PATH`
    public var control: String?
    /// `--encrypt BASE64KEY`
    public var encrypt: String?
    /// `--keyring-file PATH`
    public var keyringFile: String?
    /// `--tag KEY=VALUE`, repeatable.
    public var tags: [String]
    /// `--metrics HOST:PORT`
    public var metrics: String?
    /// `--log-level trace|debug|info|notice|warning|error|critical`
    public var logLevel: String?
    /// `--preset lan|wan|local`
    public var preset: String?
    /// `--config FILE` (YAML or JSON).
    public var config: String?
    /// `--insecure-no-encryption`
    public var insecureNoEncryption: Bool

    public init(
        name: String? = nil,
        bind: String? = nil,
        advertise: String? = nil,
        join: [String] = [],
        dataDirectory: String? = nil,
        control: String? = nil,
        encrypt: String? = nil,
        keyringFile: String? = nil,
        tags: [String] = [],
        metrics: String? = nil,
        logLevel: String? = nil,
        preset: String? = nil,
        config: String? = nil,
        insecureNoEncryption: Bool = false
    ) {
        self.name = name
        self.bind = bind
        self.advertise = advertise
        self.join = join
        self.dataDirectory = dataDirectory
        self.control = control
        self.encrypt = encrypt
        self.keyringFile = keyringFile
        self.tags = tags
        self.metrics = metrics
        self.logLevel = logLevel
        self.preset = preset
        self.config = config
        self.insecureNoEncryption = insecureNoEncryption
    }
}

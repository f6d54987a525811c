import Logging

/// Which recovery driver the leader uses for a fenced node, with its settings: the
/// `recovery:` section of the configuration file (see `RecoverySettings+Loading.swift`).
public struct RecoverySettings: Sendable, Equatable {
    public enum Driver: Sendable, Equatable {
        case masakari(MasakariRecoveryDriver.Settings)
        case nova(NovaRecoveryDriver.Settings)
        case script(ScriptRecoveryDriver.Settings)
    }

    public var driver: Driver
    /// How long one recovery call may take before it counts as failed and is retried
    /// (default 5 minutes: Nova evacuations of a large host at 4 at a time).
    public var timeout: Duration

    public init(driver: Driver, timeout: Duration = .seconds(300)) {
        self.driver = driver
        self.timeout = timeout
    }

    /// The driver's name, as in the config file (`driver:`).
    public var driverName: String {
        switch self.driver {
        case .masakari: "masakari"
        case .nova: "nova"
        case .script: "script"
        }
    }

    /// The configured driver.
    public func makeDriver(logger: Logger) -> any RecoveryDriver {
        switch self.driver {
        case .masakari(let settings): MasakariRecoveryDriver(settings: settings, logger: logger)
        case .nova(let settings): NovaRecoveryDriver(settings: settings, logger: logger)
        case .script(let settings): ScriptRecoveryDriver(settings: settings, logger: logger)
        }
    }
}

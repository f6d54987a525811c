import VigilCore
import Yams

// The `ha:` section of the config file (YAML), file only, and how it combines with
// `fencing:` and `recovery:`:
//
//     ha:
//       enabled: true                # default: true exactly when `fencing:` and `recovery:` are both there
//       max_failed_share: 30%        # brake: more than this share of the voters failed or suspect (0.3)
//       max_fences_per_window: 3     # brake: at most this many fences started ... (3)
//       fence_window: 10m            #   ... within this window (10m)
//       action_timeout: 5m           # a fence or recovery not reported after this counts as failed
//       retry_min: 5s                # a failed fence or recovery is retried after retry_min,
//       retry_max: 5m                #   doubling up to retry_max
//
// `action_timeout` is only the core's backstop for an answer that never came: it must
// exceed the longest fence (`fencing.timeout` times a node's methods) and
// `recovery.timeout`, and defaults to 5m or 30 s more than the longer of those.

/// What the config file says about HA, checked: the core's settings and the drivers'.
struct HAFileSettings {
    var ha: Configuration.HA
    var fencing: FencingSettings?
    var recovery: RecoverySettings?

    /// Room between a driver's own timeout and the core's backstop.
    static let backstopMargin: Duration = .seconds(30)

    /// Reads the three sections (any may be absent) and the rules between them.
    static func read(
        ha node: Node?, fencing: Node?, recovery: Node?, source: String
    ) throws(ConfigurationError) -> HAFileSettings {
        var result = HAFileSettings(
            ha: Configuration.HA(),
            fencing: try fencing.map { node throws(ConfigurationError) in try FencingSettings.read(node, source: source) },
            recovery: try recovery.map { node throws(ConfigurationError) in
                try RecoverySettings.read(node, source: source)
            })
        let section = try node.map { node throws(ConfigurationError) in
            try ConfigSection(node: node, key: "ha", source: source, allowed: [
                "enabled", "max_failed_share", "max_fences_per_window", "fence_window", "action_timeout", "retry_min",
                "retry_max",
            ])
        }
        let configured = result.fencing != nil && result.recovery != nil
        let enabled = try section?.bool("enabled") ?? configured
        if enabled && !configured, let section {
            let missing = [result.fencing == nil ? "`fencing:`" : nil, result.recovery == nil ? "`recovery:`" : nil]
                .compactMap { $0 }.joined(separator: " and ")
            throw section.error(
                "enabled", "is true but the config file has no \(missing) section: the leader needs fence levels "
                    + "and a recovery driver to act on a failure (or set `enabled: false`)")
        }
        result.ha.enabled = enabled
        guard let section else {
            result.ha.actionTimeout = result.defaultActionTimeout
            return result
        }
        if let text = try section.string("max_failed_share") {
            guard let share = Check.fraction(text), share > 0 else {
                throw section.error("max_failed_share", "must be a share above 0 and at most 1 like `0.3` or `30%`, got `\(text)`")
            }
            result.ha.maxFailedShare = share
        }
        if let count = try section.integer("max_fences_per_window", atLeast: 1) { result.ha.maxFencesPerWindow = count }
        if let window = try section.duration("fence_window") { result.ha.fenceWindow = window }
        if let minimum = try section.duration("retry_min") { result.ha.retryMin = minimum }
        if let maximum = try section.duration("retry_max") { result.ha.retryMax = maximum }
        if result.ha.retryMin > result.ha.retryMax {
            let name = section.value("retry_min") != nil ? "retry_min" : "retry_max"
            throw section.error(
                name, "retry_min (\(Check.format(result.ha.retryMin))) must not exceed retry_max (\(Check.format(result.ha.retryMax)))")
        }
        if let timeout = try section.duration("action_timeout") {
            let longest = result.longestDriverCall
            guard !enabled || timeout > longest else {
                throw section.error(
                    "action_timeout", "(\(Check.format(timeout))) must exceed the longest driver call, "
                        + "\(Check.format(longest)) (`fencing.timeout` times a node's fence methods, or "
                        + "`recovery.timeout`), or a slow BMC's fence is given up while it still runs")
            }
            result.ha.actionTimeout = timeout
        } else {
            result.ha.actionTimeout = result.defaultActionTimeout
        }
        return result
    }

    /// The longest a fence or a recovery may take by its own timeouts.
    var longestDriverCall: Duration {
        max(self.fencing?.longestFence ?? .zero, self.recovery?.timeout ?? .zero)
    }

    /// The core's default (5m), or more when a driver may take longer.
    var defaultActionTimeout: Duration {
        let core = Configuration.HA().actionTimeout
        let longest = self.longestDriverCall
        return longest == .zero ? core : max(core, longest + Self.backstopMargin)
    }
}

extension AgentConfiguration {
    /// Why this agent runs without HA (for the one notice it logs at start), or `nil`
    /// when HA is on.
    public var haOffReason: String? {
        guard !self.protocolConfiguration.ha.enabled else { return nil }
        let missing = [self.fencing == nil ? "`fencing:`" : nil, self.recovery == nil ? "`recovery:`" : nil]
            .compactMap { $0 }
        if missing.isEmpty { return "`ha.enabled: false` in the config file" }
        return "the config file has no \(missing.joined(separator: " and ")) section"
    }
}

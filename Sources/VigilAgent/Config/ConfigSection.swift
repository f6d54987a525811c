import Yams

/// One mapping of a config file section (`recovery:`, `fencing:`, `ha:` and what they
/// hold), with its dotted key, so that every error names the key at fault
/// (`fencing.levels[0][1].url`). Unknown keys are refused when it is made.
struct ConfigSection {
    var mapping: Node.Mapping
    var key: String
    var source: String

    init(node: Node, key: String, source: String, allowed: [String]) throws(ConfigurationError) {
        guard case .mapping(let mapping) = node else {
            throw ConfigurationError(source: source, key: key, message: "must be a mapping of settings")
        }
        self.mapping = mapping
        self.key = key
        self.source = source
        for (name, _) in mapping {
            guard case .scalar(let scalar) = name, allowed.contains(scalar.string) else {
                throw ConfigurationError(
                    source: source, key: "\(key).\(name.string ?? "?")",
                    message: "is not a setting here (known: \(allowed.joined(separator: ", ")))")
            }
        }
    }

    func error(_ name: String, _ message: String) -> ConfigurationError {
        ConfigurationError(source: self.source, key: "\(self.key).\(name)", message: message)
    }

    func value(_ name: String) -> Node? {
        self.mapping[Node(name)]
    }

    func string(_ name: String) throws(ConfigurationError) -> String? {
        guard let node = self.value(name) else { return nil }
        guard case .scalar(let scalar) = node else { throw self.error(name, "must be a single value") }
        return scalar.string
    }

    func bool(_ name: String) throws(ConfigurationError) -> Bool? {
        guard let text = try self.string(name) else { return nil }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw self.error(name, "must be `true` or `false`, got `\(text)`")
        }
    }

    func integer(_ name: String, atLeast minimum: Int) throws(ConfigurationError) -> Int? {
        guard let text = try self.string(name) else { return nil }
        guard let value = Int(text), value >= minimum else {
            throw self.error(name, "must be a whole number of at least \(minimum), got `\(text)`")
        }
        return value
    }

    func strings(_ name: String) throws(ConfigurationError) -> [String]? {
        guard let node = self.value(name) else { return nil }
        guard case .sequence(let sequence) = node else { throw self.error(name, "must be a list like `[a, b]`") }
        var values: [String] = []
        for item in sequence {
            guard case .scalar(let scalar) = item else { throw self.error(name, "must be a list of single values") }
            values.append(scalar.string)
        }
        return values
    }

    func section(_ name: String, allowed: [String]) throws(ConfigurationError) -> ConfigSection? {
        guard let node = self.value(name) else { return nil }
        return try ConfigSection(node: node, key: "\(self.key).\(name)", source: self.source, allowed: allowed)
    }

    /// A duration like `500ms`, `2s`, `1m30s`, above zero.
    func duration(_ name: String) throws(ConfigurationError) -> Duration? {
        guard let text = try self.string(name) else { return nil }
        guard let value = Duration(parsing: text), value > .zero else {
            throw self.error(name, "must be a duration above zero like `30s`, got `\(text)`")
        }
        return value
    }

    /// A mapping of single values, like a fence agent's `options` or a script's `env`.
    func stringMap(_ name: String) throws(ConfigurationError) -> [String: String]? {
        guard let node = self.value(name) else { return nil }
        guard case .mapping(let mapping) = node else {
            throw self.error(name, "must be a mapping like `{key: value}`")
        }
        var values: [String: String] = [:]
        for (key, value) in mapping {
            guard case .scalar(let key) = key, case .scalar(let value) = value else {
                throw self.error(name, "must map names to single values")
            }
            values[key.string] = value.string
        }
        return values
    }

    /// A required, non-empty single value.
    func required(_ name: String, _ hint: String) throws(ConfigurationError) -> String {
        guard let text = try self.string(name), !text.isEmpty else { throw self.error(name, "is required: \(hint)") }
        return text
    }
}

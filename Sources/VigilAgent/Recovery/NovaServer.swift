/// The parts of a Nova server (`GET /servers/detail`, microversion 2.53) that the
/// Nova driver reads.
struct NovaServer: Sendable, Equatable, Decodable {
    var id: String
    var name: String?
    /// `OS-EXT-SRV-ATTR:host`: the compute host it is on (admin only).
    var host: String?
    /// `OS-EXT-STS:task_state`: e.g. `rebuilding` while an evacuation runs.
    var taskState: String?
    /// `OS-EXT-STS:vm_state`: `active`, `stopped`, `error`, ...
    var vmState: String?
    var metadata: [String: String]
    /// The flavor's extra specs, embedded since microversion 2.47 when the policy
    /// shows them (admins see them by default).
    var flavorExtraSpecs: [String: String]

    enum CodingKeys: String, CodingKey {
        case id, name, metadata, flavor
        case host = "OS-EXT-SRV-ATTR:host"
        case taskState = "OS-EXT-STS:task_state"
        case vmState = "OS-EXT-STS:vm_state"
    }

    private struct Flavor: Decodable {
        var extraSpecs: [String: String]?
        enum CodingKeys: String, CodingKey { case extraSpecs = "extra_specs" }
    }

    init(
        id: String, name: String? = nil, host: String?, taskState: String? = nil, vmState: String? = "active",
        metadata: [String: String] = [:], flavorExtraSpecs: [String: String] = [:]
    ) {
        self.id = id
        self.name = name
        self.host = host
        self.taskState = taskState
        self.vmState = vmState
        self.metadata = metadata
        self.flavorExtraSpecs = flavorExtraSpecs
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.id = try container.decode(String.self, forKey: .id)
        self.name = try container.decodeIfPresent(String.self, forKey: .name)
        self.host = try container.decodeIfPresent(String.self, forKey: .host)
        self.taskState = try container.decodeIfPresent(String.self, forKey: .taskState)
        self.vmState = try container.decodeIfPresent(String.self, forKey: .vmState)
        self.metadata = (try? container.decodeIfPresent([String: String].self, forKey: .metadata)) ?? [:]
        let flavor = try? container.decodeIfPresent(Flavor.self, forKey: .flavor)
        self.flavorExtraSpecs = flavor?.extraSpecs ?? [:]
    }

    /// Task states in which an evacuation (a rebuild elsewhere) is already under way.
    static let evacuatingTaskStates: Set<String> = [
        "rebuilding", "rebuild_block_device_mapping", "rebuild_spawning",
    ]

    /// Whether Nova is already rebuilding this server (a previous leader's evacuation).
    var isBeingEvacuated: Bool {
        self.taskState.map { Self.evacuatingTaskStates.contains($0) } ?? false
    }

    /// Whether `metadata[key]` or the flavor's `extra_specs[key]` says true
    /// (`true`, `1`, `yes`, case-insensitive, as oslo's bool_from_string).
    func isTagged(_ key: String) -> Bool {
        let truthy: Set<String> = ["true", "1", "yes", "on", "y", "t"]
        return [self.metadata[key], self.flavorExtraSpecs[key]].contains { value in
            value.map { truthy.contains($0.lowercased()) } ?? false
        }
    }
}

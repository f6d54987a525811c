import VigilCore
import VigilCrypto

/// `GET /v1/keys` and `vigil keys list --format json`: which keys the live members
/// hold, as key ids only (never key material).
public struct KeysView: Codable, Sendable, Equatable {
    /// The live members (alive or suspect): the ones a key change waits for.
    public var members: [String]
    /// What each live member last reported, by member name.
    public var reports: [KeyReportView]
    /// Every key id in the cluster keyring or in some report: the cluster keyring's
    /// first, in its order, then the others by id.
    public var keys: [KeyView]
    /// The cluster keyring this agent holds, with the record it came from, if any.
    public var keyring: ClusterKeyringView?

    public init(members: [String], reports: [KeyReportView], keys: [KeyView], keyring: ClusterKeyringView?) {
        self.members = members
        self.reports = reports
        self.keys = keys
        self.keyring = keyring
    }

    /// The view of what the engine knows: `live` member names, their `reports`, this
    /// node's `keyring` and the `record` it adopted last.
    init(live: [String], reports: [KeyReport], keyring: Keyring?, record: KeyringRecord?) {
        let liveSet = Set(live)
        let reports = reports.filter { liveSet.contains($0.member) }
        self.members = live
        self.reports = reports.map {
            KeyReportView(
                member: $0.member, primary: ClusterKey.formatID($0.primary),
                installed: $0.installed.map(ClusterKey.formatID))
        }
        var ids: [UInt32] = keyring?.keys.map(\.id) ?? []
        let reported = Set(reports.flatMap(\.installed) + reports.map(\.primary)).subtracting(ids)
        ids += reported.sorted()
        self.keys = ids.map { id in
            let cluster: String =
                if keyring?.primary.id == id { "primary" } else if keyring?.keys.contains(where: { $0.id == id }) == true {
                    "installed"
                } else { "-" }
            return KeyView(
                id: ClusterKey.formatID(id), cluster: cluster,
                installedOn: reports.filter { $0.installed.contains(id) }.map(\.member),
                primaryOn: reports.filter { $0.primary == id }.map(\.member))
        }
        self.keyring = keyring.map {
            ClusterKeyringView(
                version: record?.version, issuer: record?.issuer, primary: ClusterKey.formatID($0.primary.id),
                keys: $0.keys.map { ClusterKey.formatID($0.id) })
        }
    }

    /// Live members that sent no report yet (just joined, or an older agent).
    public var notReporting: [String] {
        let reported = Set(self.reports.map(\.member))
        return self.members.filter { !reported.contains($0) }
    }

    /// For `operation` with key `keyID` (8 hex digits): the live members whose report
    /// shows it done, and those that do not (or sent no report).
    public func confirmation(of operation: KeyOperation, keyID: String) -> (confirmed: [String], pending: [String]) {
        var confirmed: [String] = []
        var pending: [String] = []
        for member in self.members {
            guard let report = self.reports.first(where: { $0.member == member }) else {
                pending.append(member)
                continue
            }
            let done =
                switch operation {
                case .install: report.installed.contains(keyID)
                case .use: report.primary == keyID
                case .remove: !report.installed.contains(keyID)
                }
            if done { confirmed.append(member) } else { pending.append(member) }
        }
        return (confirmed, pending)
    }
}

/// One member's key report in `KeysView`.
public struct KeyReportView: Codable, Sendable, Equatable {
    public var member: String
    public var primary: String
    public var installed: [String]

    public init(member: String, primary: String, installed: [String]) {
        self.member = member
        self.primary = primary
        self.installed = installed
    }
}

/// One key id in `KeysView`: its place in the cluster keyring and where it is held.
public struct KeyView: Codable, Sendable, Equatable {
    public var id: String
    /// `primary` or `installed` in the cluster keyring, `-` if only some member still
    /// holds it (a removal that has not reached it yet).
    public var cluster: String
    public var installedOn: [String]
    public var primaryOn: [String]

    public init(id: String, cluster: String, installedOn: [String], primaryOn: [String]) {
        self.id = id
        self.cluster = cluster
        self.installedOn = installedOn
        self.primaryOn = primaryOn
    }

    enum CodingKeys: String, CodingKey {
        case id, cluster
        case installedOn = "installed_on"
        case primaryOn = "primary_on"
    }
}

/// The cluster keyring as key ids, and the record it came from (none before the
/// first `vigil keys` command).
public struct ClusterKeyringView: Codable, Sendable, Equatable {
    public var version: UInt64?
    public var issuer: String?
    public var primary: String
    public var keys: [String]

    public init(version: UInt64?, issuer: String?, primary: String, keys: [String]) {
        self.version = version
        self.issuer = issuer
        self.primary = primary
        self.keys = keys
    }
}

/// The answer to `POST /v1/keys/{install,use,remove}`.
public struct KeyChangeView: Codable, Sendable, Equatable {
    public var operation: KeyOperation
    /// The key's id, 8 hex digits.
    public var key: String
    /// Whether a new cluster keyring was issued (`false`: it already was so).
    public var changed: Bool
    /// The cluster keyring's version after the change, if any record exists.
    public var version: UInt64?

    public init(operation: KeyOperation, key: String, changed: Bool, version: UInt64?) {
        self.operation = operation
        self.key = key
        self.changed = changed
        self.version = version
    }
}

/// The body of `POST /v1/keys/{install,use,remove}`: the key in base64. In the body,
/// never in the URL, so that it shows up in no access log.
struct KeyRequestBody: Codable, Sendable {
    var key: String
}

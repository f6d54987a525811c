/// The plain-text renderings of control API answers that `vigil` prints for people.
///
/// Kept beside the API (not in the CLI) so that tests check them.
public enum ControlText {
    /// `vigil members`: columns NAME ADDRESS STATUS INCARNATION TAGS, tags as `k=v,k=v`
    /// sorted by key; a suspect gets `(suspected by a,b; 2 votes)` at the end of its line,
    /// a fenced member `(fenced: out of service ...)`.
    public static func members(_ members: [MemberView]) -> String {
        var rows = [["NAME", "ADDRESS", "STATUS", "INCARNATION", "TAGS"]]
        for member in members {
            var last = self.tags(member.tags)
            if member.status == "suspect" {
                last += (last.isEmpty ? "" : "  ") + self.suspicion(member)
            }
            if member.outOfService {
                last += (last.isEmpty ? "" : "  ") + "(fenced: out of service until `vigil fence unfence`)"
            }
            rows.append([
                member.name, self.address(member.addr, member.port), member.status, String(member.incarnation), last,
            ])
        }
        return self.columns(rows)
    }

    /// `vigil info`: sections of `key = value` lines, keys as in the JSON.
    public static func info(_ info: AgentInfo) -> String {
        var lines = [
            "agent:",
            "  name = \(info.name)",
            "  address = \(info.address)",
            "  incarnation = \(info.incarnation)",
            "  health_score = \(info.healthScore)",
            "  isolated = \(info.isolated)",
            "  preset = \(info.preset)",
            "members:",
        ]
        lines += info.members.sorted { $0.key < $1.key }.map { "  \($0.key) = \($0.value)" }
        lines.append("counters:")
        lines += info.counters.sorted { $0.key < $1.key }.map { "  \($0.key) = \($0.value)" }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `vigil monitor`: `2026-11-28T10:00:00Z member-status node-3 alive → suspect (incarnation 4)`.
    public static func event(_ event: EventView) -> String {
        var parts = [event.time, event.event]
        if let member = event.member { parts.append(member) }
        switch (event.from, event.to) {
        case (let from?, let to?): parts.append("\(from) → \(to)")
        case (nil, let to?): parts.append("→ \(to)")
        case (let from?, nil): parts.append("from \(from)")
        case (nil, nil): break
        }
        if let incarnation = event.incarnation { parts.append("(incarnation \(incarnation))") }
        if let detail = event.detail, !detail.isEmpty { parts.append("— \(detail)") }
        return parts.joined(separator: " ") + "\n"
    }

    /// `vigil keys list`: one line per key id — its place in the cluster keyring, on how
    /// many live members it is primary and installed (with their names when only some
    /// are) — then how many members reported.
    public static func keys(_ view: KeysView) -> String {
        let total = view.members.count
        func share(_ members: [String]) -> String {
            let count = "\(members.count) of \(total)"
            return members.isEmpty || members.count == total ? count : "\(count) (\(members.joined(separator: ",")))"
        }
        var rows = [["KEY", "CLUSTER", "PRIMARY ON", "INSTALLED ON"]]
        for key in view.keys {
            rows.append([key.id, key.cluster, share(key.primaryOn), share(key.installedOn)])
        }
        var text = self.columns(rows)
        var summary = "\(total - view.notReporting.count) of \(total) members reported"
        if let keyring = view.keyring, let version = keyring.version, let issuer = keyring.issuer {
            summary += "; cluster keyring version \(version) from \(issuer)"
        }
        text += summary + "\n"
        if !view.notReporting.isEmpty {
            text += "not reported yet: \(view.notReporting.joined(separator: ", "))\n"
        }
        return text
    }

    /// What `vigil keys install/use/remove` prints once `confirmed` of `total` live
    /// members report the change, e.g. `installed key 3f2a9c01 on 5 of 5 members`.
    public static func keyChange(_ operation: KeyOperation, key: String, confirmed: Int, total: Int) -> String {
        let members = "\(confirmed) of \(total) member\(total == 1 ? "" : "s")"
        return switch operation {
        case .install: "installed key \(key) on \(members)\n"
        case .use: "key \(key) is primary on \(members)\n"
        case .remove: "removed key \(key) from \(members)\n"
        }
    }

    /// The one line `vigil keys install/use/remove` ends with when some live members
    /// did not confirm in time.
    public static func keyChangeUnconfirmed(
        _ operation: KeyOperation, key: String, confirmed: Int, total: Int, pending: [String], waited: String
    ) -> String {
        let done = self.keyChange(operation, key: key, confirmed: confirmed, total: total).dropLast()
        return "\(done); not confirmed within \(waited) by \(pending.joined(separator: ", ")) "
            + "(see `vigil keys list`; a member that is down gets the change when it rejoins)\n"
    }

    static func tags(_ tags: [String: String]) -> String {
        tags.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }

    static func suspicion(_ member: MemberView) -> String {
        let votes = member.votes == 1 ? "1 vote" : "\(member.votes) votes"
        if member.suspectedBy.isEmpty { return "(\(votes))" }
        return "(suspected by \(member.suspectedBy.joined(separator: ",")); \(votes))"
    }

    static func address(_ host: String, _ port: UInt16) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Left-aligned columns two spaces apart; the last column is not padded.
    static func columns(_ rows: [[String]]) -> String {
        guard let count = rows.first?.count else { return "" }
        var widths = [Int](repeating: 0, count: count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < count - 1 { widths[i] = max(widths[i], cell.count) }
        }
        return rows.map { row in
            var line = ""
            for (i, cell) in row.enumerated() {
                line += cell
                if i < count - 1 { line += String(repeating: " ", count: widths[i] - cell.count + 2) }
            }
            while line.last == " " { line.removeLast() }
            return line
        }.joined(separator: "\n") + "\n"
    }
}

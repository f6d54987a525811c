extension ControlText {
    /// `vigil history`: one line per journal row, oldest first, columns TIME (UTC, ms)
    /// NODE LIFE TERM PHASE LEADER ATTEMPTS SINCE DETAIL, where SINCE is the time since
    /// the first row about that node's life (`+4.2s`). No rows: one line saying so.
    public static func history(_ rows: [HistoryEntryView]) -> String {
        guard !rows.isEmpty else { return "no HA actions recorded\n" }
        var table = [["TIME", "NODE", "LIFE", "TERM", "PHASE", "LEADER", "ATTEMPTS", "SINCE", "DETAIL"]]
        for row in rows {
            table.append([
                row.time, row.node, String(row.life), String(row.term), row.phase, row.leader, String(row.attempts),
                self.since(milliseconds: row.sinceFirstMs), row.detail,
            ])
        }
        return self.columns(table)
    }

    /// `+0.0s`, `+4.2s`, `+2m05.3s`, `+1h02m05s`: tenths while they still matter.
    static func since(milliseconds: Int64) -> String {
        let tenths = (max(0, milliseconds) + 50) / 100
        let seconds = tenths / 10
        if seconds < 60 { return "+\(seconds).\(tenths % 10)s" }
        let minutes = seconds / 60
        let secondsText = seconds % 60 < 10 ? "0\(seconds % 60)" : "\(seconds % 60)"
        if minutes < 60 { return "+\(minutes)m\(secondsText).\(tenths % 10)s" }
        let minutesText = minutes % 60 < 10 ? "0\(minutes % 60)" : "\(minutes % 60)"
        return "+\(minutes / 60)h\(minutesText)m\(secondsText)s"
    }
}

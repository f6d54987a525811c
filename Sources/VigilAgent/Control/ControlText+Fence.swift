extension ControlText {
    /// `vigil fence status`: the leader and the brake, then one line per node that
    /// ever failed (NODE STATUS PHASE LIFE TERM BY ATTEMPTS DETAIL), then what an
    /// operator may have to do.
    public static func fenceStatus(_ view: FenceStatusView) -> String {
        var lines: [String] = []
        let leader = view.leader.map { "\($0) (term \(view.term))" } ?? "none (term \(view.term)): nothing is fenced"
        lines.append("Leader:  \(leader)")
        if !view.enabled {
            lines.append("Fencing: off on \(view.node) (no `fencing:`/`recovery:` in its configuration, or `ha.enabled: false`)")
        }
        lines.append("Brake:   " + (view.brake.map { "ENGAGED: \($0); `vigil fence approve NAME|--all`" } ?? "off"))
        guard !view.nodes.isEmpty else {
            return (lines + ["No node has failed and been acted on."]).joined(separator: "\n") + "\n"
        }
        lines.append("")
        var rows = [["NODE", "STATUS", "PHASE", "LIFE", "TERM", "BY", "ATTEMPTS", "DETAIL"]]
        for node in view.nodes {
            rows.append([
                node.name, node.status, node.phase, String(node.life), String(node.term), node.by,
                String(node.attempts), node.detail,
            ])
        }
        var text = lines.joined(separator: "\n") + "\n" + self.columns(rows)
        let held = view.nodes.filter { $0.phase == "awaiting-approval" }.map(\.name)
        if !held.isEmpty {
            text += "\nHeld by the brake: \(held.joined(separator: ", ")). Check why so much failed at once, then "
                + "`vigil fence approve NAME` (or `--all`).\n"
        }
        let failing = view.nodes.filter { $0.phase == "fence-failed" }.map(\.name)
        if !failing.isEmpty {
            text += "\nFence failing: \(failing.joined(separator: ", ")). Nothing is recovered until it is off; "
                + "fix the BMC, or power it off by hand and `vigil fence confirm NAME --yes`.\n"
        }
        let out = view.nodes.filter(\.outOfService).map(\.name)
        if !out.isEmpty {
            text += "\nOut of service (fenced): \(out.joined(separator: ", ")). Once repaired, "
                + "`vigil fence unfence NAME` returns it to service.\n"
        }
        return text
    }

    /// `vigil fence approve/confirm/unfence`: one line per node.
    public static func fenceResults(_ view: FenceCommandView) -> String {
        view.results.map { "\($0.done ? "ok" : "refused"): \($0.message)" }.joined(separator: "\n") + "\n"
    }
}

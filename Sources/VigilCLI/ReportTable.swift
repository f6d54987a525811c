import Foundation
import VigilSim

/// The `--format table` rendering of a report: a short summary for people.
enum ReportTable {
    static func render(_ r: SimulationReport) -> String {
        var lines: [String] = []
        let s = r.scenario
        lines.append(
            "Vigil simulation: \(r.nodes) nodes, preset \(r.preset) (tolerates pauses up to "
                + "\(seconds(s.pauseToleranceMs))), seed \(r.seed)")
        if let ms = r.convergenceMs {
            lines.append("  converged after \(seconds(ms)) (virtual); scenario \(seconds(r.scenarioSeconds * 1000))")
        } else {
            lines.append("  NOT converged during warm-up; scenario ran anyway for \(seconds(r.scenarioSeconds * 1000))")
        }
        lines.append(
            "  network: loss \(percent(s.loss)), delay \(millis(s.delayMs)) + jitter up to \(millis(s.jitterMs))")
        var faults: [String] = []
        if s.crashes > 0 {
            faults.append("\(s.crashes) crash" + (s.restartAfterMs.map { " (restart after \(seconds($0)))" } ?? ""))
        }
        if s.pauses > 0 { faults.append("\(s.pauses) paused \(seconds(s.pauseForMs))/min") }
        if s.gray > 0 { faults.append("\(s.gray) gray (\(percent(s.grayLoss)) loss)") }
        if s.slow > 0 { faults.append("\(s.slow) slow (+\(millis(s.slowDelayMs)))") }
        if let p = s.partition { faults.append("partition \(p)") }
        lines.append("  faults: " + (faults.isEmpty ? "none" : faults.joined(separator: ", ")))
        lines.append("")

        let d = r.detection
        if d.crashes > 0 {
            lines.append(
                "Crash → failed everywhere:  \(dist(d.failedEverywhereMs))   (\(d.crashes - d.undetected)/\(d.crashes) detected)")
            lines.append("Crash → first suspicion:    \(dist(d.firstSuspectMs))")
        } else {
            lines.append("Crashes: none")
        }
        var falseLine = "False failures: \(r.falseFailures)"
        if !r.falseFailedMembers.isEmpty {
            falseLine += " (" + r.falseFailedMembers.prefix(5).joined(separator: ", ")
                + (r.falseFailedMembers.count > 5 ? ", …)" : ")")
        }
        falseLine += "   false suspicions: \(r.falseSuspicions)"
        if s.partition != nil { falseLine += "   failed across partition: \(r.partitionedFailed)" }
        lines.append(falseLine)
        if s.gray > 0 {
            lines.append(
                "Gray nodes failed: \(r.grayFailed)/\(s.gray)   flaps (observer views back to alive): \(r.grayFlaps.total) total, \(r.grayFlaps.maxPerNode) max per node"
            )
        }
        let t = r.traffic
        lines.append(
            "Traffic per node: \(bytes(t.bytesSentPerNodePerS.mean))/s mean, \(bytes(t.bytesSentPerNodePerS.max))/s max; "
                + "\(fixed(t.messagesSentPerNodePerS.mean, 1)) msg/s mean, \(fixed(t.messagesSentPerNodePerS.max, 1)) max"
        )
        lines.append("  (incl. \(t.datagramOverheadBytes) B seal + IP/UDP per datagram; packet sizes \(s.wireSizes))")
        lines.append("Failure certificates published: \(r.certifications)")
        let e = r.election
        lines.append(
            "Leader: \(e.lastLeader ?? "none") (term \(e.lastTerm.map(String.init) ?? "-")), "
                + "\(e.termsWithLeader) terms with a leader; invariant violations: "
                + (e.invariantViolations.isEmpty ? "none" : e.invariantViolations.joined(separator: "; ")))
        if r.ha.enabled {
            let h = r.ha
            var killed = ""
            if let leader = r.faults.killedLeader {
                killed = "; killed leader \(leader) at \(seconds(r.faults.leaderKilledAtMs ?? 0))"
            }
            let fenced = "HA: \(h.fencedNodes.count) nodes fenced (\(h.fences) orders, \(h.fenceCompletions) lives confirmed, "
            let repeats = "\(h.duplicateFences) repeats), \(h.recoveredNodes.count) recovered "
            let accepted = "(\(h.recoveriesAccepted) lives accepted, \(h.duplicateRecoveries) duplicates dropped); "
            let owed = "\(h.livesChecked) lives owed both, \(h.heldByBrake) held by the brake"
            let live = h.fencesOfLiveNodes.isEmpty ? "none" : h.fencesOfLiveNodes.joined(separator: ", ")
            let broken = h.invariantViolations.isEmpty ? "none" : h.invariantViolations.joined(separator: "; ")
            lines.append(
                fenced + repeats + accepted + owed + killed + "; live nodes fenced: " + live + "; invariant violations: "
                    + broken)
        }
        lines.append(
            "\(fixed(r.virtualSeconds, 1)) s virtual in \(fixed(r.wallSeconds, 2)) s wall; "
                + "\(r.throughput.messages) messages, \(fixed(r.throughput.messagesPerWallS, 0)) per wall second")
        return lines.joined(separator: "\n") + "\n"
    }

    private static func dist(_ d: Distribution) -> String {
        guard let p50 = d.p50, let p99 = d.p99, let max = d.max else { return "n/a" }
        return "p50 \(seconds(p50))  p99 \(seconds(p99))  max \(seconds(max))"
    }

    private static func seconds(_ ms: Double) -> String {
        ms >= 1000 ? "\(fixed(ms / 1000, 2)) s" : "\(fixed(ms, 0)) ms"
    }

    private static func millis(_ ms: Double) -> String {
        ms >= 1000 ? seconds(ms) : "\(fixed(ms, ms < 10 ? 1 : 0)) ms"
    }

    private static func percent(_ fraction: Double) -> String {
        "\(fixed(fraction * 100, fraction * 100 < 10 ? 1 : 0))%"
    }

    private static func bytes(_ b: Double) -> String {
        b >= 10_000 ? "\(fixed(b / 1000, 1)) kB" : "\(fixed(b, 0)) B"
    }

    private static func fixed(_ x: Double, _ decimals: Int) -> String {
        String(format: "%.\(decimals)f", x)
    }
}

import ArgumentParser
import VigilAgent

/// `vigil explain NAME`: why the local agent thinks what it thinks about a member.
struct Explain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show why the local agent believes what it does about one member.",
        discussion: """
            Its status and incarnation; its observers; if this node observes it: phi, \
            time since the last ack and whether the last probe round failed; who \
            suspects it, how long the suspicion window still runs, the votes held, and \
            the certificate's voters once it failed. Exit status: 0, 1 if the agent \
            cannot be reached or does not know NAME, 2 for bad arguments.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @OptionGroup var control: ControlOptions

    @Argument(help: "The member's name.")
    var name: String

    @Option(help: "Output format: text or json.")
    var format: Format = .text

    func run() async throws {
        let e = try await self.control.client.explain(self.name)
        switch self.format {
        case .json:
            writeToStandardOutput(try ControlJSON.pretty(e))
        case .text:
            var lines = ["\(e.name): \(e.status) at incarnation \(e.incarnation)"]
            lines.append("  observers: \(e.observers.joined(separator: ", "))\(e.observedHere ? " (this node is one)" : "")")
            if e.observedHere {
                let phi = e.phi.map { String(format: "%.2f", $0) } ?? "-"
                let ack = e.sinceLastAckMs.map { String(format: "%.0f ms ago", $0) } ?? "never"
                let round = e.lastProbeRoundFailed == true ? "failed" : "answered"
                lines.append("  from here: phi \(phi), last ack \(ack), last probe round \(round)")
            }
            if !e.suspectedBy.isEmpty {
                let remaining = e.suspicionRemainingMs.map { String(format: "%.0f ms", $0) } ?? "-"
                lines.append("  suspected by: \(e.suspectedBy.joined(separator: ", ")); window ends in \(remaining)")
            }
            if !e.votes.isEmpty {
                lines.append("  votes held: \(e.votes.count) of \(e.observers.count) (\(e.votes.joined(separator: ", ")))")
            }
            if let voters = e.certifiedBy {
                lines.append("  failure certificate signed by: \(voters.joined(separator: ", "))")
            }
            if e.recentRefutations > 0 {
                lines.append(
                    "  refuted \(e.recentRefutations) suspicion(s) recently\(e.flapping ? "; flapping: voted on at once" : "")")
            }
            writeToStandardOutput(lines.joined(separator: "\n") + "\n")
        }
    }
}

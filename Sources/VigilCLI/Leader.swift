import ArgumentParser
import Foundation
import VigilAgent

/// `vigil leader`: who leads the cluster, and which term, as the local agent sees it.
struct Leader: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the current leader and term, as the local agent sees it.",
        discussion: """
            The leader is the one member that may fence and recover failed nodes; the term \
            is the fencing token on everything it does. No leader is shown while a majority \
            of the voters cannot agree (for instance on the small side of a partition). \
            Exit status: 0 when a leader is known, 3 when none is, 1 if the agent cannot be \
            reached, 2 for bad arguments.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json
    }

    @OptionGroup var control: ControlOptions

    @Option(help: "Output format: table or json.")
    var format: Format = .table

    func run() async throws {
        let view = try await self.control.client.getLeader()
        switch self.format {
        case .json:
            writeToStandardOutput(try ControlJSON.pretty(view))
        case .table:
            var lines: [String] = []
            lines.append("Leader:   \(view.leader ?? "none (no majority of the voters agrees on one)")")
            lines.append("Term:     \(view.term)")
            lines.append("This node: \(view.node) (\(view.role))")
            if let lease = view.leaseRemainingMs {
                lines.append("Lease:    \(Int(lease.rounded())) ms left")
            }
            lines.append("Voters:   \(view.voters.count) (majority \(view.majority)): \(view.voters.joined(separator: ", "))")
            writeToStandardOutput(lines.joined(separator: "\n") + "\n")
        }
        if view.leader == nil { throw ExitCode(3) }
    }
}

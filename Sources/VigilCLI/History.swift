import ArgumentParser
import VigilAgent

/// `vigil history`: the fences and recoveries the local agent journaled.
struct History: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the HA actions (fences, recoveries) the local agent journaled.",
        discussion: """
            One line per step of a failed node's lifecycle, oldest first, as this node \
            stored it (signed by the leader that took it, here or gossiped): when (UTC), \
            the node and its life, the leader's term (the fencing token), the phase, the \
            leader, the attempts, the time since the first step of that node's life \
            (`fenced +4.2s`) and what the method said. Read from <data-dir>/journal.sqlite, \
            so it survives restarts of the agent.

            Exit status: 0 after listing (also when nothing was recorded), 1 if the agent \
            cannot be reached or its journal cannot be read, 2 for bad arguments.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json
    }

    @OptionGroup var control: ControlOptions

    @Option(help: ArgumentHelp("Only the rows about this node.", valueName: "name"))
    var node: String?

    @Option(help: "Output format: table or json.")
    var format: Format = .table

    func validate() throws {
        if self.node?.isEmpty == true {
            throw ValidationError("`--node` needs a member name, like `--node node-3`")
        }
    }

    func run() async throws {
        let rows = try await self.control.client.getHistory(node: self.node)
        switch self.format {
        case .table: writeToStandardOutput(ControlText.history(rows))
        case .json: writeToStandardOutput(try ControlJSON.pretty(HistoryList(history: rows)))
        }
    }
}

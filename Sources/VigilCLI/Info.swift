import ArgumentParser
import VigilAgent

/// `vigil info`: the local agent's node, health, settings and counters.
struct Info: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the local agent: its node, health score, preset, member counts and counters.",
        discussion: "Exit status: 0 after showing, 1 if the agent cannot be reached, 2 for bad arguments."
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json
    }

    @OptionGroup var control: ControlOptions

    @Option(help: "Output format: table or json.")
    var format: Format = .table

    func run() async throws {
        let info = try await self.control.client.getInfo()
        switch self.format {
        case .table: writeToStandardOutput(ControlText.info(info))
        case .json: writeToStandardOutput(try ControlJSON.pretty(info))
        }
    }
}

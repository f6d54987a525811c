import ArgumentParser
import VigilAgent

/// `vigil monitor`: the local agent's membership events as they happen.
struct Monitor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stream the local agent's membership events until Ctrl-C.",
        discussion: """
            Text lines look like `2026-11-28T10:00:00Z member-status node-3 alive → suspect \
            (incarnation 4)`; --format json prints one JSON object per line (NDJSON).

            Exit status: 1 when the agent cannot be reached or goes away, 2 for bad arguments.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @OptionGroup var control: ControlOptions

    @Option(help: "Output format: text or json (one object per line).")
    var format: Format = .text

    func run() async throws {
        for try await event in self.control.client.monitor() {
            switch self.format {
            case .text: writeToStandardOutput(ControlText.event(event))
            case .json: writeToStandardOutput(try ControlJSON.line(event))
            }
        }
        throw RuntimeError("the Vigil agent at \(self.control.path) ended the event stream: it is stopping.")
    }
}

import ArgumentParser
import VigilAgent

/// `vigil leave`: the local agent leaves the cluster gracefully, then stops.
struct Leave: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make the local agent leave the cluster gracefully, then stop.",
        discussion: """
            The others mark this node `left`, not `failed`, so nothing is fenced. Returns once \
            the agent has started leaving. Exit status: 0 then, 1 if the agent cannot be \
            reached, 2 for bad arguments.
            """
    )

    @OptionGroup var control: ControlOptions

    func run() async throws {
        try await self.control.client.leave()
        writeToStandardOutput("Graceful leave started: the agent tells the cluster, then stops.\n")
    }
}

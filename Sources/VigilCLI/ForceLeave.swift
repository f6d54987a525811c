import ArgumentParser
import VigilAgent

/// `vigil force-leave NAME`: marks a failed member as left, like `serf force-leave`.
struct ForceLeave: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "force-leave",
        abstract: "Mark a failed member as left, so that it is no longer reported or retried.",
        discussion: """
            Only a member that is failed can be forced to leave. Exit status: 0 when it is \
            now left, 1 if there is no such failed member or the agent cannot be reached, \
            2 for bad arguments.
            """
    )

    @OptionGroup var control: ControlOptions

    @Argument(help: "Name of the failed member.")
    var name: String

    func run() async throws {
        try await self.control.client.forceLeave(self.name)
        writeToStandardOutput("Member `\(self.name)` is now marked left.\n")
    }
}

import ArgumentParser
import Foundation

@main
struct Vigil: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigil",
        abstract: "Peer failure detection and fencing for cloud compute nodes.",
        subcommands: [
            Agent.self, Members.self, Info.self, Explain.self, Leader.self, Fence.self, History.self, Monitor.self,
            Leave.self, ForceLeave.self, Keys.self, Keygen.self, Simulate.self,
        ]
    )

    /// Like ArgumentParser's own `main()`, except that bad arguments exit with 2 (the
    /// usual status for usage errors of command-line tools) instead of `EX_USAGE` (64).
    static func main() async {
        do {
            var command = try self.parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            let code = self.exitCode(for: error)
            if code == .validationFailure {
                // One line: what was wrong, naming the flag and an example.
                FileHandle.standardError.write(Data("Error: \(self.message(for: error))\n".utf8))
                self.exit(withError: ExitCode(2))
            }
            self.exit(withError: error)
        }
    }
}

import ArgumentParser
import Foundation
import VigilAgent

/// `--control PATH`, which every command that talks to the local agent takes.
struct ControlOptions: ParsableArguments {
    @Option(
        name: .customLong("control"),
        help: ArgumentHelp(
            "The local agent's control socket "
                + "(default: $\(ControlClient.environmentVariable), else \(ControlClient.defaultPath)).",
            valueName: "path"))
    var control: String?

    /// The socket path: `--control`, else `$VIGIL_CONTROL`, else the default.
    var path: String {
        ControlClient.resolvePath(flag: self.control, environment: ProcessInfo.processInfo.environment)
    }

    var client: ControlClient {
        ControlClient(path: self.path)
    }
}

/// Writes to standard output now, not when a buffer fills: `vigil monitor | grep` must
/// see each event as it happens.
func writeToStandardOutput(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
}

import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Recovery by an operator's executable, for clouds Vigil has no driver for.
///
/// The program runs with the agent's environment plus `VIGIL_NODE` (the fenced node),
/// `VIGIL_TERM` (the leader's term) and `VIGIL_FENCED_AT` (ISO 8601 UTC, the same on
/// every retry, usable as an idempotency key), stdin from /dev/null, stdout and stderr
/// to a temporary file whose last line is reported. Exit 0 is done; any other exit, or a
/// signal, is a failure; past the request's timeout it is sent SIGTERM (its process
/// group, when it leads one), then SIGKILL after `killGrace`, and the call throws
/// `RecoveryError.timedOut`. Like every recovery, it runs only for a fenced node.
public struct ScriptRecoveryDriver: RecoveryDriver {
    public struct Settings: Sendable, Equatable {
        /// Absolute path of the executable.
        public var path: String
        /// Arguments after the path (default none).
        public var arguments: [String]
        /// Between SIGTERM and SIGKILL on timeout (default 5 s).
        public var killGrace: Duration

        public init(path: String, arguments: [String] = [], killGrace: Duration = .seconds(5)) {
            self.path = path
            self.arguments = arguments
            self.killGrace = killGrace
        }
    }

    public let method = "script"
    public let settings: Settings
    private let logger: Logger

    public init(settings: Settings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    public func recover(_ request: RecoveryRequest) async throws(RecoveryError) -> RecoveryOutcome {
        let path = self.settings.path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw .misconfigured("script: \(path) is not an executable file; check the recovery script path and its mode")
        }
        let output = FileManager.default.temporaryDirectory
            .appendingPathComponent("vigil-recovery-\(UUID().uuidString).log")
        guard FileManager.default.createFile(atPath: output.path, contents: nil),
            let outputHandle = try? FileHandle(forWritingTo: output)
        else {
            throw .failed("script: cannot create a temporary file for the output of \(path)")
        }
        defer {
            try? outputHandle.close()
            try? FileManager.default.removeItem(at: output)
        }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = self.settings.arguments
        var environment = ProcessInfo.processInfo.environment
        environment["VIGIL_NODE"] = request.node
        environment["VIGIL_TERM"] = String(request.term)
        environment["VIGIL_FENCED_AT"] = MasakariRecoveryDriver.generatedTime(request.fencedAt)
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = outputHandle
        process.standardError = outputHandle

        let (exits, exited) = AsyncStream<Exit>.makeStream(bufferingPolicy: .bufferingNewest(1))
        process.terminationHandler = { finished in
            exited.yield(Exit(status: finished.terminationStatus, signalled: finished.terminationReason == .uncaughtSignal))
            exited.finish()
        }
        do {
            try process.run()
        } catch {
            throw .failed("script: cannot start \(path): \(error)")
        }
        let pid = process.processIdentifier
        let timeout = request.timeout
        let grace = self.settings.killGrace

        // Either the exit comes first, or the timer does and we stop the child, then
        // still wait for its exit so that it is reaped before we return.
        let outcome: (exit: Exit?, timedOut: Bool) = await withTaskGroup(of: Exit?.self) { group in
            group.addTask {
                for await exit in exits { return exit }
                return nil
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            if let first {
                group.cancelAll()
                return (first, false)
            }
            Self.signal(pid, SIGTERM)
            group.addTask {
                try? await Task.sleep(for: grace)
                if !Task.isCancelled { Self.signal(pid, SIGKILL) }
                return nil
            }
            var exit: Exit?
            while let next = await group.next() {
                if let next {
                    exit = next
                    group.cancelAll()
                }
            }
            return (exit, true)
        }

        let lastLine = Self.lastLine(of: output)
        if outcome.timedOut {
            throw .timedOut(
                "script: \(path) did not finish within \(timeout) for \(request.node) and was killed\(lastLine.map { "; last output: \($0)" } ?? "")")
        }
        guard let exit = outcome.exit else {
            throw .failed("script: lost track of \(path) (pid \(pid))")
        }
        if exit.signalled {
            throw .failed("script: \(path) was killed by signal \(exit.status) for \(request.node)\(lastLine.map { "; last output: \($0)" } ?? "")")
        }
        guard exit.status == 0 else {
            throw .failed(
                "script: \(path) exited with \(exit.status) for \(request.node)\(lastLine.map { ": \($0)" } ?? ""); fix the script or recover by hand")
        }
        self.logger.info("recovery script succeeded", metadata: ["ha.node": "\(request.node)", "ha.term": "\(request.term)"])
        return RecoveryOutcome(method: self.method, detail: "\(path) exited 0\(lastLine.map { ": \($0)" } ?? "")")
    }

    private struct Exit: Sendable {
        var status: Int32
        var signalled: Bool
    }

    /// Signals the child's process group if it leads one, else just the child.
    private static func signal(_ pid: Int32, _ signal: Int32) {
        if getpgid(pid) == pid {
            kill(-pid, signal)
        } else {
            kill(pid, signal)
        }
    }

    /// The last non-empty line of the output, at most 300 characters.
    private static func lastLine(of file: URL) -> String? {
        guard let data = try? Data(contentsOf: file) else { return nil }
        let tail = data.suffix(4096)
        let line = String(decoding: tail, as: UTF8.self).split(whereSeparator: \.isNewline).last
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard let line, !line.isEmpty else { return nil }
        return line.count > 300 ? String(line.prefix(300)) + "..." : line
    }
}

import Foundation
import Testing
import VigilAgent
import VigilCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Real `vigil` processes on 127.0.0.1 for the tests that check the shipped executable:
/// each agent is a child process with its own port, data directory and control socket
/// under one temporary directory, and every CLI call is another child process.
///
/// Not `Sendable`: one test owns it, start to end. `stopAll()` (call it in a `defer`)
/// kills every child still running and removes the directory.
final class AgentProcesses {
    /// The `vigil` executable under test.
    let binary: URL
    /// Everything of this run: `<name>/` data directories (with `vigil.sock`),
    /// `<name>.log` agent output, CLI output files.
    let directory: URL
    private var running: [String: Process] = [:]
    private var ports: [String: UInt16] = [:]
    private var cliCalls = 0

    init() throws {
        self.binary = try Self.locateBinary()
        // Short and under /tmp: a Unix socket path must fit in 108 bytes.
        let suffix = UUID().uuidString.prefix(8).lowercased()
        self.directory = URL(fileURLWithPath: "/tmp/vigil-proc-\(suffix)", isDirectory: true)
        try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
    }

    /// The `vigil` built beside this test bundle (`swift build --build-tests` builds
    /// both), or `$VIGIL_BINARY`.
    static func locateBinary() throws -> URL {
        var candidates: [URL] = []
        if let path = ProcessInfo.processInfo.environment["VIGIL_BINARY"], !path.isEmpty {
            candidates.append(URL(fileURLWithPath: path))
        }
        // The test runner: .build/<triple>/debug/VigilPackageTests.xctest (a file on
        // Linux, a bundle directory on macOS); the products sit beside it.
        var runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        for _ in 0..<4 {
            runner.deleteLastPathComponent()
            candidates.append(runner.appendingPathComponent("vigil"))
        }
        // <package>/.build/debug/vigil, from this file's place in the package.
        let package = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        candidates.append(package.appendingPathComponent(".build/debug/vigil"))
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw ProcessTestError(
                "the vigil executable was not found (looked at \(candidates.map(\.path).joined(separator: ", "))); "
                    + "build it with `swift build --build-tests`, or set VIGIL_BINARY")
        }
        return found
    }

    // MARK: Agents

    func dataDirectory(_ name: String) -> String { self.directory.appendingPathComponent(name).path }
    func controlSocket(_ name: String) -> String { self.directory.appendingPathComponent(name).path + "/vigil.sock" }

    /// Starts `vigil agent --preset local` as `name`. With no `port`, the agent binds
    /// port 0 and reports the port it got (``address(of:)``); a restarted agent is given
    /// the port it had, where the others know it. `config` is a config file's path.
    func start(_ name: String, key: String, join: [String] = [], port: UInt16 = 0, config: String? = nil) throws {
        let log = self.directory.appendingPathComponent("\(name).log")
        if !FileManager.default.fileExists(atPath: log.path) {
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        }
        let output = try FileHandle(forWritingTo: log)
        output.seekToEndOfFile()
        let process = Process()
        process.executableURL = self.binary
        process.arguments =
            [
                "agent", "--name", name, "--bind", "127.0.0.1:\(port)", "--data-dir", self.dataDirectory(name),
                "--control", self.controlSocket(name), "--encrypt", key, "--preset", "local",
            ] + join.flatMap { ["--join", $0] } + (config.map { ["--config", $0] } ?? [])
        process.environment = Self.childEnvironment
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try? output.close()
        self.running[name] = process
    }

    /// `127.0.0.1:PORT` of a started agent, read back from `vigil info` once its
    /// control socket answers.
    func address(of name: String) async throws -> String {
        if let port = self.ports[name] { return "127.0.0.1:\(port)" }
        var info: AgentInfo?
        _ = await eventually {
            info = try? await self.info(name)
            return info != nil || self.running[name]?.isRunning != true
        }
        guard let info, let address = Address(parsing: info.address) else {
            throw ProcessTestError("agent \(name) did not answer on its control socket\n\(self.logTail(name))")
        }
        self.ports[name] = address.port
        return "127.0.0.1:\(address.port)"
    }

    /// The port `name` was bound to, once ``address(of:)`` has read it.
    func port(of name: String) -> UInt16 { self.ports[name] ?? 0 }

    /// Sends `signal` to `name` and waits for it to exit; returns its exit status
    /// (128 + signal if it died of the signal).
    @discardableResult
    func signal(_ name: String, _ signal: Int32) async throws -> Int32 {
        let process = try #require(self.running[name], "no running agent \(name)")
        kill(process.processIdentifier, signal)
        let exited = await eventually { !process.isRunning }
        try #require(exited, "agent \(name) did not exit after signal \(signal)\n\(self.logTail(name))")
        self.running[name] = nil
        return process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
    }

    /// Waits for `name` to exit by itself (an agent refusing to start); its exit status,
    /// or `nil` if it is still running after the hang guard.
    func exitStatus(of name: String) async -> Int32? {
        guard let process = self.running[name] else { return nil }
        guard await eventually(60, { !process.isRunning }) else { return nil }
        self.running[name] = nil
        return process.terminationStatus
    }

    /// Whether `name` was started here and is still running.
    func isRunning(_ name: String) -> Bool { self.running[name]?.isRunning == true }

    /// What `name` logged so far.
    func log(_ name: String) -> String {
        (try? String(contentsOf: self.directory.appendingPathComponent("\(name).log"), encoding: .utf8)) ?? ""
    }

    /// Kills every agent still running (SIGKILL, then reaps it) and removes the
    /// directory. Safe to call more than once.
    func stopAll() {
        for (_, process) in self.running where process.isRunning {
            kill(process.processIdentifier, SIGKILL)
        }
        for (_, process) in self.running {
            process.waitUntilExit()
        }
        self.running = [:]
        try? FileManager.default.removeItem(at: self.directory)
    }

    // MARK: The CLI

    /// Runs `vigil ARGUMENTS` to completion; its standard output (and standard error
    /// after it, with `withErrors`) and exit status.
    func vigil(_ arguments: [String], withErrors: Bool = false) async throws -> (status: Int32, output: String) {
        self.cliCalls += 1
        let outputFile = self.directory.appendingPathComponent("cli-\(self.cliCalls).out")
        _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
        let output = try FileHandle(forWritingTo: outputFile)
        defer { try? FileManager.default.removeItem(at: outputFile) }
        let process = Process()
        process.executableURL = self.binary
        process.arguments = arguments
        process.environment = Self.childEnvironment
        process.standardOutput = output
        process.standardError = withErrors ? output : FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        // Waits without holding a thread: the cooperative pool is small on 2 cores.
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            process.terminationHandler = { _ in continuation.resume() }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        try? output.close()
        let text = (try? String(contentsOf: outputFile, encoding: .utf8)) ?? ""
        return (process.terminationStatus, text)
    }

    /// `vigil members --format json` on `name`'s control socket: status by member name.
    func members(_ name: String) async throws -> [String: MemberView] {
        let (status, output) = try await self.vigil([
            "members", "--control", self.controlSocket(name), "--format", "json",
        ])
        guard status == 0 else { throw ProcessTestError("vigil members on \(name) exited with \(status)") }
        let list = try JSONDecoder().decode(MemberList.self, from: Data(output.utf8))
        return Dictionary(uniqueKeysWithValues: list.members.map { ($0.name, $0) })
    }

    /// `vigil info --format json` on `name`'s control socket.
    func info(_ name: String) async throws -> AgentInfo {
        let (status, output) = try await self.vigil(["info", "--control", self.controlSocket(name), "--format", "json"])
        guard status == 0 else { throw ProcessTestError("vigil info on \(name) exited with \(status)") }
        return try JSONDecoder().decode(AgentInfo.self, from: Data(output.utf8))
    }

    /// Whether every one of `observers` lists exactly `expected` as member statuses.
    func everyone(_ observers: [String], sees expected: [String: String]) async -> Bool {
        for observer in observers {
            guard let seen = try? await self.members(observer) else { return false }
            if seen.mapValues(\.status) != expected { return false }
        }
        return true
    }

    /// The members snapshot `name` saved in its data directory, by member name.
    func savedSnapshot(_ name: String) -> [String: String] {
        struct Saved: Decodable {
            struct Entry: Decodable {
                var name: String
                var status: String
            }
            var members: [Entry]
        }
        let path = self.dataDirectory(name) + "/" + DataDirectory.snapshotFileName
        guard let data = FileManager.default.contents(atPath: path),
            let saved = try? JSONDecoder().decode(Saved.self, from: data)
        else { return [:] }
        return Dictionary(saved.members.map { ($0.name, $0.status) }, uniquingKeysWith: { $1 })
    }

    /// The last lines every agent logged, for a failure message.
    func logTail(_ names: String..., lines: Int = 15) -> String {
        let all =
            names.isEmpty
            ? ((try? FileManager.default.contentsOfDirectory(atPath: self.directory.path)) ?? [])
                .filter { $0.hasSuffix(".log") }.map { String($0.dropLast(4)) }.sorted()
            : names
        return all.map { name in
            let text =
                (try? String(contentsOf: self.directory.appendingPathComponent("\(name).log"), encoding: .utf8)) ?? ""
            let tail = text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines)
            return "--- \(name).log\n" + tail.joined(separator: "\n")
        }.joined(separator: "\n")
    }

    /// The environment without VIGIL_* settings of whoever runs the tests.
    private static var childEnvironment: [String: String] {
        ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("VIGIL_") }
    }
}

struct ProcessTestError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}

/// Polls `condition` every 100 ms until it holds or `guardSeconds` pass. The limit is
/// a hang guard, never a speed assertion.
func eventually(_ guardSeconds: Double = 60, _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .seconds(guardSeconds)
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(100))
    }
    return await condition()
}

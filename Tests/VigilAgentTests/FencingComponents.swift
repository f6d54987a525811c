import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL

@testable import VigilAgent

/// The real components the fencing tests run against, and how to start them:
/// sushy-tools' Redfish emulator and pyghmi's fakebmc from the venv that
/// `scripts/test-components.sh` makes (`<package root>/.build-venv`, or
/// `$VIGIL_TEST_VENV`), Debian's fence-agents, ipmitool and openssl.
///
/// A test that needs a component which is not there is *skipped* with a message
/// naming it (Swift Testing's `.enabled(if:_:)`), never passed: run
/// `bash scripts/test-components.sh` (which `scripts/test.sh` does) to install them.
enum FencingComponents {
    static let packageRoot: String = {
        // Tests/VigilAgentTests/FencingComponents.swift → the package root.
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
    }()

    static let venv: String = ProcessInfo.processInfo.environment["VIGIL_TEST_VENV"] ?? "\(packageRoot)/.build-venv"

    static func venvTool(_ name: String) -> String? {
        let path = "\(venv)/bin/\(name)"
        return access(path, X_OK) == 0 ? path : nil
    }

    /// Every deadline these tests give a driver, and every bound on how long a step
    /// may take: a hang guard, never a speed assertion. It is this large because the
    /// whole suite runs in one process on two cores, where CPU-bound simulator tests
    /// can hold the cooperative thread pool for a minute or more (seen: 106 s), and a
    /// driver's deadline is wall-clock time.
    static let hangGuard: Duration = .seconds(300)

    static let sushyEmulator = venvTool("sushy-emulator")
    static let fakeBMC = venvTool("fakebmc")
    static let venvPython = venvTool("python")
    static let openssl = ChildProcess.locate("openssl")
    static let fenceRedfish = ChildProcess.locate("fence_redfish")
    static let fenceIPMILan = ChildProcess.locate("fence_ipmilan")
    static let ipmitool = ChildProcess.locate("ipmitool")

    /// The Redfish emulator can run: sushy-emulator and bcrypt (venv) and openssl.
    static let haveSushy = sushyEmulator != nil && venvPython != nil && openssl != nil
    static let haveFakeBMC = fakeBMC != nil && ipmitool != nil

    static let missingSushy =
        "needs sushy-emulator and bcrypt in \(venv) and openssl: run scripts/test-components.sh"
    static let missingFenceRedfish = "needs fence_redfish (Debian fence-agents): run scripts/test-components.sh"
    static let missingFakeBMC = "needs pyghmi's fakebmc in \(venv) and ipmitool: run scripts/test-components.sh"
    static let missingFenceIPMILan = "needs fence_ipmilan (Debian fence-agents): run scripts/test-components.sh"

    // MARK: - Helpers

    struct SetupError: Error, CustomStringConvertible {
        var description: String
    }

    /// A fresh directory for one test; remove it with `removeDirectory`.
    static func makeDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("vigil-fence-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func removeDirectory(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    static func write(_ text: String, to path: String, mode: Int = 0o600) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }

    /// Writes an executable `/bin/sh` script.
    static func script(_ body: String, at path: String) throws -> String {
        try write("#!/bin/sh\n" + body + "\n", to: path, mode: 0o755)
        return path
    }

    /// A port that was free a moment ago on 127.0.0.1 (`type`: SOCK_STREAM or SOCK_DGRAM).
    static func freePort(_ type: Int32) throws -> Int {
        let fd = socket(AF_INET, type, 0)
        guard fd >= 0 else { throw SetupError(description: "socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw SetupError(description: "cannot bind a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Runs a setup command (openssl, python) and requires exit 0.
    static func runSetup(_ executable: String, _ arguments: [String], input: String? = nil) async throws -> String {
        let outcome = try await ChildProcess.run(
            executable: executable, arguments: arguments, input: input, timeout: hangGuard)
        guard outcome.status == .exited(0) else {
            throw SetupError(description: "\(executable) \(arguments): \(outcome.status) \(outcome.standardError)")
        }
        return outcome.standardOutput
    }

    /// Polls `condition` every 100 ms until it holds or `guardSeconds` pass (a hang
    /// guard, not a speed assertion).
    static func eventually(_ guardSeconds: Double = 120, _ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(guardSeconds)
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return await condition()
    }

    /// Whether `pid` is a live process (not gone, not a zombie waiting to be reaped).
    static func isAlive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
        return state != "Z" && state != "X"
    }
}

/// One sushy-tools Redfish emulator (fake driver: no libvirt) on 127.0.0.1 with TLS
/// (a fresh self-signed certificate for IP 127.0.0.1) and basic auth (bcrypt
/// htpasswd), in its own directory and on its own port.
struct SushyEmulator: Sendable {
    struct System: Sendable {
        var name: String
        var uuid: String
        var path: String { "/redfish/v1/Systems/\(self.uuid)" }
    }

    static let username = "admin"
    static let password = "Fence-Me-9xQ"

    let directory: String
    let port: Int
    let systems: [System]
    /// The emulator's certificate, to trust as a CA.
    var certificateFile: String { "\(self.directory)/cert.pem" }
    /// A file holding the right password.
    var passwordFile: String { "\(self.directory)/password" }
    var baseURL: String { "https://127.0.0.1:\(self.port)" }

    /// Starts an emulator with `systems` (name and initial `On`/`Off`), runs `body`,
    /// and kills the emulator whatever happens.
    static func with<T>(
        systems specs: [(name: String, power: String)], disablePowerOff: Bool = false, attempt: Int = 1,
        _ body: (SushyEmulator) async throws -> T
    ) async throws -> T {
        guard let sushy = FencingComponents.sushyEmulator, let python = FencingComponents.venvPython,
            let openssl = FencingComponents.openssl
        else { throw FencingComponents.SetupError(description: FencingComponents.missingSushy) }

        let directory = try FencingComponents.makeDirectory()
        defer { FencingComponents.removeDirectory(directory) }
        let port = try FencingComponents.freePort(Int32(SOCK_STREAM.rawValue))
        let systems = specs.map { System(name: $0.name, uuid: UUID().uuidString.lowercased()) }

        _ = try await FencingComponents.runSetup(
            openssl,
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", "\(directory)/key.pem", "-out", "\(directory)/cert.pem", "-days", "2",
                "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            ])
        let hash = try await FencingComponents.runSetup(
            python,
            ["-c", "import bcrypt, sys; print(bcrypt.hashpw(sys.stdin.read().encode(), bcrypt.gensalt(rounds=4)).decode())"],
            input: Self.password)
        try FencingComponents.write("\(Self.username):\(hash.trimmingCharacters(in: .whitespacesAndNewlines))\n",
                                    to: "\(directory)/htpasswd")
        try FencingComponents.write(Self.password + "\n", to: "\(directory)/password")
        let fakeSystems = zip(systems, specs).map { system, spec in
            "{'uuid': '\(system.uuid)', 'name': '\(system.name)', 'power_state': '\(spec.power)'}"
        }.joined(separator: ",\n    ")
        try FencingComponents.write(
            """
            SUSHY_EMULATOR_LISTEN_IP = '127.0.0.1'
            SUSHY_EMULATOR_LISTEN_PORT = \(port)
            SUSHY_EMULATOR_SSL_CERT = '\(directory)/cert.pem'
            SUSHY_EMULATOR_SSL_KEY = '\(directory)/key.pem'
            SUSHY_EMULATOR_AUTH_FILE = '\(directory)/htpasswd'
            SUSHY_EMULATOR_STATE_DIR = '\(directory)/state'
            SUSHY_EMULATOR_FAKE_DRIVER = True
            SUSHY_EMULATOR_DISABLE_POWER_OFF = \(disablePowerOff ? "True" : "False")
            SUSHY_EMULATOR_FAKE_SYSTEMS = [
                \(fakeSystems)
            ]
            """, to: "\(directory)/emulator.conf")

        let process = Process()
        process.executableURL = URL(fileURLWithPath: sushy)
        process.arguments = ["--config", "\(directory)/emulator.conf"]
        let log = FileManager.default.createFile(atPath: "\(directory)/emulator.log", contents: nil)
            ? FileHandle(forWritingAtPath: "\(directory)/emulator.log") : nil
        process.standardOutput = log ?? FileHandle.nullDevice
        process.standardError = log ?? FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        defer {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }

        let emulator = SushyEmulator(directory: directory, port: port, systems: systems)
        var exited = false
        let ready = await FencingComponents.eventually {
            guard process.isRunning else {
                exited = true
                return true
            }
            return (try? await emulator.get("/redfish/v1/", authenticated: false).0) == 200
        }
        guard ready && !exited else {
            let output = (try? String(contentsOfFile: "\(directory)/emulator.log", encoding: .utf8)) ?? ""
            // The free port was taken between our check and the emulator's bind (tests
            // run side by side): try another one.
            if exited && output.contains("Address already in use") && attempt < 3 {
                return try await Self.with(
                    systems: specs, disablePowerOff: disablePowerOff, attempt: attempt + 1, body)
            }
            throw FencingComponents.SetupError(description: "sushy-emulator did not answer on \(port): \(output)")
        }
        return try await body(emulator)
    }

    /// The system's `PowerState`, read directly (not through a driver under test).
    func powerState(_ system: System) async throws -> String {
        let (status, body) = try await self.get(system.path, authenticated: true)
        guard status == 200, let object = try JSONSerialization.jsonObject(with: body) as? [String: Any],
            let state = object["PowerState"] as? String
        else { throw FencingComponents.SetupError(description: "GET \(system.path): \(status)") }
        return state
    }

    func get(_ path: String, authenticated: Bool) async throws -> (UInt, Data) {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        let client = HTTPClient(
            eventLoopGroup: HTTPClient.defaultEventLoopGroup,
            configuration: .init(tlsConfiguration: tls, timeout: .init(connect: .seconds(2))))
        do {
            var request = HTTPClientRequest(url: self.baseURL + path)
            if authenticated { request.setBasicAuth(username: Self.username, password: Self.password) }
            let response = try await client.execute(request, timeout: .seconds(120))
            let body = try await response.body.collect(upTo: 1 << 20)
            try? await client.shutdown()
            return (response.status.code, Data(body.readableBytesView))
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    func redfishSettings(_ system: System, passwordFile: String? = nil) -> RedfishSettings {
        var settings = RedfishSettings(
            baseURL: self.baseURL, systemPath: system.path, username: Self.username,
            passwordFile: passwordFile ?? self.passwordFile)
        settings.insecure = true
        settings.pollInterval = .milliseconds(200)
        return settings
    }

    func fenceRedfishSettings(_ system: System, passwordFile: String? = nil) -> FenceAgentSettings {
        FenceAgentSettings(
            agent: "fence_redfish",
            options: [
                "ip": "127.0.0.1", "ipport": String(self.port), "username": Self.username, "ssl_insecure": "1",
                "systems_uri": system.path,
            ],
            passwordFile: passwordFile ?? self.passwordFile)
    }
}

/// pyghmi's fakebmc (an IPMI v2 BMC, user admin / password `password`, power starts
/// off) on a free UDP port.
struct FakeBMC: Sendable {
    static let username = "admin"
    static let password = "password"

    let port: Int
    let directory: String
    var passwordFile: String { "\(self.directory)/password" }

    static func with<T>(_ body: (FakeBMC) async throws -> T) async throws -> T {
        guard let fakebmc = FencingComponents.fakeBMC else {
            throw FencingComponents.SetupError(description: FencingComponents.missingFakeBMC)
        }
        let directory = try FencingComponents.makeDirectory()
        defer { FencingComponents.removeDirectory(directory) }
        try FencingComponents.write(Self.password + "\n", to: "\(directory)/password")
        let port = try FencingComponents.freePort(Int32(SOCK_DGRAM.rawValue))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: fakebmc)
        process.arguments = ["--port", String(port)]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        defer {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        let bmc = FakeBMC(port: port, directory: directory)
        let ready = await FencingComponents.eventually {
            guard process.isRunning else { return false }
            return (try? await bmc.ipmitool("chassis", "power", "status")) != nil
        }
        guard ready else { throw FencingComponents.SetupError(description: "fakebmc did not answer on \(port)") }
        return try await body(bmc)
    }

    /// Runs ipmitool against the BMC directly (not through a driver under test);
    /// its output, or an error.
    @discardableResult
    func ipmitool(_ command: String...) async throws -> String {
        guard let ipmitool = FencingComponents.ipmitool else {
            throw FencingComponents.SetupError(description: FencingComponents.missingFakeBMC)
        }
        let outcome = try await ChildProcess.run(
            executable: ipmitool,
            arguments: ["-I", "lanplus", "-H", "127.0.0.1", "-p", String(self.port), "-U", Self.username, "-E",
                        "-C", "3", "-R", "1", "-N", "1"] + command,
            environment: ["IPMI_PASSWORD": Self.password], timeout: FencingComponents.hangGuard)
        guard outcome.status == .exited(0) else {
            throw FencingComponents.SetupError(description: "ipmitool \(command): \(outcome.standardError)")
        }
        return outcome.standardOutput
    }

    func ipmitoolSettings(passwordFile: String? = nil) -> IPMIToolSettings {
        var settings = IPMIToolSettings(
            host: "127.0.0.1", username: Self.username, passwordFile: passwordFile ?? self.passwordFile)
        settings.port = self.port
        settings.pollInterval = .milliseconds(200)
        return settings
    }
}

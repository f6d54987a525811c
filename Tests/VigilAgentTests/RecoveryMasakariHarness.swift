import AsyncHTTPClient
import Foundation
import Testing
import VigilAgent
import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The real Masakari API (PyPI `masakari`, installed by
/// `scripts/test-components-recovery.sh` in `<package root>/.build-venv-masakari`), run
/// as in `shared/notes/real-components.md`: noauth2, `transport_url = fake:/`, SQLite,
/// no engine, `notification_delay_max = 0`; `keep_alive = false` and
/// `graceful_shutdown_timeout = 2` so that SIGTERM does not wait on the tests' pooled
/// connections. Its host check asks Nova through Keystone:
/// both are the Swift `OpenStackFake` of the test.
///
/// The database schema is made once per venv by `masakari-manage db sync` into a
/// template directory inside the venv; every test gets fresh copies of the two SQLite files (a segment with an
/// unprocessed notification refuses later edits), its own free port, and its own
/// `masakari-api` process, stopped afterwards.
enum MasakariHarness {
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let venv = packageRoot.appendingPathComponent(".build-venv-masakari")
    static let api = venv.appendingPathComponent("bin/masakari-api").path
    static let manage = venv.appendingPathComponent("bin/masakari-manage").path

    static var isInstalled: Bool {
        FileManager.default.isExecutableFile(atPath: api) && FileManager.default.isExecutableFile(atPath: manage)
    }

    static let skipReason: Comment =
        "the Masakari API is not installed at .build-venv-masakari: run `bash scripts/test-components-recovery.sh` (needs PyPI)"

    /// The template database, made at most once per test process.
    private static let template = TemplateDatabase()

    /// Runs `body` with a running Masakari API at `http://127.0.0.1:PORT` whose host
    /// check goes to `fake`.
    static func withMasakari<T>(fake: OpenStackFake, _ body: (_ endpoint: String) async throws -> T) async throws -> T {
        let templateDirectory = try await self.template.directory()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-masakari-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for file in ["masakari.db", "taskflow.db"] {
            try FileManager.default.copyItem(
                at: templateDirectory.appendingPathComponent(file), to: directory.appendingPathComponent(file))
        }
        let port = try await self.freePort()
        let config = try self.writeConfig(in: directory, port: port, keystone: fake.authURL)
        let process = try SpawnedProcess.spawn(
            self.api, arguments: ["--config-file", config.path], environment: ProcessInfo.processInfo.environment,
            output: directory.appendingPathComponent("api.out").path)
        do {
            let endpoint = "http://127.0.0.1:\(port)"
            try await self.waitUntilAnswering(endpoint, process: process, log: directory)
            let result = try await body(endpoint)
            await process.stop(grace: .seconds(10))
            return result
        } catch {
            await process.stop(grace: .seconds(10))
            throw error
        }
    }

    /// Writes `masakari.conf` and a copy of `api-paste.ini` (healthcheck file moved out
    /// of /etc/masakari) into `directory`.
    static func writeConfig(in directory: URL, port: Int, keystone: String) throws -> URL {
        let paste = try String(contentsOf: self.venv.appendingPathComponent("etc/masakari/api-paste.ini"), encoding: .utf8)
            .replacingOccurrences(of: "/etc/masakari/healthcheck_disable", with: directory.appendingPathComponent("healthcheck_disable").path)
        let pastePath = directory.appendingPathComponent("api-paste.ini")
        try paste.write(to: pastePath, atomically: true, encoding: .utf8)
        let dir = directory.path
        let config = """
            [DEFAULT]
            auth_strategy = noauth2
            transport_url = fake:/
            masakari_api_listen = 127.0.0.1
            masakari_api_listen_port = \(port)
            masakari_api_workers = 1
            state_path = \(dir)
            log_dir = \(dir)
            notification_delay_max = 0
            graceful_shutdown_timeout = 2
            os_privileged_user_name = vigil
            os_privileged_user_password = correct horse battery staple
            os_privileged_user_tenant = service
            os_privileged_user_auth_url = \(keystone)
            [keystone_authtoken]
            auth_type = password
            [wsgi]
            api_paste_config = \(pastePath.path)
            keep_alive = false
            [database]
            connection = sqlite:///\(dir)/masakari.db
            [oslo_concurrency]
            lock_path = \(dir)/locks
            [taskflow]
            connection = sqlite:///\(dir)/taskflow.db

            """
        let path = directory.appendingPathComponent("masakari.conf")
        try config.write(to: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Polls `GET /` (the version document) until it answers 200; fails early if the
    /// process exits, with the tail of its log.
    static func waitUntilAnswering(_ endpoint: String, process: SpawnedProcess, log directory: URL) async throws {
        let started = ContinuousClock.now
        while ContinuousClock.now - started < .seconds(120) {
            if let exit = process.poll() {
                throw HarnessError("masakari-api ended (\(exit)) before answering: \(self.logTail(directory))")
            }
            if await self.answers(endpoint) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw HarnessError("masakari-api did not answer within 120 s (hang guard): \(self.logTail(directory))")
    }

    static func answers(_ url: String) async -> Bool {
        let request = HTTPClientRequest(url: url + "/")
        guard let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(2)) else { return false }
        _ = try? await response.body.collect(upTo: 1 << 20)
        return response.status == .ok
    }

    static func logTail(_ directory: URL) -> String {
        let files = ["api.out", "masakari-api.log", "sync.out"].map { directory.appendingPathComponent($0) }
        let text = files.compactMap { try? String(contentsOf: $0, encoding: .utf8) }.joined(separator: "\n")
        return String(text.suffix(1500))
    }

    /// A port that was free a moment ago (bound to 127.0.0.1:0 and closed again).
    static func freePort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port ?? 0
        try await channel.close()
        return port
    }

    /// `masakari-manage db sync` once per venv: the schema is kept in
    /// `.build-venv-masakari/vigil-db-template` (made in a scratch directory, then
    /// renamed into place, so concurrent test runs never see half a template).
    actor TemplateDatabase {
        private var made: Result<URL, HarnessError>?

        func directory() async throws -> URL {
            if let made { return try made.get() }
            let result = await self.make()
            self.made = result
            return try result.get()
        }

        private func make() async -> Result<URL, HarnessError> {
            let final = MasakariHarness.venv.appendingPathComponent("vigil-db-template")
            let complete = { (directory: URL) in
                ["masakari.db", "taskflow.db"].allSatisfy {
                    FileManager.default.fileExists(atPath: directory.appendingPathComponent($0).path)
                }
            }
            if complete(final) { return .success(final) }
            let scratch = MasakariHarness.venv.appendingPathComponent("vigil-db-template-\(getpid())-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: scratch) }
            do {
                try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
                let config = try MasakariHarness.writeConfig(in: scratch, port: 1, keystone: "http://127.0.0.1:1/v3")
                let sync = try SpawnedProcess.spawn(
                    MasakariHarness.manage, arguments: ["--config-file", config.path, "db", "sync"],
                    environment: ProcessInfo.processInfo.environment, output: scratch.appendingPathComponent("sync.out").path)
                let status = await sync.wait(atMost: .seconds(180))
                guard status == .exited(0), complete(scratch) else {
                    if status == nil { await sync.stop(grace: .seconds(2)) }
                    return .failure(HarnessError(
                        "masakari-manage db sync failed (\(status.map { "\($0)" } ?? "hung")): \(MasakariHarness.logTail(scratch))"))
                }
                for name in ["masakari.conf", "api-paste.ini", "sync.out"] {
                    try? FileManager.default.removeItem(at: scratch.appendingPathComponent(name))
                }
                if rename(scratch.path, final.path) != 0 && !complete(final) {
                    return .failure(HarnessError("cannot move the Masakari template database to \(final.path)"))
                }
                return .success(final)
            } catch {
                return .failure(HarnessError("cannot prepare the Masakari template database: \(error)"))
            }
        }
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

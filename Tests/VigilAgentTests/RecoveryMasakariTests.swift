import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Testing

@testable import VigilAgent

/// The Masakari driver against the real Masakari API (see `MasakariHarness`), whose
/// host check talks to the Keystone + Nova fake.
@Suite(.serialized, .timeLimit(.minutes(5)), .enabled(if: MasakariHarness.isInstalled, MasakariHarness.skipReason))
struct RecoveryMasakariTests {
    static let logger = Logger(label: "test.recovery.masakari")
    static let fencedAt = Date(timeIntervalSince1970: 1_796_000_000)

    static func request(_ node: String) -> RecoveryRequest {
        RecoveryRequest(node: node, term: 7, fencedAt: Self.fencedAt, timeout: .seconds(60))
    }

    static func noauthDriver(_ endpoint: String) -> MasakariRecoveryDriver {
        MasakariRecoveryDriver(settings: .init(access: .noauth(endpoint: endpoint)), logger: Self.logger)
    }

    @Test func notificationIsAcceptedAndListedByMasakari() async throws {
        try await withOpenStackFake({ _ in }) { fake in
            fake.addHost("compute-1")
            try await MasakariHarness.withMasakari(fake: fake) { endpoint in
                try await MasakariAPI(endpoint).addHost("compute-1", onMaintenance: false)
                // Masakari checked the host with "Nova", through "Keystone": the fake.
                let checks = fake.state.withLock { state in (state.authentications, state.log) }
                #expect(checks.0 >= 1)
                #expect(checks.1.contains("GET /compute/v2.1/os-services"))
                // Keystone access with the endpoint from the catalog (`instance-ha`), given
                // without `/v1` as some clouds register it: the driver adds it.
                fake.state.withLock { $0.instanceHAEndpoint = endpoint }
                let secret = try SecretFile("correct horse battery staple")
                defer { secret.remove() }
                let keystone = KeystoneSettings(
                    authURL: fake.authURL,
                    credentials: .password(
                        user: "vigil", userDomain: "Default", project: "service", projectDomain: "Default",
                        passwordFile: secret.path))
                let driver = MasakariRecoveryDriver(settings: .init(access: .keystone(keystone)), logger: Self.logger)

                let outcome = try await driver.recover(Self.request("compute-1"))

                #expect(outcome.method == "masakari")
                let notifications = try await MasakariAPI(endpoint).notifications()
                try #require(notifications.count == 1)
                let uuid = try #require(notifications[0]["notification_uuid"] as? String)
                #expect(outcome.detail == "notification \(uuid) accepted (202)")
                #expect(notifications[0]["type"] as? String == "COMPUTE_HOST")
                #expect(notifications[0]["status"] as? String == "new")
                let payload = notifications[0]["payload"] as? [String: Any]
                #expect(payload?["event"] as? String == "STOPPED")
                #expect(payload?["host_status"] as? String == "NORMAL")
                #expect(payload?["cluster_status"] as? String == "OFFLINE")
                #expect((notifications[0]["generated_time"] as? String)?.hasPrefix("2026-11-30T") == true)
            }
        }
    }

    @Test func sameNotificationAgainIsADuplicateAndCountsAsDone() async throws {
        try await withOpenStackFake { fake in
            fake.addHost("compute-1")
            try await MasakariHarness.withMasakari(fake: fake) { endpoint in
                try await MasakariAPI(endpoint).addHost("compute-1", onMaintenance: false)
                let driver = Self.noauthDriver(endpoint)

                let first = try await driver.recover(Self.request("compute-1"))
                let second = try await driver.recover(Self.request("compute-1"))

                #expect(first.detail.hasSuffix("accepted (202)"))
                #expect(second.detail.hasPrefix("duplicate (409): Masakari already has this notification"))
                #expect(second.detail.contains("is duplicate"))
                #expect(try await MasakariAPI(endpoint).notifications().count == 1)
            }
        }
    }

    @Test func unknownHostIsRefusedWithMasakarisMessage() async throws {
        try await withOpenStackFake { fake in
            fake.addHost("compute-1")
            try await MasakariHarness.withMasakari(fake: fake) { endpoint in
                try await MasakariAPI(endpoint).addHost("compute-1", onMaintenance: false)
                let driver = Self.noauthDriver(endpoint)

                let error = try await #require(throws: RecoveryError.self) {
                    try await driver.recover(Self.request("compute-9"))
                }

                #expect(error == .refused(error.message))
                #expect(error.message.contains("(400): Host with name compute-9 could not be found."))
                #expect(error.message.contains("failover segment"))
                #expect(try await MasakariAPI(endpoint).notifications().isEmpty)
            }
        }
    }

    @Test func hostOnMaintenanceIsRefusedWithMasakarisMessage() async throws {
        try await withOpenStackFake { fake in
            fake.addHost("compute-2")
            try await MasakariHarness.withMasakari(fake: fake) { endpoint in
                try await MasakariAPI(endpoint).addHost("compute-2", onMaintenance: true)
                let driver = Self.noauthDriver(endpoint)

                let error = try await #require(throws: RecoveryError.self) {
                    try await driver.recover(Self.request("compute-2"))
                }

                #expect(error == .refused(error.message))
                #expect(error.message.contains("(409)"))
                #expect(error.message.contains("is ignored as the host is already under maintenance"))
                #expect(try await MasakariAPI(endpoint).notifications().isEmpty)
            }
        }
    }
}

/// A few calls of the Masakari API for the tests' own setup and checks.
struct MasakariAPI {
    let endpoint: String
    init(_ endpoint: String) { self.endpoint = endpoint }

    func call(_ method: HTTPMethod, _ path: String, _ body: [String: Any]? = nil) async throws -> (Int, [String: Any]) {
        var request = HTTPClientRequest(url: self.endpoint + path)
        request.method = method
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "X-Auth-Token", value: "admin:admin")
        if let body { request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body))) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let bytes = try await response.body.collect(upTo: 1 << 22)
        let object = (try? JSONSerialization.jsonObject(with: Data(bytes.readableBytesView))) as? [String: Any] ?? [:]
        return (Int(response.status.code), object)
    }

    /// A segment (recovery method `auto`) with one host, through Masakari's own API.
    func addHost(_ name: String, onMaintenance: Bool) async throws {
        try await self.addSegment("segment-\(name)", hosts: [name], onMaintenance: onMaintenance)
    }

    /// A segment (recovery method `auto`) holding `hosts`.
    /// - Returns: each host's uuid (a notification names its host by `source_host_uuid`).
    @discardableResult
    func addSegment(_ segmentName: String, hosts: [String], onMaintenance: Bool = false) async throws -> [String: String] {
        var uuids: [String: String] = [:]
        let (segmentStatus, segment) = try await self.call(
            .POST, "/v1/segments",
            ["segment": ["name": segmentName, "recovery_method": "auto", "service_type": "COMPUTE"]])
        try #require(segmentStatus == 201, "POST /v1/segments answered \(segmentStatus): \(segment)")
        let uuid = try #require((segment["segment"] as? [String: Any])?["uuid"] as? String)
        for name in hosts {
            let (hostStatus, host) = try await self.call(
                .POST, "/v1/segments/\(uuid)/hosts",
                ["host": ["name": name, "type": "COMPUTE", "control_attributes": "SSH", "on_maintenance": onMaintenance, "reserved": false]])
            try #require(hostStatus == 201, "POST /v1/segments/\(uuid)/hosts answered \(hostStatus): \(host)")
            uuids[name] = (host["host"] as? [String: Any])?["uuid"] as? String
        }
        return uuids
    }

    func notifications() async throws -> [[String: Any]] {
        let (status, body) = try await self.call(.GET, "/v1/notifications")
        try #require(status == 200, "GET /v1/notifications answered \(status)")
        return body["notifications"] as? [[String: Any]] ?? []
    }
}

/// A secret in a temporary file of mode 0600, as the drivers read them.
struct SecretFile {
    let path: String

    init(_ secret: String) throws {
        self.path = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-secret-\(UUID().uuidString)").path
        try (secret + "\n").write(toFile: self.path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: self.path)
    }

    func remove() { try? FileManager.default.removeItem(atPath: self.path) }
}

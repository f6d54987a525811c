import Foundation
import Logging
import Testing

@testable import VigilAgent

/// The pure parts of Keystone handling: token freshness, `expires_at`, catalog lookup,
/// the Masakari URL and body.
struct RecoveryKeystoneTests {
    static func catalog() -> ServiceCatalog {
        ServiceCatalog(services: [
            .init(type: "compute", name: "nova", endpoints: [
                .init(interface: "public", region: "RegionOne", regionID: "RegionOne", url: "https://nova.one/v2.1"),
                .init(interface: "internal", region: "RegionOne", regionID: "RegionOne", url: "http://nova.one.internal/v2.1"),
                .init(interface: "public", region: "RegionTwo", regionID: "RegionTwo", url: "https://nova.two/v2.1"),
            ]),
            .init(type: "instance-ha", name: "masakari", endpoints: [
                .init(interface: "public", region: nil, regionID: "RegionOne", url: "https://masakari/v1/abc123"),
            ]),
        ])
    }

    @Test func catalogPicksTheEndpointByInterfaceAndRegion() {
        let catalog = Self.catalog()
        #expect(catalog.endpoint(serviceType: "compute", interface: .internal, region: nil) == .success("http://nova.one.internal/v2.1"))
        #expect(catalog.endpoint(serviceType: "compute", interface: .public, region: "RegionTwo") == .success("https://nova.two/v2.1"))
        #expect(catalog.endpoint(serviceType: "instance-ha", interface: .public, region: "RegionOne") == .success("https://masakari/v1/abc123"))
    }

    @Test func catalogLookupFailuresSayWhatIsThere() {
        let catalog = Self.catalog()
        #expect(catalog.endpoint(serviceType: "compute", interface: .public, region: nil) == .failure(.init(
            "the catalog has 2 `public` endpoints of `compute` (regions: RegionOne, RegionTwo); set the region")))
        #expect(catalog.endpoint(serviceType: "compute", interface: .admin, region: nil) == .failure(.init(
            "the catalog has no `admin` endpoint of `compute` (it has: internal@RegionOne, public@RegionOne, public@RegionTwo); set the interface or region to one of these")))
        #expect(catalog.endpoint(serviceType: "volumev3", interface: .public, region: nil) == .failure(.init(
            "the token's catalog has no service of type `volumev3` (it has: compute, instance-ha); register the service in Keystone or give its endpoint URL directly")))
    }

    @Test func expiresAtWithMicrosecondsIsRead() throws {
        let date = try #require(KeystoneToken.parseTime("2015-11-09T01:42:57.527363Z"))
        #expect(abs(date.timeIntervalSince1970 - 1_447_033_377.527363) < 0.000_01)
        #expect(KeystoneToken.parseTime("2015-11-09T01:42:57Z")?.timeIntervalSince1970 == 1_447_033_377)
        #expect(KeystoneToken.parseTime("2015-11-09T01:42:57.5+01:00")?.timeIntervalSince1970 == 1_447_029_777.5)
        #expect(KeystoneToken.parseTime("tomorrow") == nil)
    }

    @Test func tokenIsRenewedBeforeItExpiresAndShortTokensAtHalfLife() {
        let issued = Date(timeIntervalSince1970: 1_000_000)
        let hour = KeystoneToken(value: "t", expiresAt: issued.addingTimeInterval(3600), receivedAt: issued, catalog: .init(services: []))
        #expect(hour.isFresh(at: issued.addingTimeInterval(3479), renewBefore: .seconds(120)))
        #expect(!hour.isFresh(at: issued.addingTimeInterval(3481), renewBefore: .seconds(120)))
        let minute = KeystoneToken(value: "t", expiresAt: issued.addingTimeInterval(60), receivedAt: issued, catalog: .init(services: []))
        #expect(minute.isFresh(at: issued.addingTimeInterval(29), renewBefore: .seconds(120)))
        #expect(!minute.isFresh(at: issued.addingTimeInterval(31), renewBefore: .seconds(120)))
    }

    @Test func masakariPathGetsV1OnlyWhenTheEndpointLacksIt() {
        let client = OpenStackClient(
            service: "masakari", serviceType: "instance-ha", versionSegment: "v1",
            access: .noauth(endpoint: "http://m"), httpClient: RecoveryHTTPClient.shared, logger: Logger(label: "test"))
        #expect(client.url("http://m:15868", "/notifications") == "http://m:15868/v1/notifications")
        #expect(client.url("http://m:15868/", "/notifications") == "http://m:15868/v1/notifications")
        #expect(client.url("https://m/instance-ha/v1/abc123", "/notifications") == "https://m/instance-ha/v1/abc123/notifications")
        #expect(client.url("https://m/instance-ha/v1", "/notifications") == "https://m/instance-ha/v1/notifications")
    }

    @Test func masakariNotificationBodyIsTheComputeHostStoppedEvent() throws {
        let request = RecoveryRequest(node: "compute-3", term: 9, fencedAt: Date(timeIntervalSince1970: 1_796_000_000), timeout: .seconds(5))
        let body = String(decoding: MasakariRecoveryDriver.notificationBody(for: request), as: UTF8.self)
        #expect(body == #"{"notification":{"generated_time":"2026-11-30T00:53:20Z","hostname":"compute-3","payload":{"cluster_status":"OFFLINE","event":"STOPPED","host_status":"NORMAL"},"type":"COMPUTE_HOST"}}"#)
    }

    @Test func unreachableMasakariIsRetryableUnreachable() async throws {
        let port = try await MasakariHarness.freePort()
        let driver = MasakariRecoveryDriver(
            settings: .init(access: .noauth(endpoint: "http://127.0.0.1:\(port)")), logger: Logger(label: "test"))
        let error = try await #require(throws: RecoveryError.self) {
            try await driver.recover(RecoveryRequest(node: "compute-1", term: 1, fencedAt: Date(), timeout: .seconds(10)))
        }
        #expect(error == .unreachable(error.message))
        #expect(error.message.hasPrefix("masakari: cannot reach POST http://127.0.0.1:\(port)/v1/notifications"))
    }
}

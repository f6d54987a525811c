import Foundation
import Logging
import Testing

@testable import VigilAgent

/// The Nova driver end to end against the Keystone + Nova fake on loopback.
@Suite(.timeLimit(.minutes(2)))
struct RecoveryNovaTests {
    static let logger = Logger(label: "test.recovery.nova")
    static let password = "correct horse battery staple"

    static func request(_ node: String = "compute-1") -> RecoveryRequest {
        RecoveryRequest(node: node, term: 3, fencedAt: Date(timeIntervalSince1970: 1_796_000_000), timeout: .seconds(60))
    }

    static func servers(_ count: Int, on host: String, prefix: String = "s") -> [OpenStackFake.Server] {
        (1...count).map { OpenStackFake.Server(id: String(format: "\(prefix)%02d", $0), host: host) }
    }

    /// Runs `body` with a Nova driver whose password file holds `password`.
    static func withDriver<T>(
        _ fake: OpenStackFake, concurrency: Int = 4, filter: NovaRecoveryDriver.EvacuableFilter = .all,
        microversion: String = "2.53", pageSize: Int? = nil, password: String = Self.password,
        _ body: (NovaRecoveryDriver) async throws -> T
    ) async throws -> T {
        let secret = try SecretFile(password)
        defer { secret.remove() }
        let keystone = KeystoneSettings(
            authURL: fake.authURL,
            credentials: .password(user: "vigil", userDomain: "Default", project: "service", projectDomain: "Default", passwordFile: secret.path),
            interface: .internal, region: "RegionOne")
        let driver = NovaRecoveryDriver(
            settings: .init(
                access: .keystone(keystone), concurrency: concurrency, filter: filter, microversion: microversion,
                pageSize: pageSize),
            logger: Self.logger)
        return try await body(driver)
    }

    static func evacuations(_ fake: OpenStackFake) -> [String: Int] {
        fake.state.withLock { state in state.servers.mapValues(\.evacuations) }
    }

    @Test func everyServerOfTheFailedHostIsEvacuatedOnceWithBoundedConcurrency() async throws {
        try await withOpenStackFake({ $0.evacuateDelay = .milliseconds(300) }) { fake in
            fake.addHost("compute-1", servers: Self.servers(11, on: "compute-1"))
            fake.addHost("compute-2", servers: Self.servers(2, on: "compute-2", prefix: "other"))

            let outcome = try await Self.withDriver(fake, concurrency: 3, pageSize: 4) { try await $0.recover(Self.request()) }

            #expect(outcome == RecoveryOutcome(method: "nova", detail: "evacuated 11 of 11 instances from compute-1"))
            let evacuations = Self.evacuations(fake)
            #expect(evacuations.filter { $0.key.hasPrefix("s") }.values.allSatisfy { $0 == 1 })
            #expect(evacuations.filter { $0.key.hasPrefix("other") }.values.allSatisfy { $0 == 0 })
            let (maxInFlight, services, log) = fake.state.withLock { ($0.maxEvacuationsInFlight, $0.services, $0.log) }
            #expect(maxInFlight <= 3)
            #expect(maxInFlight >= 2, "evacuations ran one at a time")
            #expect(services.first { $0.host == "compute-1" }?.forcedDown == true)
            #expect(services.first { $0.host == "compute-2" }?.forcedDown == false)
            // 11 servers at 4 a page: 3 pages, the last one short.
            #expect(log.filter { $0 == "GET /compute/v2.1/servers/detail" }.count == 3)
        }
    }

    @Test func withoutMicroversion253TheServiceCannotBeForcedDownAndNothingIsEvacuated() async throws {
        try await withOpenStackFake { fake in
            fake.addHost("compute-1", servers: Self.servers(3, on: "compute-1"))

            let error = try await Self.withDriver(fake, microversion: "2.11") { driver in
                try await #require(throws: RecoveryError.self) { try await driver.recover(Self.request()) }
            }

            #expect(error == .refused(error.message))
            #expect(error.message.hasPrefix("nova: could not force the compute service of compute-1 down (404)"))
            #expect(Self.evacuations(fake).values.allSatisfy { $0 == 0 })
        }
    }

    @Test func unknownComputeHostIsRefusedNamingIt() async throws {
        try await withOpenStackFake { fake in
            fake.addHost("compute-1")
            let error = try await Self.withDriver(fake) { driver in
                try await #require(throws: RecoveryError.self) { try await driver.recover(Self.request("compute-7")) }
            }
            #expect(error == .refused(error.message))
            #expect(error.message.hasPrefix("nova: no nova-compute service on host compute-7"))
        }
    }

    @Test func resumeAfterPartialProgressDoesNotEvacuateAnyServerTwice() async throws {
        // While a rebuild runs the server stays on the old host with task_state
        // `rebuilding` (no target): the driver must see that and not ask again (Nova
        // would answer 409), and must retry the ones that failed.
        try await withOpenStackFake({ state in
            state.evacuationTarget = nil
            state.failingEvacuations = ["s02", "s05"]
        }) { fake in
            fake.addHost("compute-1", servers: Self.servers(6, on: "compute-1"))
            try await Self.withDriver(fake, concurrency: 2) { driver in
                let error = try await #require(throws: RecoveryError.self) { try await driver.recover(Self.request()) }
                #expect(error == .partial(error.message))
                #expect(error.message.contains("evacuated 4 of 6 instances from compute-1; 2 failed: s02: evacuate answered 500"))
                #expect(error.message.hasSuffix("a retry resumes with the rest"))

                fake.state.withLock { $0.failingEvacuations = [] }
                let outcome = try await driver.recover(Self.request())

                #expect(outcome.detail == "evacuated 6 of 6 instances from compute-1 (4 already under way)")
                #expect(Self.evacuations(fake).values.sorted() == [1, 1, 1, 1, 1, 1])
            }
        }
    }

    @Test func resumeAfterServersMovedEvacuatesOnlyTheRest() async throws {
        try await withOpenStackFake({ $0.failingEvacuations = ["s03"] }) { fake in
            fake.addHost("compute-1", servers: Self.servers(4, on: "compute-1"))
            try await Self.withDriver(fake) { driver in
                _ = try await #require(throws: RecoveryError.self) { try await driver.recover(Self.request()) }
                fake.state.withLock { $0.failingEvacuations = [] }

                let outcome = try await driver.recover(Self.request())

                #expect(outcome.detail == "evacuated 1 of 1 instances from compute-1")
                #expect(Self.evacuations(fake) == ["s01": 1, "s02": 1, "s03": 1, "s04": 1])
            }
        }
    }

    @Test func evacuableFilterEvacuatesOnlyTaggedServers() async throws {
        try await withOpenStackFake { fake in
            fake.addHost("compute-1", servers: [
                .init(id: "meta-true", host: "compute-1", metadata: ["evacuable": "true"]),
                .init(id: "spec-true", host: "compute-1", extraSpecs: ["evacuable": "True"]),
                .init(id: "meta-false", host: "compute-1", metadata: ["evacuable": "false"]),
                .init(id: "untagged-1", host: "compute-1"),
                .init(id: "untagged-2", host: "compute-1", metadata: ["role": "db"]),
            ])

            let outcome = try await Self.withDriver(fake, filter: .tagged(key: "evacuable")) { try await $0.recover(Self.request()) }

            #expect(outcome.detail == "evacuated 2 of 5 instances from compute-1 (3 skipped: not evacuable (no `evacuable=true`))")
            #expect(Self.evacuations(fake) == ["meta-true": 1, "spec-true": 1, "meta-false": 0, "untagged-1": 0, "untagged-2": 0])
        }
    }

    @Test func tokenRevokedMidRunIsRenewedOnceAndTheRunContinues() async throws {
        try await withOpenStackFake({ state in
            state.revokeTokensAfterEvacuations = 3
            state.evacuateDelay = .milliseconds(50)
            // Re-authentication takes a while, so that the other evacuations in flight
            // meet their 401 while it runs: they must wait for it, not authenticate too.
            state.authDelay = .milliseconds(300)
        }) { fake in
            fake.addHost("compute-1", servers: Self.servers(10, on: "compute-1"))

            let outcome = try await Self.withDriver(fake, concurrency: 4) { try await $0.recover(Self.request()) }

            #expect(outcome.detail == "evacuated 10 of 10 instances from compute-1")
            #expect(Self.evacuations(fake).values.allSatisfy { $0 == 1 })
            let (authentications, refusals) = fake.state.withLock { ($0.authentications, $0.unauthorizedAnswers) }
            #expect(refusals >= 1, "the fake never refused a token: the test proves nothing")
            #expect(authentications == 2)
        }
    }

    @Test func wrongPasswordIsUnauthorizedAndTheErrorHoldsNoSecret() async throws {
        try await withOpenStackFake({ $0.echoPasswordInErrors = true }) { fake in
            fake.addHost("compute-1", servers: Self.servers(1, on: "compute-1"))
            let wrong = "Tr0ub4dor&3-not-it"

            let error = try await Self.withDriver(fake, password: wrong) { driver in
                try await #require(throws: RecoveryError.self) { try await driver.recover(Self.request()) }
            }

            #expect(error == .unauthorized(error.message))
            #expect(error.message.contains("refused user `vigil` (domain `Default`) in project `service` (domain `Default`) (401)"))
            #expect(error.message.contains("<redacted>"), "the fake echoed the password: it must be replaced")
            #expect(!error.message.contains(wrong))
            #expect(!error.message.contains("Tr0ub4dor"))
            #expect(Self.evacuations(fake).values.allSatisfy { $0 == 0 })
        }
    }

    @Test func serverErrorsEchoingTheTokenDoNotLeakItIntoTheOutcome() async throws {
        try await withOpenStackFake({ state in
            state.failingEvacuations = ["s01"]
            state.echoTokenInErrors = true
        }) { fake in
            fake.addHost("compute-1", servers: Self.servers(2, on: "compute-1"))

            let error = try await Self.withDriver(fake) { driver in
                try await #require(throws: RecoveryError.self) { try await driver.recover(Self.request()) }
            }

            let tokens = fake.state.withLock { Array($0.tokens.keys) }
            try #require(tokens.count == 1)
            #expect(error.message.contains("s01: evacuate answered 500"))
            #expect(error.message.contains("<redacted>"))
            #expect(!error.message.contains(tokens[0]))
            #expect(!error.message.contains(Self.password))
        }
    }

    @Test func applicationCredentialAuthenticatesAndTheTokenIsReused() async throws {
        try await withOpenStackFake({ $0.applicationCredentials = ["ac-1": "s3cr3t-app"] }) { fake in
            fake.addHost("compute-1", servers: Self.servers(2, on: "compute-1"))
            let secret = try SecretFile("s3cr3t-app")
            defer { secret.remove() }
            let keystone = KeystoneSettings(authURL: fake.baseURL + "/identity/", credentials: .applicationCredential(id: "ac-1", secretFile: secret.path), region: "RegionOne")
            let driver = NovaRecoveryDriver(settings: .init(access: .keystone(keystone)), logger: Self.logger)

            let first = try await driver.recover(Self.request())
            let again = try await driver.recover(Self.request())

            #expect(first.detail == "evacuated 2 of 2 instances from compute-1")
            #expect(again.detail == "evacuated 0 of 0 instances from compute-1")
            #expect(fake.state.withLock { $0.authentications } == 1)
        }
    }

    @Test func missingSecretFileIsMisconfiguredNamingTheFile() async throws {
        try await withOpenStackFake { fake in
            let keystone = KeystoneSettings(
                authURL: fake.authURL, credentials: .applicationCredential(id: "ac-1", secretFile: "/nonexistent/vigil/secret"))
            let driver = NovaRecoveryDriver(settings: .init(access: .keystone(keystone)), logger: Self.logger)
            let error = try await #require(throws: RecoveryError.self) { try await driver.recover(Self.request()) }
            #expect(error == .misconfigured(error.message))
            #expect(error.message.contains("/nonexistent/vigil/secret"))
            #expect(fake.state.withLock { $0.authentications } == 0)
        }
    }

    @Test func ambiguousRegionIsMisconfiguredListingTheRegions() async throws {
        try await withOpenStackFake { fake in
            let secret = try SecretFile(Self.password)
            defer { secret.remove() }
            let keystone = KeystoneSettings(
                authURL: fake.authURL,
                credentials: .password(user: "vigil", userDomain: "Default", project: "service", projectDomain: "Default", passwordFile: secret.path))
            let driver = NovaRecoveryDriver(settings: .init(access: .keystone(keystone)), logger: Self.logger)
            let error = try await #require(throws: RecoveryError.self) { try await driver.recover(Self.request()) }
            #expect(error == .misconfigured("nova: the catalog has 2 `public` endpoints of `compute` (regions: RegionOne, RegionTwo); set the region"))
        }
    }
}

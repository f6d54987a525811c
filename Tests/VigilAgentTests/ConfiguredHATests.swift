import Foundation
import Logging
import Synchronization
import Testing
import VigilCore

@testable import VigilAgent

/// `ConfiguredHA`, what the leader's agent runs for each order, against a real
/// sushy-tools Redfish emulator: a fence is reported confirmed only once the BMC
/// reads Off, and a node without fence levels is never reported fenced.
@Suite("ConfiguredHA against sushy-emulator")
struct ConfiguredHATests {
    static let logger = Logger(label: "test.configured-ha")
    static let noRecovery = RecoverySettings(driver: .script(.init(path: "/bin/false")), timeout: .seconds(30))

    static func order(_ node: String, life: UInt32 = 1, term: UInt64 = 4) -> FenceOrder {
        FenceOrder(node: node, life: life, term: term, address: Address(host: "127.0.0.1", port: 1))
    }

    /// Every emulated system fenced through its own `nodes:` entry.
    static func fencing(_ sushy: SushyEmulator) -> FencingSettings {
        var nodes: [String: [FencingSettings.Level]] = [:]
        for system in sushy.systems {
            nodes[system.name] = [[.redfish(sushy.redfishSettings(system))]]
        }
        return FencingSettings(timeout: FencingComponents.hangGuard, nodes: nodes)
    }

    @Test(.enabled(if: FencingComponents.haveSushy, "\(FencingComponents.missingSushy)"))
    func aFenceIsConfirmedOnlyOnceTheBMCReportsOffAndTouchesNoOtherNode() async throws {
        try await SushyEmulator.with(systems: [("compute-01", "On"), ("compute-02", "On")]) { (sushy: SushyEmulator) async throws in
            let ha = ConfiguredHA(fencing: Self.fencing(sushy), recovery: Self.noRecovery, logger: Self.logger)

            let result = await ha.fence(Self.order("compute-01"))

            #expect(result.confirmed, "\(result.detail)")
            #expect(result.detail.hasPrefix("redfish: PowerState Off"), "\(result.detail)")
            // Read on the emulator itself, not through the driver.
            #expect(try await sushy.powerState(sushy.systems[0]) == "Off")
            #expect(try await sushy.powerState(sushy.systems[1]) == "On")
            #expect(ha.fencedAt("compute-01", life: 1) != nil)
            #expect(ha.fencedAt("compute-02", life: 1) == nil)
        }
    }

    @Test(.enabled(if: FencingComponents.haveSushy, "\(FencingComponents.missingSushy)"))
    func aBMCThatRefusesForceOffIsNotConfirmed() async throws {
        try await SushyEmulator.with(systems: [("compute-01", "On")], disablePowerOff: true) { (sushy: SushyEmulator) async throws in
            let ha = ConfiguredHA(fencing: Self.fencing(sushy), recovery: Self.noRecovery, logger: Self.logger)

            let result = await ha.fence(Self.order("compute-01"))

            #expect(!result.confirmed)
            #expect(result.detail.hasPrefix("cannot fence compute-01 (term 4): every fence level failed; level 1 redfish:"),
                    "\(result.detail)")
            #expect(!result.detail.contains("\n"))
            #expect(!result.detail.contains(SushyEmulator.password))
            #expect(try await sushy.powerState(sushy.systems[0]) == "On")
            #expect(ha.fencedAt("compute-01", life: 1) == nil)
        }
    }

    @Test(.enabled(if: FencingComponents.haveSushy, "\(FencingComponents.missingSushy)"))
    func aNodeWithoutFenceLevelsIsNotConfirmed() async throws {
        try await SushyEmulator.with(systems: [("compute-01", "On")]) { (sushy: SushyEmulator) async throws in
            let ha = ConfiguredHA(fencing: Self.fencing(sushy), recovery: Self.noRecovery, logger: Self.logger)

            let result = await ha.fence(Self.order("compute-99"))

            #expect(!result.confirmed)
            #expect(result.detail.hasPrefix("no fence levels for compute-99 in this agent's fencing: section"))
            #expect(try await sushy.powerState(sushy.systems[0]) == "On")
        }
    }

    /// Masakari recognises a retried notification by its `generated_time`: every
    /// recovery of one (node, life) must carry the same `fencedAt`.
    @Test(.enabled(if: FencingComponents.haveSushy, "\(FencingComponents.missingSushy)"))
    func everyRecoveryOfOneNodeLifeCarriesTheSameFenceTime() async throws {
        try await SushyEmulator.with(systems: [("compute-01", "On")]) { (sushy: SushyEmulator) async throws in
            let recorder = RecordingRecoveryDriver()
            let leader = ConfiguredHA(
                fencing: Self.fencing(sushy), recovery: Self.noRecovery, recoveryDriver: recorder, logger: Self.logger)
            #expect(await leader.fence(Self.order("compute-01")).confirmed)
            let fencedAt = try #require(leader.fencedAt("compute-01", life: 1))

            let first = await leader.recover(RecoveryOrder(node: "compute-01", life: 1, term: 4))
            let retry = await leader.recover(RecoveryOrder(node: "compute-01", life: 1, term: 4))
            #expect(first.succeeded && retry.succeeded)
            #expect(first.detail == "recorder: recorded")

            // A new leader that never saw the fence: the first time it is asked stands
            // for it, on every retry, also under a higher term.
            let successor = ConfiguredHA(
                fencing: Self.fencing(sushy), recovery: Self.noRecovery, recoveryDriver: recorder, logger: Self.logger)
            _ = await successor.recover(RecoveryOrder(node: "compute-01", life: 1, term: 5))
            _ = await successor.recover(RecoveryOrder(node: "compute-01", life: 1, term: 6))

            let requests = recorder.requests.withLock { $0 }
            #expect(requests.map(\.fencedAt)[0...1] == [fencedAt, fencedAt])
            #expect(requests[2].fencedAt == requests[3].fencedAt)
            #expect(requests.map(\.term) == [4, 4, 5, 6])
            #expect(requests.allSatisfy { $0.node == "compute-01" && $0.timeout == Self.noRecovery.timeout })
        }
    }
}

/// Records what it is asked and succeeds.
final class RecordingRecoveryDriver: RecoveryDriver {
    let method = "recorder"
    let requests = Mutex<[RecoveryRequest]>([])

    func recover(_ request: RecoveryRequest) async throws(RecoveryError) -> RecoveryOutcome {
        self.requests.withLock { $0.append(request) }
        return RecoveryOutcome(method: self.method, detail: "recorded")
    }
}

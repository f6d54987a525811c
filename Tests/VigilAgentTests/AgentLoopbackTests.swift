import Foundation
import Logging
import ServiceLifecycle
import Testing
import VigilCore
import VigilCrypto

@testable import VigilAgent

/// Real agents (engine + sealed UDP/TCP transport + control server) on 127.0.0.1.
/// These wait for real protocol progress; the time limits are hang guards, not
/// speed assertions.
@Suite("Agents on loopback", .serialized)
struct AgentLoopbackTests {
    struct Node {
        let runtime: AgentRuntime
        let transport: GossipTransport
        let group: ServiceGroup
        let controlPath: String
    }

    static func makeNode(
        _ name: String, key: ClusterKey, join: [Address], directory: URL,
        transport settings: TransportSettings = TransportSettings(bind: Address(host: "127.0.0.1", port: 0)),
        configuration: Configuration = .local
    ) async throws -> Node {
        let logger = Logger(label: "test.\(name)")
        let dataDirectory = try DataDirectory(path: directory.appendingPathComponent(name).path)
        let transport = try await GossipTransport(settings: settings, keyring: Keyring(primary: key), logger: logger)
        let instance = Instance(
            name: name, address: transport.advertisedAddress, identity: try dataDirectory.loadOrCreateIdentity(),
            incarnation: Incarnation.first(life: try dataDirectory.nextLife()), configuration: configuration,
            rng: DeterministicRNG(seed: SecureRandom.uint64()), election: try dataDirectory.loadElection())
        let runtime = AgentRuntime(
            instance: instance, sink: transport, presetName: "test", dataDirectory: dataDirectory, logger: logger)
        let controlPath = "/tmp/vigil-agent-test-\(getpid())-\(name).sock"
        let control = ControlServer(path: controlPath, control: runtime, logger: logger)
        let remembered = dataDirectory.loadSnapshot(logger: logger).filter { $0.status.isLive }.map(\.address)
        let service = AgentService(
            runtime: runtime, transport: transport, control: control, seeds: join + remembered,
            leaveGrace: .milliseconds(300), dataDirectory: dataDirectory, snapshotInterval: .milliseconds(200),
            logger: logger)
        // As `vigil agent` runs it: the service ending (after `vigil leave`) ends the
        // group without an error.
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup)],
                logger: logger))
        return Node(runtime: runtime, transport: transport, group: group, controlPath: controlPath)
    }

    /// Polls `condition` every 50 ms until it holds or `guardSeconds` pass.
    static func eventually(_ guardSeconds: Double = 30, _ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(guardSeconds)
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return await condition()
    }

    static func statuses(_ node: Node) async -> [String: String] {
        Dictionary(uniqueKeysWithValues: await node.runtime.members().map { ($0.name, $0.status) })
    }

    @Test func threeAgentsJoinDetectACrashAndSeeAGracefulLeave() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-agents-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let key = ClusterKey.generate()
        let first = try await Self.makeNode("a1", key: key, join: [], directory: directory)
        let seed = first.transport.localAddress
        let second = try await Self.makeNode("a2", key: key, join: [seed], directory: directory)
        let third = try await Self.makeNode("a3", key: key, join: [seed], directory: directory)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for node in [first, second, third] {
                tasks.addTask { try await node.group.run() }
            }
            let converged = await Self.eventually {
                for node in [first, second, third] {
                    let seen = await Self.statuses(node)
                    if seen.count != 3 || seen.values.contains(where: { $0 != "alive" }) { return false }
                }
                return true
            }
            #expect(converged, "three agents did not all see each other alive")

            // The operator CLI's path: members through the control socket.
            let listed = try await ControlClient(path: first.controlPath).getMembers()
            #expect(listed.map(\.name) == ["a1", "a2", "a3"])

            // a3 crashes: its sockets go silent, no leave.
            await third.transport.close()
            let failed = await Self.eventually {
                let seenByFirst = await Self.statuses(first)["a3"]
                let seenBySecond = await Self.statuses(second)["a3"]
                return seenByFirst == "failed" && seenBySecond == "failed"
            }
            #expect(failed, "a crashed agent was not marked failed by the others")
            // `vigil explain` shows the proof: the certificate's voters are a3's observers.
            let explanation = try await ControlClient(path: first.controlPath).explain("a3")
            #expect(explanation.status == "failed")
            #expect(!(explanation.certifiedBy ?? []).isEmpty)
            #expect(Set(explanation.certifiedBy ?? []).isSubset(of: ["a1", "a2"]))
            await #expect(throws: ControlError.self) { try await ControlClient(path: first.controlPath).explain("ghost") }
            await third.group.triggerGracefulShutdown()

            // a3 restarts from its data directory with no seed: it rejoins through the
            // members it saved, as a new life the others accept.
            let restarted = try await Self.makeNode("a3", key: key, join: [], directory: directory)
            tasks.addTask { try await restarted.group.run() }
            let rejoined = await Self.eventually { await Self.statuses(first)["a3"] == "alive" }
            #expect(rejoined, "a restarted agent did not rejoin from its snapshot")
            await restarted.group.triggerGracefulShutdown()

            // a2 leaves gracefully through its control socket.
            try await ControlClient(path: second.controlPath).leave()
            let left = await Self.eventually { await Self.statuses(first)["a2"] == "left" }
            #expect(left, "a graceful leave was not seen as left")
            #expect(await Self.statuses(first)["a2"] != "failed")

            await first.group.triggerGracefulShutdown()
            await second.group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    @Test func anAgentWithAnotherClusterKeyCannotJoin() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-agents-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = try await Self.makeNode("k1", key: ClusterKey.generate(), join: [], directory: directory)
        let intruder = try await Self.makeNode(
            "k2", key: ClusterKey.generate(), join: [first.transport.localAddress], directory: directory)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await first.group.run() }
            tasks.addTask { try await intruder.group.run() }
            // The intruder's join frames are refused as bad seals, and nobody learns of anybody.
            let refused = await Self.eventually { first.transport.stats.dropped(.badSeal) > 0 }
            #expect(refused)
            #expect(await Self.statuses(first).keys.sorted() == ["k1"])
            #expect(await Self.statuses(intruder).keys.sorted() == ["k2"])
            await first.group.triggerGracefulShutdown()
            await intruder.group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    @Test func forceLeaveTurnsACrashedAgentFromFailedToLeftOnEveryAgent() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-agents-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let key = ClusterKey.generate()
        let first = try await Self.makeNode("f1", key: key, join: [], directory: directory)
        let seed = first.transport.localAddress
        let second = try await Self.makeNode("f2", key: key, join: [seed], directory: directory)
        let third = try await Self.makeNode("f3", key: key, join: [seed], directory: directory)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for node in [first, second, third] {
                tasks.addTask { try await node.group.run() }
            }
            let converged = await Self.eventually {
                let a = await Self.statuses(first).values.filter { $0 == "alive" }.count
                let b = await Self.statuses(second).values.filter { $0 == "alive" }.count
                return a == 3 && b == 3
            }
            #expect(converged, "three agents did not all see each other alive")
            let client = ControlClient(path: first.controlPath)
            // A live member cannot be forced out: the operator is told why.
            let refused = try await #require(throws: ControlError.self) { try await client.forceLeave("f2") }
            #expect(refused.description.contains("member `f2` is alive, not failed"))

            await third.transport.close()
            let failed = await Self.eventually {
                let a = await Self.statuses(first)["f3"]
                let b = await Self.statuses(second)["f3"]
                return a == "failed" && b == "failed"
            }
            #expect(failed, "a crashed agent was not marked failed")
            try await client.forceLeave("f3")
            // The removal is gossiped: the other agent, which was not asked, agrees.
            let left = await Self.eventually {
                let a = await Self.statuses(first)["f3"]
                let b = await Self.statuses(second)["f3"]
                return a == "left" && b == "left"
            }
            #expect(left, "force-leave did not make the failed agent left everywhere")
            #expect(await Self.statuses(second)["f2"] == "alive")

            await third.group.triggerGracefulShutdown()
            await first.group.triggerGracefulShutdown()
            await second.group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}

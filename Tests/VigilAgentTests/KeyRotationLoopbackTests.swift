import Foundation
import Logging
import ServiceLifecycle
import Testing
import VigilCore
import VigilCrypto

@testable import VigilAgent

/// `vigil keys` across real agents on 127.0.0.1: a rotation while one agent is down,
/// which then restarts holding only the old key and must still rejoin and catch up.
/// The agents are built as `vigil agent` builds them (keyring from the data directory,
/// else `--encrypt`). Time limits are hang guards only.
@Suite("Key rotation on loopback", .serialized)
struct KeyRotationLoopbackTests {
    struct Node {
        let name: String
        let runtime: AgentRuntime
        let transport: GossipTransport
        let group: ServiceGroup
        let control: ControlClient
        let starting: StartingKeyring
        let keyringFile: String
    }

    /// An agent as `vigil agent --name NAME --data-dir DIR/NAME --encrypt KEY` makes it.
    static func makeNode(_ name: String, encrypt: ClusterKey, join: [Address], directory: URL) async throws -> Node {
        let logger = Logger(label: "test.keys.\(name)")
        let configuration = AgentConfiguration(
            name: name, bind: Address(host: "127.0.0.1", port: 0),
            dataDirectory: directory.appendingPathComponent(name).path, encryptKey: encrypt.base64,
            protocolConfiguration: .local)
        let dataDirectory = try DataDirectory(path: configuration.dataDirectory)
        let starting = try #require(try configuration.loadStartingKeyring())
        let transport = try await GossipTransport(
            settings: TransportSettings(bind: configuration.bind), keyring: starting.keyring, logger: logger)
        var instance = Instance(
            name: name, address: transport.advertisedAddress, identity: try dataDirectory.loadOrCreateIdentity(),
            incarnation: Incarnation.first(life: try dataDirectory.nextLife()), configuration: .local,
            rng: DeterministicRNG(seed: SecureRandom.uint64()), election: try dataDirectory.loadElection())
        if let record = starting.record { instance.restoreKeyring(record) }
        let runtime = AgentRuntime(
            instance: instance, sink: transport, presetName: "local", dataDirectory: dataDirectory, logger: logger,
            keyring: transport, keyringFile: configuration.keyringFilePath)
        let controlPath = "/tmp/vigil-keys-test-\(getpid())-\(name).sock"
        let control = ControlServer(path: controlPath, control: runtime, logger: logger)
        let remembered = dataDirectory.loadSnapshot(logger: logger).filter { $0.status.isLive }.map(\.address)
        let service = AgentService(
            runtime: runtime, transport: transport, control: control, seeds: join + remembered,
            leaveGrace: .milliseconds(300), dataDirectory: dataDirectory, snapshotInterval: .milliseconds(200),
            logger: logger)
        return Node(
            name: name, runtime: runtime, transport: transport, group: ServiceGroup(services: [service], logger: logger),
            control: ControlClient(path: controlPath, timeout: .seconds(20)), starting: starting,
            keyringFile: configuration.keyringFilePath)
    }

    static func statuses(_ node: Node) async -> [String: String] {
        Dictionary(uniqueKeysWithValues: await node.runtime.members().map { ($0.name, $0.status) })
    }

    /// Whether every live member, as `node` sees them, reports `operation` done, and
    /// they are exactly `members` (what `vigil keys install/use/remove` waits for).
    static func confirmed(
        _ operation: KeyOperation, _ key: ClusterKey, at node: Node, members: [String]
    ) async -> Bool {
        let view = await node.runtime.keys()
        return view.members == members
            && view.confirmation(of: operation, keyID: ClusterKey.formatID(key.id)).pending.isEmpty
    }

    @Test func rotationWithAnAgentDownThatRejoinsOnTheOldKeyAndCatchesUp() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-keys-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let old = ClusterKey.generate()
        let new = ClusterKey.generate()
        let a = try await Self.makeNode("a", encrypt: old, join: [], directory: directory)
        let seed = a.transport.localAddress
        let b = try await Self.makeNode("b", encrypt: old, join: [seed], directory: directory)
        let c = try await Self.makeNode("c", encrypt: old, join: [seed], directory: directory)
        let d = try await Self.makeNode("d", encrypt: old, join: [seed], directory: directory)
        let all = ["a", "b", "c", "d"]

        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for node in [a, b, c, d] {
                tasks.addTask { try await node.group.run() }
            }
            let joined = await AgentLoopbackTests.eventually(30) {
                for node in [a, b, c, d] {
                    let seen = await Self.statuses(node)
                    if seen.count != 4 || seen.values.contains(where: { $0 != "alive" }) { return false }
                }
                return await Self.confirmed(.use, old, at: a, members: all)
            }
            if !joined {
                // Say what each agent saw, so a failure can be read without rerunning.
                for node in [a, b, c, d] {
                    print("\(node.name) sees \(await Self.statuses(node)) and \(await node.runtime.keys())")
                }
            }
            try #require(joined, "four agents did not join and report their key")

            // d stops abruptly: sockets closed first, so no leave gets out. Its data
            // directory stays.
            await d.transport.close()
            await d.group.triggerGracefulShutdown()
            let dFailed = await AgentLoopbackTests.eventually(30) {
                for node in [a, b, c] {
                    if await Self.statuses(node)["d"] != "failed" { return false }
                }
                return true
            }
            try #require(dFailed, "the stopped agent was not marked failed")
            let live = ["a", "b", "c"]

            // install NEW (issued on a), then use NEW (issued on b).
            let installed = try await a.control.changeKeys(.install, key: new.base64)
            #expect(installed.changed)
            // Waited for where the next command is issued, as the CLI does (it asks the
            // agent it talks to): b refuses `use` until it has every member's report.
            #expect(await AgentLoopbackTests.eventually(30) { await Self.confirmed(.install, new, at: b, members: live) })
            let used = try await b.control.changeKeys(.use, key: new.base64)
            #expect(used.changed)
            #expect(used.version == installed.version.map { $0 + 1 }, "versions grow across issuers")
            #expect(await AgentLoopbackTests.eventually(30) { await Self.confirmed(.use, new, at: a, members: live) })
            for node in [a, b, c] {
                #expect(node.transport.keyring.primary == new, "\(node.name) seals with the new key")
                #expect(node.transport.keyring.keys.contains(old), "\(node.name) still opens the old key")
            }

            // d comes back from its data directory, with the same stale --encrypt: it
            // never adopted anything, so it holds only the old key.
            let restarted = try await Self.makeNode("d", encrypt: old, join: [seed], directory: directory)
            #expect(restarted.starting.keyring == Keyring(primary: old))
            tasks.addTask { try await restarted.group.run() }
            let caughtUp = await AgentLoopbackTests.eventually(30) {
                guard restarted.transport.keyring.primary == new else { return false }
                for node in [a, b, c] {
                    if await Self.statuses(node)["d"] != "alive" { return false }
                }
                return await Self.confirmed(.use, new, at: restarted, members: all)
            }
            try #require(caughtUp, "the restarted agent did not rejoin and adopt the new key")

            // remove OLD (issued on the returning agent itself).
            let removed = try await restarted.control.changeKeys(.remove, key: old.base64)
            #expect(removed.changed)
            #expect(await AgentLoopbackTests.eventually(30) { await Self.confirmed(.remove, old, at: b, members: all) })

            // A loaded machine may get a member briefly suspected; what counts is that
            // the four settle alive on the new key alone.
            let everyone = ["a": "alive", "b": "alive", "c": "alive", "d": "alive"]
            _ = await AgentLoopbackTests.eventually(30) {
                for node in [a, b, c, restarted] where await Self.statuses(node) != everyone { return false }
                return true
            }
            for node in [a, b, c, restarted] {
                #expect(node.transport.keyring == Keyring(primary: new), "\(node.name) holds only the new key")
                let seen = await Self.statuses(node)
                #expect(seen == everyone, "\(node.name) sees \(seen)")
                // What a restart of it would start with: the adopted keys, not --encrypt.
                let persisted = try #require(
                    try AgentConfiguration(name: node.name, encryptKey: old.base64, keyringFile: node.keyringFile)
                        .loadStartingKeyring())
                #expect(persisted.keyring == Keyring(primary: new))
                #expect(persisted.ignoredEncryptKeyID == old.id)
                #expect(persisted.record?.version == removed.version)
                let mode = try FileManager.default.attributesOfItem(atPath: node.keyringFile)[.posixPermissions] as? Int
                #expect(mode == 0o600)
            }

            for node in [a, b, c, restarted] {
                await node.group.triggerGracefulShutdown()
            }
            try await tasks.waitForAll()
        }

        // A restart of any of them, with the stale --encrypt, comes back with the new
        // key and the record it adopted, so the next change is numbered above it.
        let again = try await Self.makeNode("b", encrypt: old, join: [], directory: directory)
        #expect(again.transport.keyring == Keyring(primary: new))
        let view = await again.runtime.keys()
        #expect(view.keyring?.version == 3)
        #expect(view.keyring?.keys == [ClusterKey.formatID(new.id)])
        await again.transport.close()
    }
}

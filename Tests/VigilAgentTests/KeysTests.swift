import Foundation
import Logging
import Synchronization
import Testing
import VigilCore
import VigilCrypto

@testable import VigilAgent

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Fixtures

private func key(_ byte: UInt8) -> ClusterKey {
    ClusterKey(bytes: [UInt8](repeating: byte, count: ClusterKey.byteCount))!
}

private let old = key(0x01)
private let new = key(0x02)

private func report(_ member: String, primary: ClusterKey, installed: [ClusterKey]) -> KeyReport {
    KeyReport(member: member, sequence: 1, primary: primary.id, installed: installed.map(\.id))
}

/// The transport's keyring, without a transport.
final class KeyringBox: KeyringHolder {
    private let box: Mutex<Keyring>

    init(_ keyring: Keyring) {
        self.box = Mutex(keyring)
    }

    var keyring: Keyring {
        self.box.withLock { $0 }
    }

    func replaceKeyring(_ keyring: Keyring) {
        self.box.withLock { $0 = keyring }
    }
}

/// Drops every packet: a node alone, for the control API's sake.
struct NullSink: PacketSink {
    func send(_ packet: Packet, to address: Address) {}
    func stream(_ packet: Packet, to address: Address) async {}
}

/// Keeps every log line with its metadata, to check that no key material is logged.
final class CapturedLog: Sendable {
    private let lines = Mutex<[String]>([])

    var text: String {
        self.lines.withLock { $0.joined(separator: "\n") }
    }

    func append(_ line: String) {
        self.lines.withLock { $0.append(line) }
    }

    var logger: Logger {
        Logger(label: "vigil.test.keys") { _ in CapturingHandler(log: self) }
    }

    struct CapturingHandler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { self.metadata[key] }
            set { self.metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let all = self.metadata.merging(event.metadata ?? [:]) { $1 }
            self.log.append(
                "\(event.level) \(event.message) \(all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })")
        }
    }
}

// MARK: - Planning a change, without sockets

@Suite struct KeyChangeTests {
    @Test func installAddsTheKeyAndIsANoOpWhenRepeated() throws {
        let current = Keyring(primary: old)
        let next = try #require(try KeyChange.plan(.install, key: new, current: current, reports: []))
        #expect(next.primary == old)
        #expect(next.keys == [old, new])
        #expect(try KeyChange.plan(.install, key: new, current: next, reports: []) == nil)
    }

    @Test func useOfAKeyNotInstalledSaysToInstallItFirst() {
        let error = #expect(throws: KeyChangeError.self) {
            try KeyChange.plan(.use, key: new, current: Keyring(primary: old), reports: [])
        }
        #expect(
            error?.description
                == "key \(ClusterKey.formatID(new.id)) is not installed; run `vigil keys install` first")
        #expect(error?.isMalformed == false)
    }

    @Test func useIsRefusedWhileALiveMemberLacksTheKey() {
        let current = Keyring(primary: old, others: [new])
        let reports = [
            report("a", primary: old, installed: [old, new]), report("b", primary: old, installed: [old]),
        ]
        let error = #expect(throws: KeyChangeError.self) {
            try KeyChange.plan(.use, key: new, current: current, reports: reports)
        }
        #expect(error?.description.contains("not yet installed on b;") == true)
    }

    @Test func removingThePrimaryIsRefusedWithTheRemedy() {
        let error = #expect(throws: KeyChangeError.self) {
            try KeyChange.plan(.remove, key: old, current: Keyring(primary: old, others: [new]), reports: [])
        }
        #expect(error?.description.contains("is the primary key and cannot be removed") == true)
        #expect(error?.description.contains("`vigil keys use`") == true)
    }

    @Test func removingAKeyAMemberStillSealsWithIsRefused() throws {
        var current = Keyring(primary: old, others: [new])
        try current.use(new)
        let reports = [report("a", primary: new, installed: [old, new]), report("b", primary: old, installed: [old, new])]
        let error = #expect(throws: KeyChangeError.self) {
            try KeyChange.plan(.remove, key: old, current: current, reports: reports)
        }
        #expect(error?.description.contains("still the primary key on b;") == true)
        let done = try KeyChange.plan(.remove, key: old, current: current, reports: [reports[0]])
        #expect(done?.keys == [new])
    }

    @Test func aNinthKeyIsRefused() throws {
        var current = Keyring(primary: key(100))
        for byte in 101..<(100 + UInt8(KeyringPayload.maxKeys)) { current.install(key(byte)) }
        #expect(current.keys.count == KeyringPayload.maxKeys)
        let error = #expect(throws: KeyChangeError.self) {
            try KeyChange.plan(.install, key: key(200), current: current, reports: [])
        }
        #expect(error?.description.contains("remove one with `vigil keys remove`") == true)
    }

    @Test func malformedBase64IsOneLineAndDoesNotEchoTheText() {
        let text = "c2VjcmV0LXNlY3JldC1zZWNyZXQ-"
        let error = #expect(throws: KeyChangeError.self) { try KeyChange.parse(text) }
        #expect(error?.isMalformed == true)
        #expect(error?.description.hasPrefix("malformed key: key is not valid base64") == true)
        #expect(error?.description.contains("\n") == false)
        #expect(error?.description.contains(text) == false)
    }

    @Test func payloadRoundTripsKeepingOrderAndPrimary() throws {
        var keyring = Keyring(primary: old, others: [new, key(3)])
        try keyring.use(new)
        let payload = KeyringPayload.encode(keyring)
        #expect(payload.count == 3 + 3 * 32)
        #expect(KeyringPayload.decode(payload) == keyring)
        #expect(payload.count <= WireCodec.maxKeyringPayloadBytes)
        #expect(KeyringPayload.decode(Array(payload.dropLast())) == nil)
        #expect(KeyringPayload.decode([2] + payload.dropFirst()) == nil, "another format is not guessed at")
        var badIndex = payload
        badIndex[1] = 3
        #expect(KeyringPayload.decode(badIndex) == nil)
        #expect(KeyringPayload.decode([]) == nil)
    }

    @Test func keysViewCountsWhereEachKeyIsAndWhoConfirmed() {
        let keyring = Keyring(primary: old, others: [new])
        let reports = [
            report("a", primary: old, installed: [old, new]), report("b", primary: old, installed: [old]),
            report("gone", primary: old, installed: [old]),
        ]
        let view = KeysView(live: ["a", "b", "c"], reports: reports, keyring: keyring, record: nil)
        #expect(view.notReporting == ["c"])
        #expect(view.keys.map(\.id) == [old, new].map { ClusterKey.formatID($0.id) })
        #expect(view.keys.map(\.cluster) == ["primary", "installed"])
        #expect(view.keys[1].installedOn == ["a"])
        let (confirmed, pending) = view.confirmation(of: .install, keyID: ClusterKey.formatID(new.id))
        #expect(confirmed == ["a"])
        #expect(pending == ["b", "c"])
        let oldID = ClusterKey.formatID(old.id)
        let newID = ClusterKey.formatID(new.id)
        let expected = [
            "KEY       CLUSTER    PRIMARY ON    INSTALLED ON",
            "\(oldID)  primary    2 of 3 (a,b)  2 of 3 (a,b)",
            "\(newID)  installed  0 of 3        1 of 3 (a)",
            "2 of 3 members reported",
            "not reported yet: c",
        ]
        #expect(ControlText.keys(view) == expected.joined(separator: "\n") + "\n")
    }

    @Test func changeMessagesNameTheKeyAndTheCount() {
        #expect(ControlText.keyChange(.install, key: "3f2a9c01", confirmed: 5, total: 5) == "installed key 3f2a9c01 on 5 of 5 members\n")
        #expect(ControlText.keyChange(.use, key: "3f2a9c01", confirmed: 1, total: 1) == "key 3f2a9c01 is primary on 1 of 1 member\n")
        let line = ControlText.keyChangeUnconfirmed(
            .remove, key: "0a1b2c3d", confirmed: 4, total: 5, pending: ["compute-05"], waited: "10s")
        #expect(line.hasPrefix("removed key 0a1b2c3d from 4 of 5 members; not confirmed within 10s by compute-05 "))
    }
}

// MARK: - Keyring file

@Suite struct AdoptedKeyringFileTests {
    @Test func theAdoptedKeyringAndItsRecordPersistInTheDataDirectoryAndWinOverEncrypt() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let configuration = AgentConfiguration(name: "n", dataDirectory: directory.path, encryptKey: old.base64)
        #expect(configuration.keyringFilePath == directory.path + "/keyring.json")
        // No file yet: the `encrypt` key starts the keyring.
        let first = try #require(try configuration.loadStartingKeyring())
        #expect(first.keyring == Keyring(primary: old))
        #expect(first.file == nil && first.record == nil)

        var adopted = Keyring(primary: old, others: [new])
        try adopted.use(new)
        try adopted.remove(old)
        let record = KeyringRecord(
            version: 4, issuer: "a", payload: KeyringPayload.encode(adopted),
            signature: SigningKey.generate().sign([1]))
        try AgentConfiguration.saveKeyring(adopted, record: record, to: configuration.keyringFilePath)
        let mode = try #require(
            FileManager.default.attributesOfItem(atPath: configuration.keyringFilePath)[.posixPermissions] as? Int)
        #expect(mode == 0o600)

        // The restart with the same stale `--encrypt`: the adopted keys win, the old
        // key is not reinstalled, and the record comes back for the engine.
        let restarted = try #require(try configuration.loadStartingKeyring())
        #expect(restarted.keyring == adopted)
        #expect(restarted.record == record)
        #expect(restarted.ignoredEncryptKeyID == old.id)
        #expect(restarted.file == configuration.keyringFilePath)
    }
}

// MARK: - Control API with a real runtime

/// A runtime alone (no peers) behind a real control server on a Unix socket.
func withKeysAgent<T>(
    keyring: Keyring, log: CapturedLog = CapturedLog(),
    _ body: (ControlClient, KeyringBox, String) async throws -> T
) async throws -> T {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let instance = Instance(
        name: "solo", address: Address(host: "127.0.0.1", port: 1), identity: SigningKey.generate(),
        incarnation: Incarnation.first(life: 1), configuration: .local, rng: DeterministicRNG(seed: 1))
    let box = KeyringBox(keyring)
    let file = directory.path + "/keyring.json"
    let runtime = AgentRuntime(
        instance: instance, sink: NullSink(), presetName: "local", logger: log.logger, keyring: box, keyringFile: file)
    await runtime.start(joining: [])
    let path = directory.path + "/ctl.sock"
    let server = ControlServer(path: path, control: runtime, logger: log.logger)
    let (listening, ready) = AsyncStream<Void>.makeStream()
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
            defer { ready.finish() }
            try await server.serve(whenListening: { ready.yield() })
        }
        var iterator = listening.makeAsyncIterator()
        _ = await iterator.next()
        let result = try await body(ControlClient(path: path, timeout: .seconds(20)), box, file)
        group.cancelAll()
        try await group.waitForAll()
        return result
    }
}

@Suite(.timeLimit(.minutes(1)))
struct KeysControlTests {
    @Test func installAppliesPersistsAndReportsTheKeyWithoutLoggingIt() async throws {
        let log = CapturedLog()
        try await withKeysAgent(keyring: Keyring(primary: old), log: log) { client, box, file in
            let answer = try await client.changeKeys(.install, key: new.base64)
            #expect(answer == KeyChangeView(operation: .install, key: ClusterKey.formatID(new.id), changed: true, version: 1))
            #expect(box.keyring.keys == [old, new])
            #expect(box.keyring.primary == old)
            let view = try await client.getKeys()
            #expect(view.members == ["solo"])
            #expect(view.confirmation(of: .install, keyID: answer.key).pending.isEmpty)
            #expect(view.keyring?.version == 1)
            let saved = try #require(
                try AgentConfiguration(name: "solo", keyringFile: file).loadStartingKeyring())
            #expect(saved.keyring == box.keyring)
            #expect(saved.record?.version == 1)
            // Repeating it changes nothing and is not an error.
            let again = try await client.changeKeys(.install, key: new.base64)
            #expect(again.changed == false)
        }
        #expect(log.text.contains("keyring.adopted"))
        #expect(!log.text.contains(new.base64))
        #expect(!log.text.contains(old.base64))
    }

    @Test func useOfAKeyNotInstalledIs409WithTheRemedy() async throws {
        try await withKeysAgent(keyring: Keyring(primary: old)) { client, box, _ in
            let error = try await #require(throws: ControlError.self) {
                try await client.changeKeys(.use, key: new.base64)
            }
            #expect(error.status == 409)
            #expect(
                error.description
                    == "agent answered 409: key \(ClusterKey.formatID(new.id)) is not installed; run `vigil keys install` first")
            #expect(box.keyring == Keyring(primary: old))
        }
    }

    @Test func removingThePrimaryIs409WithTheRemedy() async throws {
        try await withKeysAgent(keyring: Keyring(primary: old, others: [new])) { client, box, _ in
            let error = try await #require(throws: ControlError.self) {
                try await client.changeKeys(.remove, key: old.base64)
            }
            #expect(error.status == 409)
            #expect(error.description.contains("is the primary key and cannot be removed; make another installed key primary with `vigil keys use` first"))
            #expect(box.keyring.keys == [old, new])
        }
    }

    @Test func malformedKeysAndBodiesAre400InOneLine() async throws {
        try await withKeysAgent(keyring: Keyring(primary: old)) { client, _, _ in
            let bad = try await #require(throws: ControlError.self) {
                try await client.changeKeys(.install, key: "not base64!")
            }
            #expect(bad.status == 400)
            #expect(bad.description.hasPrefix("agent answered 400: malformed key: key is not valid base64"))
            #expect(!bad.description.contains("\n"))
            let short = try await #require(throws: ControlError.self) {
                try await client.changeKeys(.install, key: "AAAA")
            }
            #expect(short.description.contains("key must be 32 bytes of base64, got 3 bytes"))

            let (status, body) = try await client.exchange(.POST, "/v1/keys/use", body: .init(string: "{\"nope\":1}"))
            #expect(status == .badRequest)
            #expect(String(buffer: body).contains(#"request body must be JSON like {\"key\":\"BASE64\"}"#))
            let (getStatus, _) = try await client.exchange(.GET, "/v1/keys/install")
            #expect(getStatus == .methodNotAllowed)
        }
    }

    @Test func aFullRotationOnOneNodeEndsWithOnlyTheNewKey() async throws {
        try await withKeysAgent(keyring: Keyring(primary: old)) { client, box, _ in
            _ = try await client.changeKeys(.install, key: new.base64)
            _ = try await client.changeKeys(.use, key: new.base64)
            let removed = try await client.changeKeys(.remove, key: old.base64)
            #expect(removed.version == 3)
            #expect(box.keyring == Keyring(primary: new))
            let view = try await client.getKeys()
            #expect(view.keys.map(\.id) == [ClusterKey.formatID(new.id)])
            #expect(view.confirmation(of: .remove, keyID: ClusterKey.formatID(old.id)).pending.isEmpty)
        }
    }
}

// MARK: - Answering a peer with the key it uses

@Suite struct PeerKeyTests {
    @Test func aPeerStillOnTheOldKeyIsAnsweredWithItWhileItIsInstalled() throws {
        let clock: @Sendable () -> UInt64 = { 1_700_000_000_000 }
        var rotated = Keyring(primary: old, others: [new])
        try rotated.use(new)
        let cluster = EnvelopeSealer(keyring: rotated, clock: clock)
        let returning = EnvelopeSealer(keyring: Keyring(primary: old), clock: clock)
        let returningAddress = Address(host: "10.0.0.4", port: 7946)
        let clusterAddress = Address(host: "10.0.0.1", port: 7946)
        let hello = Packet(sender: "d", message: .ping(seq: 1, target: "a"))
        let answer = Packet(sender: "a", message: .ack(seq: 1))

        // Before it has heard the peer, the cluster node seals with its primary, which
        // the returning node cannot open.
        let blind = cluster.seal(answer, advertised: clusterAddress, to: returningAddress)
        #expect(Keyring.keyID(ofSealed: blind) == new.id)
        #expect(throws: EnvelopeError.self) { try returning.open(blind, maxBytes: 65_536) }

        // The returning node speaks (old key); the answer comes back under the old key.
        let sealedHello = returning.seal(hello, advertised: returningAddress)
        #expect(try cluster.open(sealedHello, maxBytes: 65_536).packet == hello)
        #expect(cluster.lastKeyID(of: returningAddress) == old.id)
        let reply = cluster.seal(answer, advertised: clusterAddress, to: returningAddress)
        #expect(Keyring.keyID(ofSealed: reply) == old.id)
        #expect(try returning.open(reply, maxBytes: 65_536).packet == answer)
        // Everyone else still gets the primary.
        let other = cluster.seal(answer, advertised: clusterAddress, to: Address(host: "10.0.0.2", port: 7946))
        #expect(Keyring.keyID(ofSealed: other) == new.id)

        // Once the old key is removed here, the primary is used whatever the peer sent.
        _ = try cluster.updateKeyring { try $0.remove(old) }
        let afterRemoval = cluster.seal(answer, advertised: clusterAddress, to: returningAddress)
        #expect(Keyring.keyID(ofSealed: afterRemoval) == new.id)
    }

    @Test func aPeerThatMovedToTheNewKeyIsAnsweredWithIt() throws {
        let clock: @Sendable () -> UInt64 = { 1_700_000_000_000 }
        let both = Keyring(primary: old, others: [new])
        let node = EnvelopeSealer(keyring: both, clock: clock)
        var moved = both
        try moved.use(new)
        let peer = EnvelopeSealer(keyring: moved, clock: clock)
        let peerAddress = Address(host: "10.0.0.9", port: 7946)
        _ = try node.open(
            peer.seal(Packet(sender: "p", message: .gossip), advertised: peerAddress), maxBytes: 65_536)
        let reply = node.seal(Packet(sender: "n", message: .gossip), advertised: Address(host: "10.0.0.8", port: 1), to: peerAddress)
        #expect(Keyring.keyID(ofSealed: reply) == new.id, "answered in the peer's newer key, not this node's primary")
    }

    @Test func peerKeyMemoryIsBounded() {
        var memory = PeerKeyMemory(capacity: 3)
        for port in 0..<10 { memory.remember(UInt32(port), for: Address(host: "h", port: UInt16(port))) }
        #expect(memory.count == 3)
        #expect(memory.keyID(for: Address(host: "h", port: 9)) == 9)
    }
}

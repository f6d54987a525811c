import Testing
import VigilCrypto

@testable import VigilCore

/// The cluster keyring record and key reports: issued on one node, checked, merged and
/// spread to all, including a node that was down when the record was issued.
@Suite("Keyring records and key reports")
struct KeyringGossipTests {
    let names = (1...5).map { "node-\($0)" }

    static func record(version: UInt64, issuer: String, payload: [UInt8] = [1, 2, 3], signer: String? = nil)
        -> KeyringRecord
    {
        let bytes = KeyringRecord.signedBytes(version: version, issuer: issuer, payload: payload)
        return KeyringRecord(
            version: version, issuer: issuer, payload: payload, signature: Fixture.key(signer ?? issuer).sign(bytes))
    }

    /// Delivers `update` to `instance` in an ack from `sender`.
    static func deliver(_ update: Update, to instance: inout Instance, from sender: String = "node-2") -> [Directive] {
        instance.receive(
            Packet(sender: sender, message: .ack(seq: 0), gossip: [update]), from: Fixture.address(sender), now: .zero)
    }

    static func keyringEvents(_ directives: [Directive]) -> [KeyringRecord] {
        directives.events.compactMap { if case .keyringChanged(let record) = $0 { record } else { nil } }
    }

    static func started(_ name: String = "node-1") -> Instance {
        var instance = Fixture.instance(name)
        _ = instance.start(joining: [], now: .zero)
        _ = instance.learn(["node-2", "node-3"])
        return instance
    }

    // MARK: - Issuing and spreading

    @Test func aRecordIssuedOnOneNodeReachesEveryNode() throws {
        var network = MiniNetwork(names: self.names)
        network.run(until: .zero + .seconds(5))
        let payload: [UInt8] = Array("primary+installed".utf8)
        let out = try network.nodes["node-3"]!.issueKeyring(payload: payload, now: network.now)
        let issued = try #require(Self.keyringEvents(out).first, "the issuer publishes its own record")
        #expect(issued.version == 1)
        #expect(issued.issuer == "node-3")
        #expect(Fixture.key("node-3").publicKey.isValidSignature(issued.signature, for: issued.signedBytes))
        network.carry(out, from: "node-3")
        network.run(until: network.now + .seconds(3))
        for name in self.names {
            #expect(network.nodes[name]!.keyringRecord == issued, "\(name) holds the record")
            let adopted = network.events.filter {
                if $0.node == name, case .keyringChanged(let record) = $0.event { record == issued } else { false }
            }
            #expect(adopted.count == 1, "\(name) published the record once")
        }
    }

    @Test func theNextRecordIsOneAboveTheHighestSeen() throws {
        var instance = Self.started()
        _ = Self.deliver(.keyring(Self.record(version: 41, issuer: "node-2")), to: &instance)
        let out = try instance.issueKeyring(payload: [9], now: .zero)
        #expect(Self.keyringEvents(out).map(\.version) == [42])
        #expect(instance.keyringRecord?.issuer == "node-1")
    }

    @Test func anOversizedPayloadIsNotIssued() {
        var instance = Self.started()
        #expect(throws: WireError.payloadTooLong) {
            try instance.issueKeyring(
                payload: [UInt8](repeating: 0, count: WireCodec.maxKeyringPayloadBytes + 1), now: .zero)
        }
        #expect(instance.keyringRecord == nil)
    }

    // MARK: - Refusing

    @Test func aRecordSignedByAnotherMemberIsRefusedAndCounted() {
        var instance = Self.started()
        let forged = Self.record(version: 5, issuer: "node-2", signer: "node-3")
        let out = Self.deliver(.keyring(forged), to: &instance)
        #expect(out.events.contains(.dropped(reason: .badSignature)))
        #expect(Self.keyringEvents(out).isEmpty)
        #expect(instance.keyringRecord == nil)
    }

    @Test func anUnsignedRecordIsRefused() {
        var instance = Self.started()
        let unsigned = KeyringRecord(
            version: 5, issuer: "node-2", payload: [1], signature: Signature(bytes: [UInt8](repeating: 0, count: 64))!)
        let out = Self.deliver(.keyring(unsigned), to: &instance)
        #expect(out.events.contains(.dropped(reason: .badSignature)))
        #expect(instance.keyringRecord == nil)
    }

    @Test func aRecordWhosePayloadWasChangedAfterSigningIsRefused() {
        var instance = Self.started()
        var altered = Self.record(version: 5, issuer: "node-2", payload: [1, 2, 3])
        altered.payload = [1, 2, 4]
        let out = Self.deliver(.keyring(altered), to: &instance)
        #expect(out.events.contains(.dropped(reason: .badSignature)))
        #expect(instance.keyringRecord == nil)
    }

    @Test func aRecordFromAnUnknownIssuerIsRefusedAndCounted() {
        var instance = Self.started()
        let stranger = Self.record(version: 5, issuer: "ghost")
        let out = Self.deliver(.keyring(stranger), to: &instance)
        #expect(out.events.contains(.dropped(reason: .unknownSigner)))
        #expect(instance.keyringRecord == nil)
    }

    // MARK: - Merge order

    @Test func anOlderRecordNeverReplacesANewerOne() {
        var instance = Self.started()
        let newer = Self.record(version: 7, issuer: "node-2", payload: [7])
        #expect(Self.keyringEvents(Self.deliver(.keyring(newer), to: &instance)) == [newer])
        let older = Self.record(version: 6, issuer: "node-3", payload: [6])
        let out = Self.deliver(.keyring(older), to: &instance)
        #expect(Self.keyringEvents(out).isEmpty)
        #expect(instance.keyringRecord == newer)
        // Not even through a synced state.
        let sync = Sync(digest: 0, replyWanted: false, state: MembershipState(members: [], keyring: older))
        _ = instance.receive(
            Packet(sender: "node-3", message: .sync(sync)), from: Fixture.address("node-3"), now: .zero)
        #expect(instance.keyringRecord == newer)
        // The same record again is no news either.
        #expect(Self.keyringEvents(Self.deliver(.keyring(newer), to: &instance)).isEmpty)
    }

    @Test func equalVersionsAreOrderedByIssuerName() {
        var instance = Self.started()
        let fromTwo = Self.record(version: 3, issuer: "node-2", payload: [2])
        let fromThree = Self.record(version: 3, issuer: "node-3", payload: [3])
        _ = Self.deliver(.keyring(fromThree), to: &instance)
        #expect(Self.keyringEvents(Self.deliver(.keyring(fromTwo), to: &instance)).isEmpty)
        #expect(instance.keyringRecord == fromThree)

        var other = Self.started()
        _ = Self.deliver(.keyring(fromTwo), to: &other)
        #expect(Self.keyringEvents(Self.deliver(.keyring(fromThree), to: &other)) == [fromThree])
        #expect(other.keyringRecord == fromThree, "both orders of arrival end with the same record")
    }

    @Test func aRestoredRecordKeepsVersionsGrowingAcrossARestart() throws {
        var instance = Fixture.instance("node-1")
        instance.restoreKeyring(Self.record(version: 9, issuer: "node-2"))
        _ = instance.start(joining: [], now: .zero)
        #expect(Self.keyringEvents(try instance.issueKeyring(payload: [1], now: .zero)).map(\.version) == [10])
    }

    // MARK: - Joining and sync

    @Test func aJoiningNodeGetsTheRecordAndReportsInTheJoinSync() throws {
        var seed = Self.started("node-1")
        let record = try #require(Self.keyringEvents(try seed.issueKeyring(payload: [4, 2], now: .zero)).first)
        _ = seed.reportKeys(primary: 0xAA, installed: [0xAA, 0xBB], now: .zero)

        var joiner = Fixture.instance("node-9", seed: 9)
        let join = joiner.start(joining: [Fixture.address("node-1")], now: .zero)
        let (hello, _) = try #require(join.streamed.first)
        let answer = seed.receive(hello, from: Fixture.address("node-9"), now: .zero)
        let (reply, _) = try #require(answer.streamed.first)
        let out = joiner.receive(reply, from: Fixture.address("node-1"), now: .zero)
        #expect(Self.keyringEvents(out) == [record])
        #expect(joiner.keyringRecord == record)
        #expect(
            joiner.liveKeyReports.map(\.member) == ["node-1"],
            "node-1's report came with its state; node-2 and node-3 have none yet")
    }

    @Test func aNodeThatWasDownWhenTheRecordWasIssuedGetsItWhenItRejoins() throws {
        var network = MiniNetwork(names: self.names)
        network.run(until: .zero + .seconds(5))
        network.down.insert("node-4")
        let out = try network.nodes["node-1"]!.issueKeyring(payload: [1, 1], now: network.now)
        let record = try #require(Self.keyringEvents(out).first)
        network.carry(out, from: "node-1")
        // Long enough for the gossip to die out and node-4 to be certified failed.
        network.run(until: network.now + .seconds(20))
        #expect(network.status(of: "node-4", at: "node-1") == .failed)
        #expect(network.nodes["node-4"]!.keyringRecord == nil)

        // node-4 restarts as a new life and rejoins through node-2.
        network.down.remove("node-4")
        var restarted = Fixture.instance("node-4", seed: 44, incarnation: Incarnation.first(life: 2))
        let join = restarted.start(joining: [Fixture.address("node-2")], now: network.now)
        network.nodes["node-4"] = restarted
        network.carry(join, from: "node-4")
        network.run(until: network.now + .seconds(5))
        #expect(network.nodes["node-4"]!.keyringRecord == record)
        #expect(network.status(of: "node-4", at: "node-1") == .alive)
    }

    @Test func theRecordChangesTheStateDigestSoAPeriodicSyncRepairsIt() throws {
        var instance = Self.started()
        let before = instance.stateDigest
        _ = try instance.issueKeyring(payload: [1], now: .zero)
        #expect(instance.stateDigest != before)
    }

    // MARK: - Key reports

    @Test func keyReportsSpreadAndTheNewestOfEachMemberWins() {
        var network = MiniNetwork(names: self.names)
        network.run(until: .zero + .seconds(5))
        for (index, name) in self.names.enumerated() {
            let out = network.nodes[name]!.reportKeys(
                primary: UInt32(index), installed: [UInt32(index), 100], now: network.now)
            network.carry(out, from: name)
        }
        network.run(until: network.now + .seconds(3))
        for name in self.names {
            let reports = network.nodes[name]!.liveKeyReports
            #expect(reports.map(\.member) == self.names, "\(name) has every member's report")
            #expect(reports.map(\.primary) == [0, 1, 2, 3, 4])
        }
        // node-2 changes its keys: the new report replaces the old one everywhere.
        let out = network.nodes["node-2"]!.reportKeys(primary: 100, installed: [100], now: network.now)
        network.carry(out, from: "node-2")
        network.run(until: network.now + .seconds(3))
        for name in self.names {
            let report = network.nodes[name]!.liveKeyReports.first { $0.member == "node-2" }
            #expect(report?.primary == 100 && report?.installed == [100], "\(name) sees node-2's new keys")
        }
    }

    @Test func anOlderReportIsIgnoredAndAFailedMembersReportIsNotListed() {
        var instance = Self.started()
        let newer = KeyReport(member: "node-2", sequence: 10, primary: 2, installed: [2])
        let older = KeyReport(member: "node-2", sequence: 9, primary: 1, installed: [1])
        _ = Self.deliver(.keyReport(newer), to: &instance)
        _ = Self.deliver(.keyReport(older), to: &instance)
        #expect(instance.liveKeyReports == [newer])
        // A report about this node itself, or about an unknown member, is not taken.
        _ = Self.deliver(.keyReport(KeyReport(member: "node-1", sequence: .max, primary: 9, installed: [9])), to: &instance)
        _ = Self.deliver(.keyReport(KeyReport(member: "ghost", sequence: 1, primary: 9, installed: [9])), to: &instance)
        #expect(instance.liveKeyReports == [newer])

        let departure = Departure(
            name: "node-2", incarnation: 1,
            signature: Fixture.key("node-2").sign(Departure.signedBytes(name: "node-2", incarnation: 1)))
        _ = Self.deliver(.left(departure), to: &instance, from: "node-3")
        #expect(instance.liveKeyReports.isEmpty, "a member that left is not waited for")
    }

    @Test func ownReportAlwaysHoldsThePrimaryAndAtMostSixteenKeys() {
        var instance = Self.started()
        _ = instance.reportKeys(primary: 7, installed: [1, 2, 2], now: .zero)
        #expect(instance.liveKeyReports.first?.installed == [7, 1, 2])
        _ = instance.reportKeys(primary: 99, installed: Array(0..<40), now: .zero)
        let report = instance.liveKeyReports.first
        #expect(report?.installed.count == WireCodec.maxReportedKeys)
        #expect(report?.installed.first == 99)
    }

    @Test func aRestartedMembersReportsReplaceThoseOfItsEarlierLife() {
        var first = Fixture.instance("node-2", incarnation: Incarnation.first(life: 1))
        _ = first.start(joining: [], now: .zero)
        for _ in 0..<5 { _ = first.reportKeys(primary: 1, installed: [1], now: .zero) }
        var second = Fixture.instance("node-2", incarnation: Incarnation.first(life: 2))
        _ = second.start(joining: [], now: .zero)
        _ = second.reportKeys(primary: 2, installed: [2], now: .zero)
        let old = first.liveKeyReports[0]
        let new = second.liveKeyReports[0]
        #expect(new.sequence > old.sequence)
    }
}

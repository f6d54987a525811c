import Testing
import VigilCrypto

@Suite struct KeyringTests {
    let message: [UInt8] = Array("ping seq=42 from=node-1 incarnation=3".utf8)

    @Test func sealedPacketOpensToThePlaintext() throws {
        let keyring = Keyring(primary: .generate())
        for plaintext in [[], [0], self.message, [UInt8](repeating: 0xab, count: 1400)] as [[UInt8]] {
            let sealed = keyring.seal(plaintext)
            #expect(sealed.count == plaintext.count + Keyring.overhead)
            #expect(try keyring.open(sealed) == plaintext)
        }
    }

    @Test func overheadIsVersionKeyIDNonceAndTag() {
        #expect(Keyring.overhead == 1 + 4 + 24 + 16)
    }

    @Test func sealedPacketStartsWithVersionAndKeyID() {
        let key = ClusterKey.generate()
        let sealed = Keyring(primary: key).seal(self.message)
        #expect(sealed[0] == Keyring.version)
        #expect(sealed[1..<5].reduce(UInt32(0)) { $0 << 8 | UInt32($1) } == key.id)
    }

    @Test func sealingTheSameMessageTwiceGivesDifferentPackets() {
        let keyring = Keyring(primary: .generate())
        #expect(keyring.seal(self.message) != keyring.seal(self.message))
    }

    /// Nonces come from a pool refilled 170 at a time: across several refills, on
    /// several threads at once, none may repeat and every packet must open.
    @Test func noncesNeverRepeatAcrossPoolRefillsAndThreads() async throws {
        let keyring = Keyring(primary: .generate())
        let message = self.message
        let batches = await withTaskGroup(of: [[UInt8]].self) { group in
            for _ in 0..<4 {
                group.addTask { (0..<500).map { _ in keyring.seal(message) } }
            }
            return await group.reduce(into: []) { $0.append(contentsOf: $1) }
        }
        let nonces = Set(batches.map { Array($0[5..<29]) })
        #expect(nonces.count == 2_000)
        #expect(!nonces.contains([UInt8](repeating: 0, count: 24)))
        for sealed in batches.prefix(200) {
            #expect(try keyring.open(sealed) == message)
        }
    }

    @Test func tamperingWithAnyByteIsRefused() throws {
        let keyring = Keyring(primary: .generate())
        let sealed = keyring.seal(self.message)
        for index in sealed.indices {
            for flip: UInt8 in [0x01, 0x80, 0xff] {
                var tampered = sealed
                tampered[index] ^= flip
                let expected: SealError =
                    switch index {
                    case 0: .unsupportedVersion
                    case 1..<5: .unknownKey(tampered[1..<5].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
                    default: .authenticationFailed
                    }
                #expect(throws: expected, "byte \(index) ^ \(flip)") { try keyring.open(tampered) }
            }
        }
    }

    @Test func appendingOrDroppingBytesIsRefused() {
        let keyring = Keyring(primary: .generate())
        let sealed = keyring.seal(self.message)
        #expect(throws: SealError.authenticationFailed) { try keyring.open(sealed + [0]) }
        #expect(throws: SealError.authenticationFailed) { try keyring.open(Array(sealed.dropLast())) }
    }

    @Test func packetSealedUnderAnotherKeyIsUnknownKey() {
        let ours = Keyring(primary: .generate())
        let theirKey = ClusterKey.generate()
        let sealed = Keyring(primary: theirKey).seal(self.message)
        #expect(throws: SealError.unknownKey(theirKey.id)) { try ours.open(sealed) }
    }

    @Test func everyLengthShorterThanOverheadIsTruncated() throws {
        let keyring = Keyring(primary: .generate())
        let sealed = keyring.seal([])
        #expect(sealed.count == Keyring.overhead)
        for length in 0..<Keyring.overhead {
            #expect(throws: SealError.truncated, "length \(length)") {
                try keyring.open(Array(sealed.prefix(length)))
            }
        }
        #expect(try keyring.open(sealed) == [])
    }

    @Test func rotationOpensOldPacketsUntilTheOldKeyIsRemoved() throws {
        let old = ClusterKey.generate()
        let new = ClusterKey.generate()
        var keyring = Keyring(primary: old)
        let sealedUnderOld = keyring.seal(self.message)

        keyring.install(new)
        #expect(keyring.primary == old)
        #expect(try keyring.open(sealedUnderOld) == self.message)

        try keyring.use(new)
        #expect(keyring.primary == new)
        #expect(keyring.keys == [old, new])
        #expect(try keyring.open(sealedUnderOld) == self.message)
        let sealedUnderNew = keyring.seal(self.message)
        #expect(sealedUnderNew[1..<5].elementsEqual(sealedUnderOld[1..<5]) == false)
        #expect(try keyring.open(sealedUnderNew) == self.message)

        #expect(try keyring.remove(old))
        #expect(keyring.keys == [new])
        #expect(throws: SealError.unknownKey(old.id)) { try keyring.open(sealedUnderOld) }
        #expect(try keyring.open(sealedUnderNew) == self.message)
    }

    @Test func nodeThatHasNotSwitchedYetOpensPacketsFromOneThatHas() throws {
        let old = ClusterKey.generate()
        let new = ClusterKey.generate()
        var switched = Keyring(primary: old, others: [new])
        try switched.use(new)
        let lagging = Keyring(primary: old, others: [new])
        #expect(try lagging.open(switched.seal(self.message)) == self.message)
        #expect(try switched.open(lagging.seal(self.message)) == self.message)
    }

    @Test func usingAKeyThatIsNotInstalledIsRefused() {
        var keyring = Keyring(primary: .generate())
        let stranger = ClusterKey.generate()
        #expect(throws: KeyringError.notInstalled(stranger.id)) { try keyring.use(stranger) }
        let message = KeyringError.notInstalled(stranger.id).description
        #expect(message.contains(ClusterKey.formatID(stranger.id)))
        #expect(message.contains("vigil keys install"))
    }

    @Test func removingThePrimaryIsRefused() {
        let primary = ClusterKey.generate()
        var keyring = Keyring(primary: primary, others: [.generate()])
        #expect(throws: KeyringError.cannotRemovePrimary(primary.id)) { try keyring.remove(primary) }
        #expect(keyring.keys.contains(primary))
        #expect(KeyringError.cannotRemovePrimary(primary.id).description.contains("vigil keys use"))
    }

    @Test func installingTwiceAndRemovingAnAbsentKeyChangeNothing() throws {
        let primary = ClusterKey.generate()
        let other = ClusterKey.generate()
        var keyring = Keyring(primary: primary, others: [other, other, primary])
        #expect(keyring.keys == [primary, other])
        #expect(keyring.install(other) == false)
        #expect(keyring.keys == [primary, other])
        #expect(try keyring.remove(ClusterKey.generate()) == false)
        #expect(try keyring.remove(other) == true)
        #expect(try keyring.remove(other) == false)
        #expect(keyring.keys == [primary])
    }

    @Test func keysSharingAnIDAreBothTried() throws {
        // Found with an independent BLAKE2b (Python hashlib) by birthday search over
        // keys that are 32-byte big-endian integers: 115967 and 122102 both have
        // id 894e9293.
        func key(_ n: UInt32) throws -> ClusterKey {
            let bigEndian = [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: n >> $0) }
            return try #require(ClusterKey(bytes: [UInt8](repeating: 0, count: 28) + bigEndian))
        }
        let a = try key(115_967)
        let b = try key(122_102)
        #expect(a.id == 0x894e_9293)
        #expect(b.id == a.id)
        #expect(a != b)

        let both = Keyring(primary: a, others: [b])
        #expect(try both.open(Keyring(primary: a).seal([1])) == [1])
        #expect(try both.open(Keyring(primary: b).seal([2])) == [2])
        // Holding only the other key of the pair: the id matches, the tag cannot.
        #expect(throws: SealError.authenticationFailed) {
            try Keyring(primary: a).open(Keyring(primary: b).seal([3]))
        }
    }

    @Test func garbageInputNeverTraps() {
        var rng = SplitMix64(seed: 0xBAD_5EED)
        let key = ClusterKey.generate()
        let keyring = Keyring(primary: key)
        var idBytes: [UInt8] = []
        for shift in [24, 16, 8, 0] as [UInt32] {
            idBytes.append(UInt8(truncatingIfNeeded: key.id >> shift))
        }
        for _ in 0..<2000 {
            let length = Int.random(in: 0...200, using: &rng)
            var garbage = rng.bytes(length)
            // Half the time, a header that gets past the version and key checks.
            if length >= 5, Bool.random(using: &rng) {
                garbage.replaceSubrange(0..<5, with: [Keyring.version] + idBytes)
            }
            #expect(throws: SealError.self) { try keyring.open(garbage) }
        }
    }

    @Test func errorDescriptionsSayWhatWentWrong() {
        #expect(SealError.truncated.description.contains("shorter than the 45-byte"))
        #expect(SealError.unsupportedVersion.description.contains("version 1"))
        #expect(SealError.unknownKey(0x0102_0304).description.contains("01020304"))
        #expect(SealError.authenticationFailed.description.contains("failed authentication"))
    }
}

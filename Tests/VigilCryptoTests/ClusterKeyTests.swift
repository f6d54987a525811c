import Testing
import VigilCrypto

/// Key bytes 0x00, 0x01, ..., 0x1f.
private let countingKey = [UInt8](0..<32)

@Suite struct ClusterKeyTests {
    @Test func keyIDIsFirstFourBytesOfDomainSeparatedBLAKE2b() throws {
        // Derived from the definition with an independent BLAKE2b (Python hashlib):
        // blake2b(b"vigil.keyid.v1" + bytes(range(32)), digest_size=32).hexdigest()
        //   = "cd4fa323d7c9fa42..."
        let key = try #require(ClusterKey(bytes: countingKey))
        #expect(key.id == 0xcd4f_a323)
    }

    @Test func sameKeyAlwaysHasSameID() throws {
        let key = ClusterKey.generate()
        let again = try #require(ClusterKey(bytes: key.bytes))
        let parsed = try ClusterKey(base64: key.base64)
        #expect(again.id == key.id)
        #expect(parsed.id == key.id)
        #expect(parsed == key)
    }

    @Test func differentKeysHaveDifferentIDs() {
        let ids = Set((0..<64).map { _ in ClusterKey.generate().id })
        #expect(ids.count == 64)
    }

    @Test(arguments: [0, 1, 16, 31, 33, 64])
    func wrongLengthBytesAreRefused(count: Int) {
        #expect(ClusterKey(bytes: [UInt8](repeating: 9, count: count)) == nil)
    }

    @Test func base64RoundTripsAndMatchesStandardEncoding() throws {
        let key = try #require(ClusterKey(bytes: countingKey))
        // Standard padded base64 of bytes 0...31 (RFC 4648 §4).
        #expect(key.base64 == "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
        #expect(try ClusterKey(base64: key.base64) == key)
        let generated = ClusterKey.generate()
        #expect(generated.base64.count == 44)
        #expect(try ClusterKey(base64: generated.base64) == generated)
    }

    @Test func surroundingWhitespaceLikeAKeyFileNewlineIsIgnored() throws {
        let key = try #require(ClusterKey(bytes: countingKey))
        #expect(try ClusterKey(base64: "  \(key.base64)\n") == key)
        #expect(try ClusterKey(base64: "\t\(key.base64)\r\n") == key)
    }

    @Test func shortKeyIsRefusedWithItsLength() {
        // 16 characters of base64 = 12 bytes.
        #expect(throws: KeyError.wrongLength(12)) { try ClusterKey(base64: "AAECAwQFBgcICQoL") }
        do {
            _ = try ClusterKey(base64: "AAECAwQFBgcICQoL")
            Issue.record("a 12-byte key was accepted")
        } catch {
            #expect(error.description.contains("key must be 32 bytes of base64, got 12 bytes"))
            #expect(error.description.contains("openssl rand -base64 32"))
        }
    }

    @Test func longKeyIsRefusedWithItsLength() {
        let text = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIj"  // 36 bytes
        #expect(throws: KeyError.wrongLength(36)) { try ClusterKey(base64: text) }
    }

    @Test func emptyKeyIsRefused() {
        #expect(throws: KeyError.empty) { try ClusterKey(base64: "") }
        #expect(throws: KeyError.empty) { try ClusterKey(base64: " \n") }
        #expect(KeyError.empty.description.contains("key is empty"))
    }

    @Test func invalidCharacterIsNamedWithItsPosition() {
        #expect(throws: KeyError.invalidCharacter("!", position: 5)) {
            try ClusterKey(base64: "AAEC!wQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
        }
        // URL-safe base64 is a common mix-up.
        #expect(throws: KeyError.invalidCharacter("-", position: 2)) {
            try ClusterKey(base64: "A-ECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
        }
        // Positions count characters, not UTF-8 bytes.
        #expect(throws: KeyError.invalidCharacter("é", position: 3)) { try ClusterKey(base64: "AAéC") }
        #expect(throws: KeyError.invalidCharacter(" ", position: 5)) { try ClusterKey(base64: "AAEC AwQF") }
        // Text after complete padding.
        #expect(throws: KeyError.invalidCharacter("=", position: 5)) { try ClusterKey(base64: "AAAA=") }
        // libsodium 1.0.18 alone would decode these bytes as base64 digits.
        #expect(throws: KeyError.invalidCharacter("\u{FF}", position: 3)) {
            try ClusterKey(base64: "AA\u{FF}\u{FF}")
        }
        let message = KeyError.invalidCharacter("!", position: 5).description
        #expect(message.contains("not valid base64"))
        #expect(message.contains("\"!\" at position 5"))
    }

    @Test func missingPaddingIsRefused() {
        #expect(throws: KeyError.badPadding) {
            try ClusterKey(base64: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8")
        }
        #expect(throws: KeyError.badPadding) { try ClusterKey(base64: "AAECA") }
        #expect(KeyError.badPadding.description.contains("padding"))
    }

    @Test func printingAKeyShowsOnlyItsID() throws {
        let key = try #require(ClusterKey(bytes: countingKey))
        var dumped = ""
        dump(key, to: &dumped)
        for text in [String(describing: key), String(reflecting: key), dumped] {
            #expect(text.contains("cd4fa323"), "\(text)")
            #expect(!text.contains(key.base64), "\(text)")
            #expect(!text.contains("31"), "last key byte in \(text)")
        }
    }

    @Test func generatedKeysAreDistinct() {
        #expect(ClusterKey.generate() != ClusterKey.generate())
    }
}

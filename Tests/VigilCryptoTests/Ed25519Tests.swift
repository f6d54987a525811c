import Testing
import VigilCrypto

/// RFC 8032 §7.1, TEST 1: the empty message.
private let rfc8032Seed = [UInt8](hex: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
private let rfc8032PublicKey = [UInt8](
    hex: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
private let rfc8032Signature = [UInt8](
    hex:
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
)

@Suite struct Ed25519Tests {
    @Test func seedFromRFC8032Test1GivesItsPublicKeyAndSignature() throws {
        let key = try #require(SigningKey(seed: rfc8032Seed))
        #expect(key.publicKey.bytes == rfc8032PublicKey)
        #expect(key.seed == rfc8032Seed)
        let signature = key.sign([])
        #expect(signature.bytes == rfc8032Signature)
        #expect(key.publicKey.isValidSignature(signature, for: []))
    }

    @Test func rfc8032Test1SignatureVerifiesUnderItsPublicKeyAlone() throws {
        let publicKey = try #require(PublicKey(bytes: rfc8032PublicKey))
        let signature = try #require(Signature(bytes: rfc8032Signature))
        #expect(publicKey.isValidSignature(signature, for: []))
    }

    @Test func modifiedMessageFailsVerification() throws {
        let key = try #require(SigningKey(seed: rfc8032Seed))
        let message = Array("vote term=7 candidate=node-3".utf8)
        let signature = key.sign(message)
        #expect(key.publicKey.isValidSignature(signature, for: message))
        for index in message.indices {
            var altered = message
            altered[index] ^= 0x01
            #expect(!key.publicKey.isValidSignature(signature, for: altered), "byte \(index) altered")
        }
        #expect(!key.publicKey.isValidSignature(signature, for: message + [0]))
        #expect(!key.publicKey.isValidSignature(signature, for: Array(message.dropLast())))
        #expect(!key.publicKey.isValidSignature(signature, for: []))
    }

    @Test func modifiedSignatureFailsVerification() throws {
        let publicKey = try #require(PublicKey(bytes: rfc8032PublicKey))
        for index in rfc8032Signature.indices {
            for flip: UInt8 in [0x01, 0x80] {
                var altered = rfc8032Signature
                altered[index] ^= flip
                let signature = try #require(Signature(bytes: altered))
                #expect(!publicKey.isValidSignature(signature, for: []), "byte \(index) ^ \(flip)")
            }
        }
    }

    @Test func signatureFromAnotherKeyFailsVerification() throws {
        let key = try #require(SigningKey(seed: rfc8032Seed))
        let other = try #require(SigningKey(seed: [UInt8](repeating: 7, count: 32)))
        let message = Array("leader term=3".utf8)
        #expect(!other.publicKey.isValidSignature(key.sign(message), for: message))
    }

    @Test(arguments: [0, 1, 31, 33, 64])
    func wrongLengthPublicKeyIsRefused(count: Int) {
        #expect(PublicKey(bytes: [UInt8](repeating: 1, count: count)) == nil)
    }

    @Test(arguments: [0, 1, 32, 63, 65, 128])
    func wrongLengthSignatureIsRefused(count: Int) {
        #expect(Signature(bytes: [UInt8](repeating: 1, count: count)) == nil)
    }

    @Test(arguments: [0, 1, 16, 31, 33, 64])
    func wrongLengthSeedIsRefused(count: Int) {
        #expect(SigningKey(seed: [UInt8](repeating: 1, count: count)) == nil)
    }

    @Test func garbageSignaturesAndKeysNeverTrapAndNeverVerify() throws {
        var rng = SplitMix64(seed: 0x5EED_0001)
        let specials: [[UInt8]] = [
            [UInt8](repeating: 0, count: 32),  // small-order point
            [UInt8](repeating: 0xff, count: 32),  // not a field element
            [1] + [UInt8](repeating: 0, count: 31),  // identity point
        ]
        let publicKeys = try (specials + (0..<20).map { _ in rng.bytes(32) } + [rfc8032PublicKey]).map {
            try #require(PublicKey(bytes: $0))
        }
        let signatures = try
            ([[UInt8](repeating: 0, count: 64), [UInt8](repeating: 0xff, count: 64)]
            + (0..<20).map { _ in rng.bytes(64) }).map { try #require(Signature(bytes: $0)) }
        for publicKey in publicKeys {
            for signature in signatures {
                for message in [[], [0], rng.bytes(100)] as [[UInt8]] {
                    #expect(!publicKey.isValidSignature(signature, for: message))
                }
            }
        }
    }

    @Test func generatedKeysAreDistinctAndSignVerifiably() {
        let a = SigningKey.generate()
        let b = SigningKey.generate()
        #expect(a.publicKey != b.publicKey)
        let message = Array("hello".utf8)
        #expect(a.publicKey.isValidSignature(a.sign(message), for: message))
        #expect(SigningKey(seed: a.seed)?.publicKey == a.publicKey)
    }

    @Test func printingASigningKeyShowsOnlyThePublicKey() throws {
        let key = try #require(SigningKey(seed: rfc8032Seed))
        var dumped = ""
        dump(key, to: &dumped)
        for text in [String(describing: key), String(reflecting: key), dumped] {
            #expect(text.contains("d75a980182b1"))
            // Default reflection would name the stored property and list its bytes.
            #expect(!text.contains("secret"), "\(text)")
            #expect(!text.contains("157"), "first secret byte 0x9d in \(text)")
        }
    }
}

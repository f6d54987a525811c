import Testing

@testable import VigilCrypto

@Suite struct XChaCha20Poly1305Tests {
    /// draft-irtf-cfrg-xchacha-03 §A.3.1 (AEAD_XChaCha20_Poly1305).
    let key = [UInt8](hex: "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f")
    let nonce = [UInt8](hex: "404142434445464748494a4b4c4d4e4f5051525354555657")
    let associatedData = [UInt8](hex: "50515253c0c1c2c3c4c5c6c7")
    let plaintext = Array(
        "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it."
            .utf8)
    let ciphertext = [UInt8](
        hex: "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb"
            + "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452"
            + "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
            + "21f9664c97637da9768812f615c68b13b52e")
    let tag = [UInt8](hex: "c0875924c1c7987947deafd8780acf49")

    /// `ciphertext ‖ tag` of `plaintext`.
    static func seal(_ plaintext: [UInt8], associatedData: [UInt8], nonce: [UInt8], key: [UInt8]) -> [UInt8] {
        var sealed = [UInt8](repeating: 0, count: plaintext.count + XChaCha20Poly1305.tagByteCount)
        sealed.withUnsafeMutableBytes { sealed in
            plaintext.withUnsafeBytes { plaintext in
                associatedData.withUnsafeBytes { ad in
                    nonce.withUnsafeBytes { nonce in
                        key.withUnsafeBytes { key in
                            XChaCha20Poly1305.seal(plaintext, associatedData: ad, nonce: nonce, key: key, into: sealed)
                        }
                    }
                }
            }
        }
        return sealed
    }

    @Test func sealMatchesTheXChaChaDraftTestVector() {
        let sealed = Self.seal(self.plaintext, associatedData: self.associatedData, nonce: self.nonce, key: self.key)
        #expect(sealed == self.ciphertext + self.tag)
    }

    @Test func openMatchesTheXChaChaDraftTestVector() {
        let sealed = self.ciphertext + self.tag
        let opened = sealed.withUnsafeBytes { sealed in
            self.associatedData.withUnsafeBytes { ad in
                self.nonce.withUnsafeBytes { nonce in
                    self.key.withUnsafeBytes { key in
                        XChaCha20Poly1305.open(sealed, associatedData: ad, nonce: nonce, key: key)
                    }
                }
            }
        }
        #expect(opened == self.plaintext)
    }

    @Test func keyringEnvelopeIsHeaderNonceThenAEADOverTheHeader() throws {
        let clusterKey = try #require(ClusterKey(bytes: self.key))
        let keyring = Keyring(primary: clusterKey)
        let sealed = keyring.seal(self.plaintext, nonce: self.nonce)
        let id = clusterKey.id
        let header: [UInt8] = [
            1, UInt8(id >> 24), UInt8(id >> 16 & 0xff), UInt8(id >> 8 & 0xff), UInt8(id & 0xff),
        ]
        #expect(Array(sealed[0..<5]) == header)
        #expect(Array(sealed[5..<29]) == self.nonce)

        let expectedBody = Self.seal(self.plaintext, associatedData: header, nonce: self.nonce, key: self.key)
        #expect(Array(sealed[29...]) == expectedBody)
        #expect(try keyring.open(sealed) == self.plaintext)
    }
}

import CSodium

/// The AEAD construction the keyring seals with: XChaCha20-Poly1305 as specified in
/// draft-irtf-cfrg-xchacha-03 (libsodium's `crypto_aead_xchacha20poly1305_ietf_*`).
/// The 192-bit nonce is why random nonces are safe here: with a 96-bit nonce a busy
/// cluster would approach the birthday bound within a key's lifetime.
enum XChaCha20Poly1305 {
    static let keyByteCount = Int(crypto_aead_xchacha20poly1305_ietf_KEYBYTES)  // 32
    static let nonceByteCount = Int(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)  // 24
    static let tagByteCount = Int(crypto_aead_xchacha20poly1305_ietf_ABYTES)  // 16

    /// Encrypts `plaintext` into `output`, which must hold exactly `plaintext.count +
    /// tagByteCount` bytes: `ciphertext ‖ tag`.
    /// - Parameters:
    ///   - key: exactly `keyByteCount` bytes.
    ///   - nonce: exactly `nonceByteCount` bytes; never reuse one under the same key.
    ///   - associatedData: authenticated but not encrypted.
    static func seal(
        _ plaintext: UnsafeRawBufferPointer,
        associatedData: UnsafeRawBufferPointer,
        nonce: UnsafeRawBufferPointer,
        key: UnsafeRawBufferPointer,
        into output: UnsafeMutableRawBufferPointer
    ) {
        precondition(key.count == Self.keyByteCount && nonce.count == Self.nonceByteCount)
        let sealedCount = plaintext.count + Self.tagByteCount
        precondition(output.count == sealedCount, "sealing needs room for the plaintext and the tag")
        Sodium.ensureReady()
        var written: UInt64 = 0
        let rc = crypto_aead_xchacha20poly1305_ietf_encrypt(
            output.baseAddress!.assumingMemoryBound(to: UInt8.self), &written,
            plaintext.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(plaintext.count),
            associatedData.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(associatedData.count),
            nil,
            nonce.baseAddress!.assumingMemoryBound(to: UInt8.self), key.baseAddress!.assumingMemoryBound(to: UInt8.self))
        // Encryption fails only for messages near 2^64 bytes, which cannot exist here.
        precondition(rc == 0 && written == UInt64(sealedCount), "XChaCha20-Poly1305 encryption failed")
    }

    /// Decrypts and verifies `ciphertext ‖ tag`.
    /// - Returns: the plaintext, or `nil` if the input is shorter than a tag or the tag
    ///   does not verify under `key`, `nonce` and `associatedData`.
    static func open(
        _ sealed: UnsafeRawBufferPointer,
        associatedData: UnsafeRawBufferPointer,
        nonce: UnsafeRawBufferPointer,
        key: UnsafeRawBufferPointer
    ) -> [UInt8]? {
        guard key.count == Self.keyByteCount, nonce.count == Self.nonceByteCount,
            sealed.count >= Self.tagByteCount
        else { return nil }
        Sodium.ensureReady()
        let plaintextCount = sealed.count - Self.tagByteCount
        var ok = false
        let plaintext = [UInt8](unsafeUninitializedCapacity: plaintextCount) { out, initializedCount in
            var written: UInt64 = 0
            let rc = crypto_aead_xchacha20poly1305_ietf_decrypt(
                out.baseAddress, &written,
                nil,
                sealed.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(sealed.count),
                associatedData.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(associatedData.count),
                nonce.baseAddress!.assumingMemoryBound(to: UInt8.self), key.baseAddress!.assumingMemoryBound(to: UInt8.self))
            ok = rc == 0 && written == UInt64(plaintextCount)
            // libsodium already zeroes `out` on failure; say so to Swift too.
            if !ok, plaintextCount > 0 {
                out.baseAddress!.initialize(repeating: 0, count: plaintextCount)
            }
            initializedCount = plaintextCount
        }
        return ok ? plaintext : nil
    }
}

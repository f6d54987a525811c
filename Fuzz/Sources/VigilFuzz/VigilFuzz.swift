import CLibFuzzer
import VigilCore
import VigilCrypto

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

// libFuzzer entry points. Every input goes to the three places where bytes from the
// network are parsed before anything trusts them:
//
// 1. `Packet(decoding:)`, the wire codec. It must never trap or allocate without
//    bound, and whatever it accepts must encode and decode back to the same packet.
// 2. `Keyring.open`, the seal's header, length and tag checks, with a fixed key.
// 3. The input as a plaintext sealed under that key: it must open to itself, and the
//    packet inside is decoded as in 1 (what a member holding the key could send).
//
// A property that does not hold traps, which libFuzzer reports as a crash with the
// input that caused it.

/// The fixed cluster key of the fuzzer. Its key id begins every sealed seed input,
/// so mutations reach the authentication check, not just the key lookup.
let fuzzKeyring = Keyring(primary: ClusterKey(bytes: [UInt8](repeating: 0x5A, count: ClusterKey.byteCount))!)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    checkDecoding(bytes)
    if let plaintext = try? fuzzKeyring.open(bytes) {
        // Only an input libFuzzer built from a sealed seed gets here.
        checkDecoding(plaintext)
    }
    let sealed = fuzzKeyring.seal(bytes)
    guard let opened = try? fuzzKeyring.open(sealed), opened == bytes else {
        fatalError("sealing \(bytes.count) bytes and opening them again did not give them back")
    }
    return 0
}

/// Decodes `bytes` as a packet; a packet that decodes must survive a round trip.
func checkDecoding(_ bytes: [UInt8]) {
    guard let packet = try? Packet(decoding: bytes) else { return }
    let encoded = packet.encoded()
    guard let again = try? Packet(decoding: encoded) else {
        fatalError("a decoded packet re-encodes to bytes that do not decode: \(packet)")
    }
    guard again == packet else {
        fatalError("a decoded packet changes in a round trip: \(packet) became \(again)")
    }
}

/// Called once by libFuzzer before fuzzing. With `VIGIL_FUZZ_WRITE_CORPUS=DIR` in the
/// environment it writes the seed corpus (valid packets of every message and update
/// type, plain and sealed) to DIR and exits, so the seeds always match this build's
/// codec (`scripts/fuzz.sh` does this first).
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(
    _ argc: UnsafeMutablePointer<CInt>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?
) -> CInt {
    guard let directory = getenv("VIGIL_FUZZ_WRITE_CORPUS").map({ String(cString: $0) }), !directory.isEmpty else {
        return 0
    }
    var written = 0
    for (index, packet) in SeedPackets.all.enumerated() {
        let plain = packet.encoded()
        written += write(plain, to: "\(directory)/packet-\(index)") ? 1 : 0
        written += write(fuzzKeyring.seal(plain), to: "\(directory)/sealed-\(index)") ? 1 : 0
    }
    print("wrote \(written) seed inputs to \(directory)")
    exit(written == 2 * SeedPackets.all.count ? 0 : 1)
}

private func write(_ bytes: [UInt8], to path: String) -> Bool {
    guard let file = fopen(path, "wb") else { return false }
    defer { fclose(file) }
    return fwrite(bytes, 1, bytes.count, file) == bytes.count
}

/// The program's entry point in a debug build. SwiftPM renames a debug executable's
/// `main` to `<module>_main` (so tests can link the module) and points `main` at that
/// symbol; with `-parse-as-library` there is no Swift `main`, so this one hands over
/// to libFuzzer's driver. In a release build libFuzzer's own `main` is used and this
/// function is never called.
@_cdecl("VigilFuzz_main")
public func fuzzMain(
    _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzOneInput(data, size) }
}

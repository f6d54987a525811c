import VigilCrypto

/// How the agent writes the cluster keys into a keyring record's payload, which the
/// core gossips without reading (it travels only inside sealed packets):
///
///     u8   format          1
///     u8   primary index   0 ..< count
///     u8   count           1 ... maxKeys
///     ...  keys            count x 32 bytes, in installation order
enum KeyringPayload {
    static let format: UInt8 = 1
    /// Most keys a cluster keyring may hold: a rotation needs two; eight leave room for
    /// staged keys and keep the record well inside one gossip packet.
    static let maxKeys = 8

    /// The payload for `keyring`. The caller keeps `keyring.keys.count <= maxKeys`
    /// (``KeyChange`` refuses more); extra keys are left out, the primary never.
    static func encode(_ keyring: Keyring) -> [UInt8] {
        var keys = Array(keyring.keys.prefix(Self.maxKeys))
        if !keys.contains(keyring.primary) { keys[keys.count - 1] = keyring.primary }
        let primaryIndex = keys.firstIndex(of: keyring.primary) ?? 0
        var bytes: [UInt8] = [Self.format, UInt8(primaryIndex), UInt8(keys.count)]
        for key in keys { bytes += key.bytes }
        return bytes
    }

    /// The keyring in `bytes`, or `nil` if they are not a payload of this format (a
    /// newer agent's, or a bug: the record's signature checked out).
    static func decode(_ bytes: [UInt8]) -> Keyring? {
        guard bytes.count >= 3, bytes[0] == Self.format else { return nil }
        let primaryIndex = Int(bytes[1])
        let count = Int(bytes[2])
        guard (1...Self.maxKeys).contains(count), primaryIndex < count,
            bytes.count == 3 + count * ClusterKey.byteCount
        else { return nil }
        var keys: [ClusterKey] = []
        for index in 0..<count {
            let start = 3 + index * ClusterKey.byteCount
            guard let key = ClusterKey(bytes: Array(bytes[start..<start + ClusterKey.byteCount])) else { return nil }
            keys.append(key)
        }
        // Built in installation order, then the primary chosen, so that `keys` keeps
        // the order every node shows in `vigil keys list`.
        var keyring = Keyring(primary: keys[0], others: Array(keys.dropFirst()))
        do {
            try keyring.use(keys[primaryIndex])
        } catch {
            return nil  // unreachable: every key was installed above
        }
        return keyring
    }
}

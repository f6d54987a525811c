import VigilCore
import VigilCrypto

/// One operator change to the cluster keyring (`vigil keys install/use/remove`),
/// planned against the keyring in use and what the live members reported. Pure, so
/// every refusal is tested without sockets.
public enum KeyOperation: String, Sendable, Codable, CaseIterable {
    case install, use, remove
}

/// Why a key change was refused: what was wrong and what to do, in one line. Never
/// holds key material, only key ids.
public struct KeyChangeError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    /// Whether the request itself was malformed (HTTP 400) rather than refused in the
    /// current state of the cluster (409).
    public let isMalformed: Bool

    init(_ description: String, malformed: Bool = false) {
        self.description = description
        self.isMalformed = malformed
    }

    static func notInstalled(_ id: UInt32) -> KeyChangeError {
        KeyChangeError("key \(ClusterKey.formatID(id)) is not installed; run `vigil keys install` first")
    }
}

enum KeyChange {
    /// The key in a request body, or the one-line error for text that is not a key.
    static func parse(_ text: String) throws(KeyChangeError) -> ClusterKey {
        do {
            return try ClusterKey(base64: text)
        } catch {
            throw KeyChangeError("malformed key: \(error)", malformed: true)
        }
    }

    /// The keyring after `operation` with `key`, or `nil` if it changes nothing (the
    /// command is then only waited on: repeating one is harmless).
    ///
    /// - Parameters:
    ///   - current: the cluster keyring as this node holds it.
    ///   - reports: the key reports of the live members.
    /// - Throws: ``KeyChangeError`` when the change would cut members off: making a key
    ///   primary that some live member has not installed, removing the primary, or
    ///   removing a key some live member still seals with.
    static func plan(_ operation: KeyOperation, key: ClusterKey, current: Keyring, reports: [KeyReport])
        throws(KeyChangeError) -> Keyring?
    {
        let id = ClusterKey.formatID(key.id)
        var next = current
        switch operation {
        case .install:
            guard !current.keys.contains(key) else { return nil }
            guard current.keys.count < KeyringPayload.maxKeys else {
                throw KeyChangeError(
                    "the cluster keyring already holds \(KeyringPayload.maxKeys) keys; "
                        + "remove one with `vigil keys remove` before installing another")
            }
            next.install(key)
        case .use:
            guard current.keys.contains(key) else { throw .notInstalled(key.id) }
            guard current.primary != key else { return nil }
            let lacking = reports.filter { !$0.installed.contains(key.id) }.map(\.member)
            guard lacking.isEmpty else {
                throw KeyChangeError(
                    "key \(id) is not yet installed on \(lacking.joined(separator: ", ")); "
                        + "wait until `vigil keys list` shows it on every member, then run `vigil keys use` again")
            }
            do {
                try next.use(key)
            } catch {
                throw .notInstalled(key.id)
            }
        case .remove:
            guard current.primary != key else {
                throw KeyChangeError(
                    "key \(id) is the primary key and cannot be removed; "
                        + "make another installed key primary with `vigil keys use` first")
            }
            guard current.keys.contains(key) else { return nil }
            let sealing = reports.filter { $0.primary == key.id }.map(\.member)
            guard sealing.isEmpty else {
                throw KeyChangeError(
                    "key \(id) is still the primary key on \(sealing.joined(separator: ", ")); "
                        + "wait until `vigil keys list` shows the new primary everywhere, then remove it")
            }
            do {
                try next.remove(key)
            } catch {
                throw KeyChangeError("\(error)")
            }
        }
        return next
    }
}

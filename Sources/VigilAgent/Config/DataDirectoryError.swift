/// Why the data directory, or a file in it, could not be used: one line naming the
/// file and what to do, e.g.
///
///     identity key /var/lib/vigil/identity.key: has mode 0644, so other users can
///     read this node's secret key; run `chmod 600 /var/lib/vigil/identity.key`
public struct DataDirectoryError: Error, Equatable, CustomStringConvertible {
    enum Kind: Equatable {
        /// The path exists and is not a directory / regular file.
        case wrongType
        /// A secret file is readable or writable by group or others.
        case unsafePermissions
        /// A fixed-size file has another size.
        case wrongSize
        /// The content cannot be decoded.
        case corrupt
        /// The life counter cannot go higher.
        case exhausted
        /// A system call failed (see `message`).
        case system
    }

    let kind: Kind
    /// What the file is: `data directory`, `identity key`, `life counter`, `members snapshot`.
    public let subject: String
    public let path: String
    /// What is wrong, and what to do about it.
    public let message: String

    init(_ kind: Kind, _ subject: String, _ path: String, _ message: String) {
        self.kind = kind
        self.subject = subject
        self.path = path
        self.message = message
    }

    static func system(_ subject: String, _ failure: FileSystem.Failure) -> DataDirectoryError {
        DataDirectoryError(.system, subject, failure.path, "cannot \(failure.operation): \(failure.reason)")
    }

    public var description: String {
        "\(self.subject) \(self.path): \(self.message)"
    }
}

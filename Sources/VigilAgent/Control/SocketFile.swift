import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The file system side of the control socket: its directory, its mode, and removing
/// it only while it is still the one this agent bound.
struct SocketFile: Sendable, Equatable {
    let path: String
    private let device: UInt64
    private let inode: UInt64

    enum Kind: Equatable {
        case missing, socket, other
    }

    /// What is at `path` now (not following a symbolic link).
    static func kind(_ path: String) -> Kind {
        var info = stat()
        guard lstat(path, &info) == 0 else { return .missing }
        return (info.st_mode & S_IFMT) == S_IFSOCK ? .socket : .other
    }

    /// Creates the socket's directory with mode 0700 if it is missing: the socket is the
    /// node's admin interface, and a private directory also closes the moment between
    /// `bind` and `chmod` when the socket has the umask's mode.
    static func prepareDirectory(for path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        guard !directory.isEmpty, self.kind(directory) == .missing else { return }
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw ControlServerError.directory(directory, Self.reason(error))
        }
    }

    /// The socket bound at `path`, remembered by device and inode.
    init(boundAt path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            throw ControlServerError.listen(path, String(cString: strerror(errno)))
        }
        self.path = path
        self.device = UInt64(info.st_dev)
        self.inode = UInt64(info.st_ino)
    }

    /// Only the owner (the agent's user, and root) may connect.
    func restrictToOwner() throws {
        guard chmod(self.path, 0o600) == 0 else {
            throw ControlServerError.restrict(self.path, String(cString: strerror(errno)))
        }
    }

    /// Removes the socket file unless it was replaced by another one meanwhile.
    func removeIfUnchanged() {
        var info = stat()
        guard lstat(self.path, &info) == 0, UInt64(info.st_dev) == self.device, UInt64(info.st_ino) == self.inode
        else { return }
        unlink(self.path)
    }

    private static func reason(_ error: any Error) -> String {
        if let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError,
            underlying.domain == NSPOSIXErrorDomain
        {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return error.localizedDescription
    }
}

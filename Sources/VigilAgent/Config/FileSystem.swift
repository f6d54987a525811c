#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The few file operations the agent's state needs, on POSIX calls so that errors
/// carry `errno` (what operators see as "No such file or directory") and files are
/// created with the right mode from the first byte, not `chmod`ed after.
enum FileSystem {
    /// A failed system call: which one, on what, and `errno`.
    struct Failure: Error, Equatable, CustomStringConvertible {
        var operation: String
        var path: String
        var code: Int32

        /// `strerror(errno)`, e.g. "No such file or directory".
        var reason: String {
            String(cString: strerror(self.code))
        }

        var isNotFound: Bool {
            self.code == ENOENT
        }

        var description: String {
            "\(self.operation) \(self.path): \(self.reason)"
        }
    }

    /// What `stat(2)` says about a file.
    struct Status: Equatable {
        var isDirectory: Bool
        var isRegularFile: Bool
        /// Permission bits only (`0o777`).
        var permissions: UInt32
        var size: Int
    }

    /// - Returns: `nil` if nothing is at `path`.
    static func status(of path: String) throws(Failure) -> Status? {
        var info = stat()
        guard stat(path, &info) == 0 else {
            let code = errno
            if code == ENOENT { return nil }
            throw Failure(operation: "stat", path: path, code: code)
        }
        let type = UInt32(info.st_mode) & UInt32(S_IFMT)
        return Status(
            isDirectory: type == UInt32(S_IFDIR),
            isRegularFile: type == UInt32(S_IFREG),
            permissions: UInt32(info.st_mode) & 0o777,
            size: Int(info.st_size))
    }

    /// Reads a whole file. Refuses files over `limit` bytes, so a wrong path (a
    /// device, a huge log) cannot make the agent allocate without bound.
    static func read(_ path: String, limit: Int = 16 << 20) throws(Failure) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(operation: "open", path: path, code: errno) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = chunk.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw Failure(operation: "read", path: path, code: errno)
            }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > limit { throw Failure(operation: "read", path: path, code: EFBIG) }
        }
    }

    /// Replaces the file at `path` with `bytes` so that a crash at any moment leaves
    /// either the old content or the new, never a mix: write a temporary file in the
    /// same directory with `mode`, `fsync` it, `rename` it over `path`, then `fsync`
    /// the directory so the rename itself is durable.
    static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t) throws(Failure) {
        let directory = Self.directory(of: path)
        let temporary = "\(path).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw Failure(operation: "create", path: path, code: errno) }
        var done = false
        defer {
            if !done { unlink(temporary) }
        }
        do {
            defer { close(fd) }
            // The umask may have cleared bits of `mode`; it can never have added any.
            guard fchmod(fd, mode) == 0 else { throw Failure(operation: "chmod", path: path, code: errno) }
            var written = 0
            while written < bytes.count {
                let count = bytes.withUnsafeBytes {
                    systemWrite(fd, $0.baseAddress! + written, $0.count - written)
                }
                if count < 0 {
                    if errno == EINTR { continue }
                    throw Failure(operation: "write", path: path, code: errno)
                }
                written += count
            }
            guard fsync(fd) == 0 else { throw Failure(operation: "fsync", path: path, code: errno) }
        }
        guard rename(temporary, path) == 0 else { throw Failure(operation: "rename", path: path, code: errno) }
        done = true
        Self.syncDirectory(directory)
    }

    /// Creates the file at `path` holding `bytes`, complete and durable, unless a
    /// file is already there: the new content is written to a temporary file first
    /// and then `link`ed into place, which fails if `path` exists. So two processes
    /// racing to create the same file never overwrite each other, and a crash never
    /// leaves a partial file at `path`.
    /// - Returns: `false` if a file was already at `path` (it is left alone).
    static func createExclusively(_ bytes: [UInt8], at path: String, mode: mode_t) throws(Failure) -> Bool {
        let temporary = "\(path).new-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        do throws(Failure) {
            try Self.writeAtomically(bytes, to: temporary, mode: mode)
        } catch {
            throw Failure(operation: error.operation, path: path, code: error.code)
        }
        defer { unlink(temporary) }
        guard link(temporary, path) == 0 else {
            let code = errno
            if code == EEXIST { return false }
            throw Failure(operation: "create", path: path, code: code)
        }
        Self.syncDirectory(Self.directory(of: path))
        return true
    }

    /// Creates a directory with `mode` (not widened by the umask's complement), and
    /// its missing parents with `0o755`.
    static func createDirectory(_ path: String, mode: mode_t) throws(Failure) {
        let parent = Self.directory(of: path)
        if parent != path, try Self.status(of: parent) == nil {
            try Self.createDirectory(parent, mode: 0o755)
        }
        guard mkdir(path, mode) == 0 else {
            let code = errno
            if code == EEXIST { return }  // made by someone else meanwhile: fine
            throw Failure(operation: "create directory", path: path, code: code)
        }
        guard chmod(path, mode) == 0 else { throw Failure(operation: "chmod", path: path, code: errno) }
    }

    /// The directory part of `path` (`.` for a bare file name, `/` for the root).
    static func directory(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        let directory = trimmed[..<slash]
        return directory.isEmpty ? "/" : String(directory)
    }

    /// Best effort: a failed directory `fsync` (some file systems refuse it) does not
    /// undo the rename, it only leaves its durability to the kernel.
    private static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }
}

// `read` and `write` are shadowed inside types that declare members of those names.
@inline(__always)
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(fd, buffer, count)
}

@inline(__always)
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
    write(fd, buffer, count)
}

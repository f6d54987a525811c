import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A child process started with `posix_spawn`, for the script driver (and tests).
///
/// Not Foundation's `Process`, because a child inherits the spawning thread's signal
/// mask, and the agent's threads block SIGTERM and SIGINT (signal handling runs on its
/// own thread): such a child could never be stopped with SIGTERM. Here the child gets an
/// empty mask and default dispositions for the usual signals, its own process group (so
/// a stop reaches what it started too), stdin from /dev/null, stdout and stderr into
/// one file, and no other descriptor of the agent (glibc's `addclosefrom_np`).
public struct SpawnedProcess: Sendable {
    /// How a child ended.
    public enum Exit: Sendable, Equatable {
        case exited(Int32)
        case signalled(Int32)
    }

    public let pid: pid_t

    /// Starts `path` with `arguments` and exactly `environment`.
    /// - Parameter output: file that receives stdout and stderr (created or truncated, mode 0600).
    /// - Throws: a one-line `String` reason via `SpawnedProcess.Failure`.
    public static func spawn(
        _ path: String, arguments: [String], environment: [String: String], output: String
    ) throws(Failure) -> SpawnedProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else of ours may live on in the child: SwiftNIO opens its sockets
        // without close-on-exec on Linux, so gossip sockets, the control socket and
        // HTTP connections would be inherited, and a listening socket the child holds
        // keeps accepting after the agent closed it.
        Self.closeInheritedDescriptors(&actions)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM] {
            sigaddset(&defaults, signal)
        }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        guard status == 0 else {
            throw Failure("cannot start \(path): \(String(cString: strerror(status)))", code: status)
        }
        return SpawnedProcess(pid: pid)
    }

    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32

    /// Adds "close every descriptor from 3 up" to `actions`: glibc's
    /// `posix_spawn_file_actions_addclosefrom_np` (2.34+; looked up at run time, as the
    /// Swift module does not export it), else one close per descriptor open now.
    private static func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) {
        if let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") {
            let addCloseFrom = unsafeBitCast(symbol, to: AddCloseFrom.self)
            if addCloseFrom(&actions, 3) == 0 { return }
        }
        let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        for descriptor in open.compactMap({ Int32($0) }) where descriptor > 2 {
            posix_spawn_file_actions_addclose(&actions, descriptor)
        }
    }

    /// Sends `signal` to the child's process group (the child and what it started).
    public func signal(_ signal: Int32) {
        if kill(-self.pid, signal) != 0 {
            kill(self.pid, signal)
        }
    }

    /// Whether it has ended, reaping it if so (`nil`: still running).
    public func poll() -> Exit? {
        var status: Int32 = 0
        let result = waitpid(self.pid, &status, WNOHANG)
        guard result == self.pid else {
            // -1 with ECHILD: already reaped elsewhere; report it as gone.
            return result == -1 && errno == ECHILD ? .exited(-1) : nil
        }
        let signal = status & 0x7f
        return signal == 0 ? .exited((status >> 8) & 0xff) : .signalled(signal)
    }

    /// Waits for the end, polling every 10 ms; `nil` if it still runs after `limit`.
    /// In a cancelled task it still waits out `limit` (sleeping the thread between
    /// polls), so that a caller stopping a child can always reap it.
    public func wait(atMost limit: Duration) async -> Exit? {
        let clock = ContinuousClock()
        let deadline = clock.now + limit
        while true {
            if let exit = self.poll() { return exit }
            if clock.now >= deadline { return nil }
            do {
                try await Task.sleep(for: .milliseconds(10))
            } catch {
                usleep(10_000)
            }
        }
    }

    /// Stops the child: SIGTERM to its group, SIGKILL after `grace`, then reaps it.
    /// - Returns: how it ended (`nil` only if even SIGKILL did not end it within 5 s).
    @discardableResult
    public func stop(grace: Duration) async -> Exit? {
        if let exit = self.poll() { return exit }
        self.signal(SIGTERM)
        if let exit = await self.wait(atMost: grace) { return exit }
        self.signal(SIGKILL)
        return await self.wait(atMost: .seconds(5))
    }

    /// Why a child could not be started.
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
        /// The `errno` value posix_spawn returned.
        public var code: Int32
        init(_ description: String, code: Int32) {
            self.description = description
            self.code = code
        }

        /// `ETXTBSY`: the executable is open for writing, often only for a moment by a
        /// child forked elsewhere in this process while the file was being written;
        /// worth a short retry.
        public var isTextFileBusy: Bool { self.code == ETXTBSY }
    }
}

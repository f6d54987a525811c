import NIOCore
import NIOHTTP1
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What went wrong talking to the agent's control socket, as one line for operators:
/// what happened and what to do.
///
/// A struct over a private enum, as in swift-nio, so that cases can be added.
public struct ControlError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The kind of failure, for programs that react to it.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case agentUnreachable, accessDenied, pathTooLong, rejected, timedOut, badResponse, connectionLost
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// Nothing listens on the socket (no such file, or connection refused).
        public static let agentUnreachable = Code(.agentUnreachable)
        /// The socket is there but this user may not connect (mode 0600).
        public static let accessDenied = Code(.accessDenied)
        /// The path does not fit in a Unix socket address.
        public static let pathTooLong = Code(.pathTooLong)
        /// The agent answered with an error status; see `status`.
        public static let rejected = Code(.rejected)
        /// The agent accepted the connection but did not answer in time.
        public static let timedOut = Code(.timedOut)
        /// The answer could not be read.
        public static let badResponse = Code(.badResponse)
        /// The connection closed before the answer was complete.
        public static let connectionLost = Code(.connectionLost)

        public var description: String { "\(self.base)" }
    }

    private enum Base: Equatable, Sendable {
        case agentUnreachable(path: String, reason: String)
        case accessDenied(path: String)
        case pathTooLong(path: String)
        case rejected(status: Int, message: String)
        case timedOut(path: String, after: Duration)
        case badResponse(path: String, detail: String)
        case connectionLost(path: String)
    }

    private let base: Base

    private init(_ base: Base) {
        self.base = base
    }

    public var code: Code {
        switch self.base {
        case .agentUnreachable: .agentUnreachable
        case .accessDenied: .accessDenied
        case .pathTooLong: .pathTooLong
        case .rejected: .rejected
        case .timedOut: .timedOut
        case .badResponse: .badResponse
        case .connectionLost: .connectionLost
        }
    }

    /// The HTTP status of a `.rejected` answer.
    public var status: Int? {
        if case .rejected(let status, _) = self.base { return status }
        return nil
    }

    public var description: String {
        switch self.base {
        case .agentUnreachable(let path, let reason):
            "no Vigil agent at \(path) (\(reason)): is `vigil agent` running? Set --control or VIGIL_CONTROL."
        case .accessDenied(let path):
            "not allowed to use the Vigil agent's control socket \(path) (permission denied): "
                + "run as the agent's user or root."
        case .pathTooLong(let path):
            "control socket path \(path) is too long (\(path.utf8.count) bytes; Unix sockets take at most 107): "
                + "set a shorter --control or VIGIL_CONTROL."
        case .rejected(let status, let message):
            "agent answered \(status): \(message)"
        case .timedOut(let path, let after):
            "the Vigil agent at \(path) did not answer within \(Self.text(after)): "
                + "it may be overloaded or stuck; check its log."
        case .badResponse(let path, let detail):
            "unreadable answer from the Vigil agent at \(path) (\(detail)): "
                + "are the agent and this `vigil` the same version?"
        case .connectionLost(let path):
            "lost the connection to the Vigil agent at \(path): it stopped or restarted."
        }
    }

    private static func text(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000) s" : "\(milliseconds) ms"
    }

    static func rejected(status: Int, message: String) -> ControlError {
        ControlError(.rejected(status: status, message: message))
    }

    static func timedOut(path: String, after: Duration) -> ControlError {
        ControlError(.timedOut(path: path, after: after))
    }

    static func badResponse(path: String, detail: String) -> ControlError {
        ControlError(.badResponse(path: path, detail: detail))
    }

    static func connectionLost(path: String) -> ControlError {
        ControlError(.connectionLost(path: path))
    }

    /// The error for a connection that failed while reading the answer, from what NIO threw.
    static func reading(from path: String, _ error: any Error) -> ControlError {
        if let error = error as? ControlError { return error }
        // An answer cut short (the agent stopped mid-answer) is a lost connection; any
        // other parser error means the peer does not speak HTTP.
        if let error = error as? HTTPParserError, error != .invalidEOFState {
            return ControlError(.badResponse(path: path, detail: "not HTTP: \(error)"))
        }
        return ControlError(.connectionLost(path: path))
    }

    /// The error for a failed connect to `path`, from what NIO threw.
    static func connecting(to path: String, _ error: any Error) -> ControlError {
        if let error = error as? ControlError { return error }
        if let error = error as? SocketAddressError, case .unixDomainSocketPathTooLong = error {
            return ControlError(.pathTooLong(path: path))
        }
        if let error = error as? IOError {
            switch error.errnoCode {
            case ENOENT, ENOTDIR: return ControlError(.agentUnreachable(path: path, reason: "no such socket"))
            case ECONNREFUSED: return ControlError(.agentUnreachable(path: path, reason: "connection refused"))
            case EACCES, EPERM: return ControlError(.accessDenied(path: path))
            case ENAMETOOLONG: return ControlError(.pathTooLong(path: path))
            default:
                return ControlError(.agentUnreachable(path: path, reason: String(cString: strerror(error.errnoCode))))
            }
        }
        if error is ChannelError {
            return ControlError(.agentUnreachable(path: path, reason: "\(error)"))
        }
        return ControlError(.agentUnreachable(path: path, reason: "\(error)"))
    }
}

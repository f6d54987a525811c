/// Why the control server could not start, as one line naming the path and what to do.
public struct ControlServerError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String

    init(_ description: String) {
        self.description = description
    }

    static func inUse(_ path: String) -> ControlServerError {
        ControlServerError(
            "control socket \(path) is in use by a running agent: stop it first, or set another control path")
    }

    static func notASocket(_ path: String) -> ControlServerError {
        ControlServerError("\(path) exists and is not a socket: remove it, or set another control path")
    }

    static func pathTooLong(_ path: String) -> ControlServerError {
        ControlServerError(
            "control socket path \(path) is too long (\(path.utf8.count) bytes; Unix sockets take at most 107): "
                + "set a shorter control path")
    }

    static func directory(_ directory: String, _ reason: String) -> ControlServerError {
        ControlServerError(
            "cannot create the control socket's directory \(directory) (\(reason)): "
                + "create it with mode 0700 for the agent's user, or set another control path")
    }

    static func listen(_ path: String, _ reason: String) -> ControlServerError {
        ControlServerError("cannot listen on the control socket \(path) (\(reason))")
    }

    static func restrict(_ path: String, _ reason: String) -> ControlServerError {
        ControlServerError("cannot set mode 0600 on the control socket \(path) (\(reason))")
    }
}

import NIOCore
import Synchronization

/// The TCP connections the transport has open, so that `close()` can close them and
/// inbound connections stay under their limit.
final class ConnectionRegistry: Sendable {
    enum Admission: Equatable {
        case admitted
        /// `maxInbound` connections are open already.
        case full
        /// The transport is closing.
        case closed
    }

    private struct State {
        var closed = false
        var inbound: [ObjectIdentifier: any Channel] = [:]
        var outbound: [ObjectIdentifier: any Channel] = [:]
    }

    let maxInbound: Int
    private let state = Mutex(State())

    init(maxInbound: Int) {
        self.maxInbound = maxInbound
    }

    /// Counts an accepted connection in, if there is room.
    func admitInbound(_ channel: any Channel) -> Admission {
        self.state.withLock { state in
            guard !state.closed else { return .closed }
            guard state.inbound.count < self.maxInbound else { return .full }
            state.inbound[ObjectIdentifier(channel)] = channel
            return .admitted
        }
    }

    /// Tracks an outbound connection. `false` if the transport is closing: close it.
    func registerOutbound(_ channel: any Channel) -> Bool {
        self.state.withLock { state in
            guard !state.closed else { return false }
            state.outbound[ObjectIdentifier(channel)] = channel
            return true
        }
    }

    func remove(_ channel: any Channel) {
        self.state.withLock { state in
            state.inbound[ObjectIdentifier(channel)] = nil
            state.outbound[ObjectIdentifier(channel)] = nil
        }
    }

    var isClosed: Bool {
        self.state.withLock { $0.closed }
    }

    /// Refuses new connections from now on.
    /// - Returns: the connections open now, or `nil` if it was closed before.
    func close() -> [any Channel]? {
        self.state.withLock { state in
            guard !state.closed else { return nil }
            state.closed = true
            return Array(state.inbound.values) + Array(state.outbound.values)
        }
    }
}

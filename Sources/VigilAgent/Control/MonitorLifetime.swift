import NIOCore
import Synchronization

/// Closes the monitor's connection once its consumer stops, whether the consumer stops
/// before the connection is established or after.
///
/// `AsyncThrowingStream`'s termination handler runs at most once and is not run again
/// for a handler set after termination, so the two events meet here.
final class MonitorLifetime: Sendable {
    private enum State {
        case connecting
        case connected(any Channel)
        case ended
    }

    private let state = Mutex<State>(.connecting)

    /// The connection is up; closes it at once if the consumer already stopped.
    func attach(_ channel: any Channel) {
        let endedAlready = self.state.withLock { state -> Bool in
            if case .ended = state { return true }
            state = .connected(channel)
            return false
        }
        if endedAlready { channel.close(promise: nil) }
    }

    /// The consumer stopped, or the stream ended: closes the connection if there is one.
    func end() {
        let channel = self.state.withLock { state -> (any Channel)? in
            defer { state = .ended }
            if case .connected(let channel) = state { return channel }
            return nil
        }
        channel?.close(promise: nil)
    }
}

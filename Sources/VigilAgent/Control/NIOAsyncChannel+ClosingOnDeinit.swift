import NIOCore

extension NIOAsyncChannel {
    /// Wraps `channel` like `init(wrappingChannelSynchronously:)`, except that a wrapper
    /// dropped before `executeThenClose` ran closes its channel instead of trapping.
    ///
    /// That happens on every busy server that stops: connections accepted but still
    /// buffered in the listener's stream when its loop is cancelled are never handed
    /// out, and on the client side when the caller gives up while the connect
    /// completes. The non-deprecated initializer traps then ("Deinited NIOAsyncWriter
    /// without calling finish()"), taking the whole agent down at shutdown; an agent
    /// must not crash for an operator's Ctrl-C racing a connection. The deprecated
    /// initializer is the one NIO offers with deinit-based teardown; this is the one
    /// place it is used.
    static func closingOnDeinit(_ channel: any Channel) throws -> NIOAsyncChannel {
        try NIOAsyncChannel(synchronouslyWrapping: channel)
    }
}

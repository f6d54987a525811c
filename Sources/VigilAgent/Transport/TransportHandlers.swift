import NIOCore
import VigilCore

// The channel handlers: thin. They unwrap buffers and hand them to `InboundGate`,
// which opens, counts and delivers.

/// Reads datagrams on the gossip UDP socket.
final class DatagramHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    private let gate: InboundGate
    /// Source addresses as `Address`es: peers send again and again from the same
    /// address, and formatting its IP as text for every datagram was measurable.
    private var sources: [SocketAddress: Address] = [:]
    /// Distinct sources remembered before starting over (a cache, not a member list).
    static let sourceCacheSize = 4_096

    init(gate: InboundGate) {
        self.gate = gate
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let datagram = Self.unwrapInboundIn(data)
        guard let source = self.address(of: datagram.remoteAddress) else { return }
        self.gate.receiveDatagram(datagram.data, from: source)
    }

    private func address(of socketAddress: SocketAddress) -> Address? {
        if let known = self.sources[socketAddress] { return known }
        guard let address = Address(socketAddress) else { return nil }
        if self.sources.count >= Self.sourceCacheSize { self.sources.removeAll(keepingCapacity: true) }
        self.sources[socketAddress] = address
        return address
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // A UDP socket's errors (ICMP unreachable reported on a later read, a full
        // buffer) concern one datagram, not the socket: keep reading.
    }
}

/// Reads the one frame an inbound stream connection carries, then closes it.
final class StreamFrameHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let gate: InboundGate
    /// A frame was read or a drop counted: nothing more from this connection.
    private var done = false

    init(gate: InboundGate) {
        self.gate = gate
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.done else { return }
        self.done = true
        let peer = context.remoteAddress.flatMap(Address.init)
        self.gate.receiveFrame(Self.unwrapInboundIn(data), peer: peer)
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if !self.done {
            self.done = true
            let peer = context.remoteAddress.flatMap(Address.init)
            switch error {
            case is StreamFrameDecoder.FrameTooLarge:
                self.gate.dropFrame(.oversize, peer: peer, bytes: StreamFrameDecoder.prefixBytes)
            case let error as StreamFrameDecoder.FrameCutShort:
                self.gate.dropFrame(.malformed, peer: peer, bytes: error.bytes)
            default:
                // Connection reset and the like: nothing was delivered, nothing to count.
                break
            }
        }
        context.close(promise: nil)
    }
}

extension Address {
    /// The IP address and port of a socket address; `nil` for a Unix socket.
    init?(_ socketAddress: SocketAddress) {
        guard let host = socketAddress.ipAddress, let port = socketAddress.port,
            let port = UInt16(exactly: port)
        else { return nil }
        self.init(host: host, port: port)
    }
}

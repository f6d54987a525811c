import Logging
import NIOCore
import NIOPosix
import Synchronization
import VigilCore
import VigilCrypto

/// Sealed gossip on the network: UDP datagrams for probes and gossip, TCP frames for
/// sync, both on one host and port.
///
/// Inbound datagrams and frames are opened (``EnvelopeSealer``), and what passes is
/// delivered on ``events``; everything else is dropped and counted (``stats``).
/// Outbound, ``send(_:to:)`` fires one datagram and ``stream(_:to:)`` writes one
/// frame over a fresh connection. Neither throws: the network loses packets anyway,
/// and SWIM is built for that; failures are counted and logged at debug level.
///
/// A TCP connection carries one frame, a 4-byte big-endian length followed by one
/// sealed envelope, and is then closed by both sides.
///
/// The transport runs on NIO's event loops with no tasks of its own: reads arrive
/// through channel handlers, and ``close()`` closes every socket and ends ``events``.
public final class GossipTransport: Sendable {
    /// The address bound, with the actual port when port 0 was asked for.
    public let localAddress: Address
    /// The address sealed into every envelope as this node's.
    public let advertisedAddress: Address
    /// Packets that opened, in arrival order. One consumer; ends on ``close()``.
    public let events: AsyncStream<TransportEvent>

    let settings: TransportSettings
    let sealer: EnvelopeSealer
    let counters: TransportCounters

    private let group: any EventLoopGroup
    private let logger: Logger
    private let gate: InboundGate
    private let connections: ConnectionRegistry
    private let datagramChannel: any Channel
    private let serverChannel: any Channel
    /// Datagrams sealed and waiting for the event loop (see ``write(_:to:address:)``).
    private let outbox = Mutex(Outbox())
    /// Peers' addresses as socket addresses, so an IP literal is parsed once, not per
    /// datagram.
    private let targets = Mutex([Address: SocketAddress]())

    /// Binds UDP and TCP on `settings.bind` and starts reading.
    ///
    /// - Parameters:
    ///   - settings: addresses and limits.
    ///   - keyring: the cluster keyring; change it later with ``updateKeyring(_:)``.
    ///   - logger: for debug lines about dropped packets and failed sends.
    ///   - group: the event loops to run on.
    /// - Throws: ``TransportError`` if the advertised host is too long or a socket
    ///   cannot be bound.
    public convenience init(
        settings: TransportSettings,
        keyring: Keyring,
        logger: Logger,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws(TransportError) {
        try await self.init(
            settings: settings, keyring: keyring, logger: logger, group: group,
            clock: EnvelopeSealer.wallClockMilliseconds)
    }

    /// ``init(settings:keyring:logger:group:)`` with an injected wall clock (ms since
    /// the Unix epoch), for tests of the freshness window.
    init(
        settings: TransportSettings,
        keyring: Keyring,
        logger: Logger,
        group: any EventLoopGroup,
        clock: @escaping @Sendable () -> UInt64
    ) async throws(TransportError) {
        if let advertise = settings.advertise, let problem = EnvelopeSealer.check(advertised: advertise) {
            throw TransportError("config key `advertise`: \(problem)")
        }
        let sealer = EnvelopeSealer(
            keyring: keyring, freshnessWindow: settings.freshnessWindow,
            replayCapacity: settings.replayCacheCapacity, clock: clock)
        let counters = TransportCounters()
        let (events, continuation) = AsyncStream.makeStream(
            of: TransportEvent.self, bufferingPolicy: .bufferingNewest(max(1, settings.eventBufferSize)))
        let gate = InboundGate(
            sealer: sealer, counters: counters, continuation: continuation,
            maxDatagramBytes: settings.maxDatagramBytes, maxFrameBytes: settings.maxFrameBytes, logger: logger)
        let connections = ConnectionRegistry(maxInbound: settings.maxInboundConnections)

        let (datagramChannel, serverChannel) = try await Self.bind(
            settings: settings, group: group, gate: gate, connections: connections, logger: logger)
        let port = UInt16(datagramChannel.localAddress?.port ?? Int(settings.bind.port))
        let local = Address(host: settings.bind.host, port: port)
        var advertised = settings.advertise ?? local
        if advertised.port == 0 {
            advertised.port = port
        }
        if let problem = EnvelopeSealer.check(advertised: advertised) {
            try? await datagramChannel.close()
            try? await serverChannel.close()
            throw TransportError("config key `bind`: \(problem)")
        }

        self.localAddress = local
        self.advertisedAddress = advertised
        self.events = events
        self.settings = settings
        self.sealer = sealer
        self.counters = counters
        self.group = group
        self.logger = logger
        self.gate = gate
        self.connections = connections
        self.datagramChannel = datagramChannel
        self.serverChannel = serverChannel
        logger.debug(
            "Gossip transport listening",
            metadata: ["transport.local": "\(local)", "transport.advertised": "\(advertised)"])
    }

    /// The event loop the datagram socket reads and writes on: run the engine's actor
    /// there (``AgentRuntime``'s `eventLoop`) and a packet costs no thread hop.
    public var eventLoop: any EventLoop {
        self.datagramChannel.eventLoop
    }

    /// Hands every packet that opens from now on to `receiver`, called on the event
    /// loop that read it, instead of yielding it to ``events`` (which then stays
    /// empty): no queue and no task to resume per packet. The agent's runtime takes
    /// its packets this way (``AgentRuntime/deliver(_:)``).
    public func deliver(to receiver: @escaping @Sendable (TransportEvent) -> Void) {
        self.gate.deliver(to: receiver)
    }

    /// The counters now.
    public var stats: TransportStats {
        var stats = self.counters.snapshot
        stats.replayCacheEvictions = self.sealer.replayEvictedEarly
        return stats
    }

    /// The keyring in use now.
    public var keyring: Keyring {
        self.sealer.keyring
    }

    /// Changes the keyring for every packet sealed or opened from now on, e.g.
    /// `try transport.updateKeyring { try $0.use(key) }`.
    public func updateKeyring<Result: Sendable, Failure: Error>(
        _ body: (inout Keyring) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try self.sealer.updateKeyring(body)
    }

    // MARK: Outbound

    /// Seals `packet` and sends it as one datagram to `address`. Returns at once;
    /// a failure is counted (`send_failures`) and logged at debug level.
    ///
    /// A host name (not an IP literal) is resolved on NIO's thread pool, never on the
    /// caller's thread or an event loop.
    public func send(_ packet: Packet, to address: Address) {
        guard !self.connections.isClosed else { return }
        let sealed = self.sealer.seal(
            packet, advertised: self.advertisedAddress, to: address, allocator: self.datagramChannel.allocator)
        if let target = self.literalTarget(address) {
            self.write(sealed, to: target, address: address)
            return
        }
        NIOThreadPool.singleton.runIfActive(eventLoop: self.datagramChannel.eventLoop) {
            try SocketAddress.makeAddressResolvingHost(address.host, port: Int(address.port))
        }.whenComplete { result in
            switch result {
            case .success(let target):
                self.write(sealed, to: target, address: address)
            case .failure(let error):
                self.sendFailed(to: address, kind: "datagram", error: error)
            }
        }
    }

    /// Seals `packet` and writes it as one frame over a new TCP connection to
    /// `address`, then closes the connection. Returns when the frame is written or
    /// the attempt failed (at most `connectTimeout` plus `streamWriteTimeout`);
    /// failures are counted (`stream_connect_failures`, `send_failures`) and logged
    /// at debug level, never thrown.
    public func stream(_ packet: Packet, to address: Address) async {
        guard !self.connections.isClosed else { return }
        let sealed = self.sealer.seal(packet, advertised: self.advertisedAddress, to: address)
        guard sealed.count <= self.settings.maxFrameBytes else {
            return self.sendFailed(to: address, kind: "stream", error: TransportError("frame exceeds maxFrameBytes"))
        }
        let channel: any Channel
        do {
            let target = try await self.resolve(address)
            channel = try await ClientBootstrap(group: self.group)
                .connectTimeout(TimeAmount(self.settings.connectTimeout))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connect(to: target)
                .get()
        } catch {
            self.counters.update { $0.streamConnectFailures += 1 }
            self.logger.debug(
                "Stream connection failed",
                metadata: ["peer.address": "\(address)", "error": "\(error)"])
            return
        }
        guard self.connections.registerOutbound(channel) else {
            // Closed while connecting.
            try? await channel.close()
            return
        }
        // A peer that accepts but stops reading would otherwise hold the write forever.
        let deadline = channel.eventLoop.scheduleTask(in: TimeAmount(self.settings.streamWriteTimeout)) {
            channel.close(promise: nil)
        }
        let frame = StreamFrameDecoder.frame(sealed, allocator: channel.allocator)
        let frameBytes = frame.readableBytes
        do {
            try await channel.writeAndFlush(frame).get()
            self.counters.update {
                $0.packetsOut += 1
                $0.bytesOut += UInt64(frameBytes)
            }
        } catch {
            self.sendFailed(to: address, kind: "stream", error: error)
        }
        deadline.cancel()
        // The kernel still delivers what is queued; the receiver closes its side
        // after reading the frame.
        try? await channel.close()
        self.connections.remove(channel)
    }

    /// `address` as a socket address if its host is an IP literal, remembered.
    private func literalTarget(_ address: Address) -> SocketAddress? {
        if let known = self.targets.withLock({ $0[address] }) { return known }
        guard let target = try? SocketAddress(ipAddress: address.host, port: Int(address.port)) else { return nil }
        self.targets.withLock { targets in
            // A cache of peers, not a member list: start over rather than grow without bound.
            if targets.count >= Self.targetCacheSize { targets.removeAll(keepingCapacity: true) }
            targets[address] = target
        }
        return target
    }

    static let targetCacheSize = 16_384

    /// Queues one datagram for the event loop. The first datagram queued schedules
    /// one task there that writes every datagram queued by then and flushes once: a
    /// burst of answers costs one wake-up of the loop and one flush (which NIO sends
    /// with one `sendmmsg`), not one each.
    private func write(_ sealed: ByteBuffer, to target: SocketAddress, address: Address) {
        let datagram = AddressedEnvelope(remoteAddress: target, data: sealed)
        let schedule = self.outbox.withLock { outbox in
            outbox.datagrams.append((datagram, address))
            defer { outbox.scheduled = true }
            return !outbox.scheduled
        }
        guard schedule else { return }
        self.datagramChannel.eventLoop.execute { self.writeOutbox() }
    }

    /// On the event loop: writes what is queued, then flushes.
    private func writeOutbox() {
        let batch = self.outbox.withLock { outbox in
            outbox.scheduled = false
            var taken: [(AddressedEnvelope<ByteBuffer>, Address)] = []
            swap(&taken, &outbox.datagrams)
            return taken
        }
        let loop = self.datagramChannel.eventLoop
        for (datagram, address) in batch {
            let count = UInt64(datagram.data.readableBytes)
            let promise = loop.makePromise(of: Void.self)
            promise.futureResult.whenComplete { result in
                switch result {
                case .success:
                    self.counters.update {
                        $0.packetsOut += 1
                        $0.bytesOut += count
                    }
                case .failure(let error):
                    self.sendFailed(to: address, kind: "datagram", error: error)
                }
            }
            self.datagramChannel.write(datagram, promise: promise)
        }
        self.datagramChannel.flush()
    }

    private func sendFailed(to address: Address, kind: String, error: any Error) {
        self.counters.update { $0.sendFailures += 1 }
        self.logger.debug(
            "Send failed",
            metadata: ["peer.address": "\(address)", "transport.kind": "\(kind)", "error": "\(error)"])
    }

    /// `address` as a socket address: IP literals directly, names through
    /// getaddrinfo on NIO's thread pool (it blocks).
    private func resolve(_ address: Address) async throws -> SocketAddress {
        try await Self.resolve(address)
    }

    static func resolve(_ address: Address) async throws -> SocketAddress {
        if let literal = try? SocketAddress(ipAddress: address.host, port: Int(address.port)) {
            return literal
        }
        return try await NIOThreadPool.singleton.runIfActive {
            try SocketAddress.makeAddressResolvingHost(address.host, port: Int(address.port))
        }
    }

    // MARK: Closing

    /// Closes both sockets and every open connection, and ends ``events``. Calls to
    /// ``send(_:to:)`` and ``stream(_:to:)`` after it do nothing. Idempotent.
    public func close() async {
        guard let open = self.connections.close() else { return }
        for channel in [self.datagramChannel, self.serverChannel] + open {
            // Already closed by the peer or a timeout: nothing to do.
            try? await channel.close()
        }
        self.gate.finish()
        self.logger.debug("Gossip transport closed", metadata: ["transport.local": "\(self.localAddress)"])
    }
}

// MARK: - Binding

extension GossipTransport {
    /// Binds UDP, then TCP on the port UDP got. With port 0, another process may hold
    /// that port for TCP; then both are tried again on a fresh port.
    private static func bind(
        settings: TransportSettings,
        group: any EventLoopGroup,
        gate: InboundGate,
        connections: ConnectionRegistry,
        logger: Logger
    ) async throws(TransportError) -> (datagram: any Channel, server: any Channel) {
        let address: SocketAddress
        do {
            address = try await Self.resolve(settings.bind)
        } catch {
            throw TransportError("config key `bind`: cannot resolve \(settings.bind.host): \(error)")
        }
        let attempts = settings.bind.port == 0 ? 8 : 1
        var lastError: (any Error)?
        for _ in 0..<attempts {
            let datagram: any Channel
            do {
                datagram = try await Self.bindDatagram(to: address, settings: settings, group: group, gate: gate)
            } catch {
                throw TransportError("cannot bind UDP \(settings.bind): \(error); is another agent running?")
            }
            var streamAddress = address
            streamAddress.port = datagram.localAddress?.port ?? address.port ?? 0
            do {
                let server = try await Self.bindServer(
                    to: streamAddress, settings: settings, group: group, gate: gate, connections: connections,
                    logger: logger)
                return (datagram, server)
            } catch {
                lastError = error
                try? await datagram.close()
            }
        }
        throw TransportError(
            "cannot bind TCP \(settings.bind): \(lastError.map { "\($0)" } ?? "unknown error"); "
                + "is another agent running?")
    }

    private static func bindDatagram(
        to address: SocketAddress, settings: TransportSettings, group: any EventLoopGroup, gate: InboundGate
    ) async throws -> any Channel {
        try await DatagramBootstrap(group: group)
            // Every datagram read whole: NIO's default buffer is 2 KiB. One byte more
            // than the limit, so that a longer datagram (cut to the buffer by the
            // kernel) is still seen to be too long, and counted as oversize.
            //
            // Read with `recvmmsg`, `datagramsPerRead` at a time, each into its own
            // slice of one buffer that is reused (its slices are released before the
            // next read): one system call per burst rather than per datagram.
            .channelOption(
                .recvAllocator,
                value: FixedSizeRecvByteBufferAllocator(
                    capacity: (settings.maxDatagramBytes + 1) * Self.datagramsPerRead))
            .channelOption(.datagramVectorReadMessageCount, value: Self.datagramsPerRead)
            .channelOption(.maxMessagesPerRead, value: 16)
            .channelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(settings.receiveBufferBytes))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(DatagramHandler(gate: gate))
                }
            }
            .bind(to: address)
            .get()
    }

    /// Datagrams read by one `recvmmsg`. 16 slices of 64 KiB: a 1 MiB receive buffer.
    static let datagramsPerRead = 16

    private static func bindServer(
        to address: SocketAddress,
        settings: TransportSettings,
        group: any EventLoopGroup,
        gate: InboundGate,
        connections: ConnectionRegistry,
        logger: Logger
    ) async throws -> any Channel {
        let readTimeout = TimeAmount(settings.streamReadTimeout)
        let maxFrameBytes = settings.maxFrameBytes
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                switch connections.admitInbound(channel) {
                case .admitted:
                    break
                case .full:
                    gate.counters.update { $0.connectionsRefused += 1 }
                    logger.debug(
                        "Refused stream connection: too many open",
                        metadata: [
                            "peer.address":
                                "\(channel.remoteAddress.flatMap(Address.init).map(\.description) ?? "unknown")"
                        ])
                    return channel.close()
                case .closed:
                    return channel.close()
                }
                // One deadline for the whole frame, not an idle timer: a peer
                // trickling a byte at a time must not hold a connection slot forever.
                let deadline = channel.eventLoop.scheduleTask(in: readTimeout) {
                    gate.counters.update { $0.streamTimeouts += 1 }
                    channel.close(promise: nil)
                }
                channel.closeFuture.whenComplete { _ in
                    deadline.cancel()
                    connections.remove(channel)
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(
                            StreamFrameDecoder(maxFrameBytes: maxFrameBytes),
                            maximumBufferSize: maxFrameBytes + StreamFrameDecoder.prefixBytes),
                        StreamFrameHandler(gate: gate))
                }
            }
            .bind(to: address)
            .get()
    }
}

/// Datagrams sealed off the event loop, waiting to be written there.
struct Outbox {
    var datagrams: [(AddressedEnvelope<ByteBuffer>, Address)] = []
    /// A task to write them is scheduled on the loop.
    var scheduled = false
}

/// Why the transport could not start. The description names the setting and what
/// to do.
public struct TransportError: Error, Hashable, CustomStringConvertible {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}

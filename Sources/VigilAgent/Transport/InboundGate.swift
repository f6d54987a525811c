import Logging
import NIOCore
import Synchronization
import VigilCore

/// Where inbound datagrams and frames go once a channel handler has them: opened,
/// counted, and yielded to the agent's event stream, or dropped and counted.
///
/// Free of sockets, so tests can feed it bytes directly; the channel handlers
/// (TransportHandlers.swift) only unwrap buffers and call in here.
final class InboundGate: Sendable {
    let sealer: EnvelopeSealer
    let counters: TransportCounters
    let maxDatagramBytes: Int
    let maxFrameBytes: Int
    private let continuation: AsyncStream<TransportEvent>.Continuation
    private let logger: Logger
    private let warnings: DropWarnings
    /// Where events go instead of the stream once set (``deliver(to:)``).
    private let receiver = Mutex<Receiver?>(nil)

    /// The closure in a struct: a bare closure in the `Mutex` is reabstracted on every
    /// `withLock`, which wraps it in two more thunks each time (Swift 6.3): after a
    /// million packets, a call a million thunks deep.
    private struct Receiver: Sendable {
        let receive: @Sendable (TransportEvent) -> Void
    }

    init(
        sealer: EnvelopeSealer,
        counters: TransportCounters,
        continuation: AsyncStream<TransportEvent>.Continuation,
        maxDatagramBytes: Int,
        maxFrameBytes: Int,
        logger: Logger
    ) {
        self.sealer = sealer
        self.counters = counters
        self.continuation = continuation
        self.maxDatagramBytes = maxDatagramBytes
        self.maxFrameBytes = maxFrameBytes
        self.logger = logger
        self.warnings = DropWarnings(logger: logger)
    }

    /// One datagram from `source`, its UDP source address.
    func receiveDatagram(_ buffer: ByteBuffer, from source: Address) {
        let bytes = UInt64(buffer.readableBytes)
        // Refuse before copying anything out of the buffer.
        guard buffer.readableBytes <= self.maxDatagramBytes else {
            self.counters.update { $0.bytesIn += bytes }
            return self.drop(EnvelopeError.oversize, peer: source, reliable: false)
        }
        do {
            let (packet, _) = try self.sealer.open(buffer, maxBytes: self.maxDatagramBytes, source: source)
            self.deliver(.packet(packet, from: source, reliable: false), bytes: bytes)
        } catch {
            self.counters.update { $0.bytesIn += bytes }
            self.drop(error, peer: source, reliable: false)
        }
    }

    /// One stream frame (without its length prefix) from a TCP peer at `peer`, whose
    /// port is ephemeral: the event names the advertised address inside the seal.
    func receiveFrame(_ buffer: ByteBuffer, peer: Address?) {
        self.counters.update { $0.bytesIn += UInt64(Self.framePrefixBytes + buffer.readableBytes) }
        do {
            let (packet, advertised) = try self.sealer.open(buffer, maxBytes: self.maxFrameBytes)
            self.deliver(.packet(packet, from: advertised, reliable: true), bytes: 0)
        } catch {
            self.drop(error, peer: peer, reliable: true)
        }
    }

    /// A frame refused before it could be opened: announced too large, or cut short.
    func dropFrame(_ reason: TransportDropReason, peer: Address?, bytes: Int) {
        self.counters.update {
            $0.bytesIn += UInt64(bytes)
            $0.dropped[reason, default: 0] += 1
        }
        self.logDrop(reason, detail: nil, peer: peer, reliable: true)
    }

    /// Hands every event from now on to `receiver`, on the thread that read it,
    /// instead of yielding it to the stream.
    func deliver(to receiver: @escaping @Sendable (TransportEvent) -> Void) {
        self.receiver.withLock { $0 = Receiver(receive: receiver) }
    }

    /// Ends the event stream: the transport is closed.
    func finish() {
        self.continuation.finish()
    }

    private static let framePrefixBytes = StreamFrameDecoder.prefixBytes

    /// Hands `event` on, counting it and `bytes` more received (one lock per packet).
    private func deliver(_ event: TransportEvent, bytes: UInt64) {
        // Counted before the consumer can see it, so a count read after receiving an
        // event includes it.
        self.counters.update {
            $0.packetsIn += 1
            $0.bytesIn += bytes
        }
        if let receiver = self.receiver.withLock({ $0 }) {
            return receiver.receive(event)
        }
        if case .dropped = self.continuation.yield(event) {
            // `bufferingNewest`: the oldest buffered event made room for this one.
            self.counters.drop(.bufferFull)
        }
    }

    private func drop(_ error: EnvelopeError, peer: Address?, reliable: Bool) {
        self.counters.drop(error.reason)
        self.logDrop(error.reason, detail: error.description, peer: peer, reliable: reliable)
    }

    private func logDrop(_ reason: TransportDropReason, detail: String?, peer: Address?, reliable: Bool) {
        self.warnings.note(reason, peer: peer?.description)
        self.logger.debug(
            "Dropped inbound packet",
            metadata: [
                "peer.address": "\(peer.map(\.description) ?? "unknown")",
                "transport.kind": "\(reliable ? "stream" : "datagram")",
                "drop.reason": "\(reason.rawValue)",
                "drop.detail": "\(detail ?? reason.rawValue)",
            ])
    }
}

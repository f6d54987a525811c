import NIOCore
import NIOHTTP1

/// The client side of `GET /v1/monitor`: sends the request once connected, splits the
/// chunked answer into lines and yields one `EventView` per line.
///
/// Parsing stays in this channel handler; its only output is the stream's continuation.
final class EventStreamHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    /// Longest event line accepted.
    static let maxLineBytes = 1 << 20
    /// Most of an error answer kept for its message.
    static let maxErrorBytes = 64 * 1024

    private enum State {
        case connecting
        case awaitingHead
        /// Holds the bytes of a line not yet complete.
        case streaming(ByteBuffer)
        case refused(HTTPResponseStatus, ByteBuffer)
        case finished
    }

    private var state: State = .connecting
    private let path: String
    private let request: HTTPRequestHead
    private let continuation: AsyncThrowingStream<EventView, Error>.Continuation

    init(path: String, request: HTTPRequestHead, continuation: AsyncThrowingStream<EventView, Error>.Continuation) {
        self.path = path
        self.request = request
        self.continuation = continuation
    }

    func channelActive(context: ChannelHandlerContext) {
        self.state = .awaitingHead
        context.write(self.wrapOutboundOut(.head(self.request)), promise: nil)
        context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (self.state, self.unwrapInboundIn(data)) {
        case (.awaitingHead, .head(let head)):
            self.state = head.status == .ok ? .streaming(ByteBuffer()) : .refused(head.status, ByteBuffer())

        case (.streaming(var pending), .body(var chunk)):
            self.state = .finished  // keeps `pending` uniquely referenced while it is edited
            pending.writeBuffer(&chunk)
            while let newline = pending.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
                let line = pending.readSlice(length: newline - pending.readerIndex)!
                pending.moveReaderIndex(forwardBy: 1)
                guard line.readableBytes > 0 else { continue }
                let event: EventView
                do {
                    event = try ControlJSON.decode(EventView.self, from: line)
                } catch {
                    return self.fail(
                        context, ControlError.badResponse(path: self.path, detail: "an event line is not an event"))
                }
                if case .terminated = self.continuation.yield(event) {
                    // The consumer is gone; its termination handler closes the channel too.
                    return context.close(promise: nil)
                }
            }
            guard pending.readableBytes <= Self.maxLineBytes else {
                return self.fail(context, ControlError.badResponse(path: self.path, detail: "an event line over 1 MiB"))
            }
            pending.discardReadBytes()
            self.state = .streaming(pending)

        case (.streaming, .end):
            // The agent ended the stream: it is stopping.
            self.state = .finished
            self.continuation.finish()
            context.close(promise: nil)

        case (.refused(let status, var body), .body(var chunk)):
            if body.readableBytes < Self.maxErrorBytes { body.writeBuffer(&chunk) }
            self.state = .refused(status, body)

        case (.refused(let status, let body), .end):
            let message =
                (try? ControlJSON.decode(ControlErrorBody.self, from: body).error)
                ?? (body.readableBytes > 0 ? String(buffer: body) : status.reasonPhrase)
            self.fail(context, ControlError.rejected(status: Int(status.code), message: message))

        case (.finished, _):
            break

        case (.connecting, _), (.awaitingHead, _), (.streaming, .head), (.refused, .head):
            self.fail(context, ControlError.badResponse(path: self.path, detail: "HTTP parts out of order"))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .finished = self.state {} else {
            self.state = .finished
            self.continuation.finish(throwing: ControlError.connectionLost(path: self.path))
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.fail(context, ControlError.reading(from: self.path, error))
    }

    private func fail(_ context: ChannelHandlerContext, _ error: ControlError) {
        if case .finished = self.state {} else {
            self.state = .finished
            self.continuation.finish(throwing: error)
        }
        context.close(promise: nil)
    }
}

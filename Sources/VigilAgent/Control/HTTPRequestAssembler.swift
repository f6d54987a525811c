import NIOCore
import NIOHTTP1

/// Collects the parts of one HTTP request (head, body, end) into a whole request,
/// refusing bodies over a limit before they are buffered.
///
/// A state machine in the style of swift-nio's: one `mutating func` per input, returning
/// what the connection should do.
struct HTTPRequestAssembler {
    /// A complete request.
    struct Request: Equatable, Sendable {
        var head: HTTPRequestHead
        var body: ByteBuffer
    }

    /// What the connection does after a part.
    enum Action: Equatable {
        /// Wait for more parts.
        case wait
        /// Answer this request.
        case answer(Request)
        /// The body is, or is announced to be, over the limit: answer 413 and close.
        case refuseTooLarge(HTTPRequestHead)
        /// A part arrived that cannot follow the previous ones: close.
        case close
    }

    private enum State {
        case idle
        case receiving(HTTPRequestHead, ByteBuffer)
        /// After a refusal or a violation nothing else is read from the connection.
        case closed
    }

    private var state: State = .idle
    /// Largest body accepted, in bytes.
    let maxBodyBytes: Int

    init(maxBodyBytes: Int) {
        self.maxBodyBytes = maxBodyBytes
    }

    mutating func receive(_ part: HTTPServerRequestPart) -> Action {
        switch (self.state, part) {
        case (.idle, .head(let head)):
            // Refuse an announced oversized body at once rather than reading it.
            if let announced = head.headers.first(name: "content-length").flatMap(Int.init),
                announced > self.maxBodyBytes
            {
                self.state = .closed
                return .refuseTooLarge(head)
            }
            self.state = .receiving(head, ByteBuffer())
            return .wait

        case (.receiving(let head, var body), .body(var chunk)):
            guard body.readableBytes + chunk.readableBytes <= self.maxBodyBytes else {
                self.state = .closed
                return .refuseTooLarge(head)
            }
            body.writeBuffer(&chunk)
            self.state = .receiving(head, body)
            return .wait

        case (.receiving(let head, let body), .end):
            self.state = .idle
            return .answer(Request(head: head, body: body))

        case (.closed, _):
            return .close

        case (.idle, .body), (.idle, .end), (.receiving, .head):
            // NIO's decoder never produces these; treat them as a broken connection.
            self.state = .closed
            return .close
        }
    }
}

extension HTTPRequestAssembler {
    /// Reads one connection's requests in order and hands each whole request to
    /// `answer` (which returns whether the connection stays open); a body over
    /// `maxBodyBytes` goes to `refuse` (which answers 413), and the connection ends.
    /// Shared by the control API and the metrics endpoint.
    static func serve(
        _ inbound: NIOAsyncChannelInboundStream<HTTPServerRequestPart>, maxBodyBytes: Int,
        refuse: (HTTPRequestHead) async throws -> Void, answer: (Request) async throws -> Bool
    ) async throws {
        var assembler = HTTPRequestAssembler(maxBodyBytes: maxBodyBytes)
        for try await part in inbound {
            switch assembler.receive(part) {
            case .wait:
                continue
            case .close:
                return
            case .refuseTooLarge(let head):
                try await refuse(head)
                return
            case .answer(let request):
                guard try await answer(request) else { return }
            }
        }
    }
}

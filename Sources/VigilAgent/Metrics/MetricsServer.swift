import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import VigilCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The Prometheus scrape endpoint: plain HTTP/1.1 on the `--metrics` address, only
/// when one is configured.
///
/// - `GET /metrics` (also `HEAD`) → 200, the text exposition format
///   (`text/plain; version=0.0.4`), rendered afresh for every request;
/// - another method on `/metrics` → 405; any other path → 404; a request with a
///   body over 4 KiB → 413 and the connection closes.
///
/// The socket is bound when the server is made (so that ``localAddress`` tells the
/// port when the address asked for port 0) and served by ``run()``, a `Service` that
/// ends on cancellation or graceful shutdown.
public final class MetricsServer: Service, Sendable {
    /// The Prometheus text format's content type.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"
    /// Scrapes have no body; anything bigger than this is not a scrape.
    static let maxRequestBodyBytes = 4096

    /// Where the endpoint listens (with the real port when port 0 was asked for).
    public let localAddress: Address
    private let listener: NIOAsyncChannel<Connection, Never>
    private let render: @Sendable () -> [UInt8]
    private let logger: Logger

    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>
    typealias Writer = NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>

    /// Binds `address` over TCP.
    /// - Parameters:
    ///   - address: HOST:PORT to listen on; port 0 picks a free port.
    ///   - render: the exposition text, e.g. `registry.emitToBuffer()`.
    ///   - logger: where requests (trace) and connection problems (debug) go.
    ///   - eventLoopGroup: the NIO threads to serve on.
    /// - Throws: ``MetricsServerError`` naming the address if it cannot be bound.
    public init(
        bind address: Address, render: @escaping @Sendable () -> [UInt8], logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws {
        self.render = render
        self.logger = logger
        do {
            self.listener = try await ServerBootstrap(group: eventLoopGroup)
                .serverChannelOption(.backlog, value: 64)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .bind(host: address.host, port: Int(address.port)) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                            withPipeliningAssistance: false, withErrorHandling: true)
                        return try Connection.closingOnDeinit(channel)
                    }
                }
        } catch let error as IOError {
            throw MetricsServerError.listen(address, String(cString: strerror(error.errnoCode)))
        } catch {
            throw MetricsServerError.listen(address, "\(error)")
        }
        let port = self.listener.channel.localAddress?.port ?? Int(address.port)
        self.localAddress = Address(host: address.host, port: UInt16(port))
    }

    /// Serves until cancelled or until graceful shutdown, then closes the socket.
    public func run() async throws {
        try await cancelWhenGracefulShutdown {
            try await self.serve()
        }
    }

    /// Closes the socket of a server that will not be run.
    public func close() async {
        try? await self.listener.channel.close()
    }

    private func serve() async throws {
        self.logger.info("metrics.listening", metadata: ["metrics.address": "\(self.localAddress)"])
        do {
            try await withThrowingDiscardingTaskGroup { group in
                try await self.listener.executeThenClose { connections in
                    for try await connection in connections {
                        group.addTask { await self.handle(connection) }
                    }
                }
            }
        } catch is CancellationError {
            // Cancellation is how the server is asked to stop.
        }
        self.logger.info("metrics.stopped", metadata: ["metrics.address": "\(self.localAddress)"])
    }

    /// Answers the requests of one connection in order; never throws.
    private func handle(_ connection: Connection) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                try await HTTPRequestAssembler.serve(inbound, maxBodyBytes: Self.maxRequestBodyBytes) { head in
                    try await Self.write(
                        .payloadTooLarge, "a scrape has no body\n", head: head, keepAlive: false, to: outbound)
                } answer: { request in
                    let keepAlive = request.head.isKeepAlive
                    try await self.answer(request.head, keepAlive: keepAlive, outbound: outbound)
                    return keepAlive
                }
            }
        } catch {
            self.logger.debug("metrics.connection.failed", metadata: ["error": "\(error)"])
        }
    }

    private func answer(_ head: HTTPRequestHead, keepAlive: Bool, outbound: Writer) async throws {
        self.logger.trace(
            "metrics.request", metadata: ["http.method": "\(head.method.rawValue)", "http.uri": "\(head.uri)"])
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        guard path == "/metrics" else {
            try await Self.write(
                .notFound, "no such path \(path); metrics are at GET /metrics\n", head: head, keepAlive: keepAlive,
                to: outbound)
            return
        }
        switch head.method {
        case .GET, .HEAD:
            let body = self.render()
            try await Self.write(
                .ok, body, contentType: Self.contentType, head: head, keepAlive: keepAlive,
                omitBody: head.method == .HEAD, to: outbound)
        default:
            try await Self.write(
                .methodNotAllowed, "/metrics takes GET, not \(head.method.rawValue)\n", head: head,
                keepAlive: keepAlive, extra: [("allow", "GET, HEAD")], to: outbound)
        }
    }

    private static func write(
        _ status: HTTPResponseStatus, _ text: String, head: HTTPRequestHead, keepAlive: Bool,
        extra: [(String, String)] = [], to outbound: Writer
    ) async throws {
        try await Self.write(
            status, Array(text.utf8), contentType: "text/plain; charset=utf-8", head: head, keepAlive: keepAlive,
            extra: extra, to: outbound)
    }

    private static func write(
        _ status: HTTPResponseStatus, _ body: [UInt8], contentType: String, head request: HTTPRequestHead,
        keepAlive: Bool, extra: [(String, String)] = [], omitBody: Bool = false, to outbound: Writer
    ) async throws {
        var head = HTTPResponseHead(version: request.version, status: status)
        head.headers.add(name: "content-type", value: contentType)
        head.headers.add(name: "content-length", value: String(body.count))
        if !keepAlive { head.headers.add(name: "connection", value: "close") }
        for (name, value) in extra { head.headers.add(name: name, value: value) }
        var parts: [HTTPServerResponsePart] = [.head(head)]
        if !omitBody { parts.append(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
        parts.append(.end(nil))
        try await outbound.write(contentsOf: parts)
    }
}

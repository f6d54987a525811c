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

/// The agent's control API: HTTP/1.1 and JSON on a Unix socket of mode 0600, never on
/// the network. `vigil members`, `info`, `monitor`, `leave` and `force-leave` use it.
///
/// Routes:
/// - `GET /v1/members` → 200 `{"members":[MemberView...]}`
/// - `GET /v1/info` → 200 `AgentInfo`
/// - `POST /v1/leave` → 202, then `AgentControl.leave()`
/// - `POST /v1/force-leave/{name}` → 200, or 404 `{"error":"..."}`
/// - `GET /v1/monitor` → 200, chunked NDJSON: one `EventView` per line until the client
///   goes away
/// - `GET /v1/keys` → 200 `KeysView` (key ids only)
/// - `GET /v1/fence` → 200 `FenceStatusView`
/// - `POST /v1/fence/approve` with `{"nodes":[...]}` or `{"all":true}`, `POST
///   /v1/fence/confirm/{name}`, `POST /v1/fence/unfence/{name}` → 200
///   `FenceCommandView`, or 409 `{"error":"..."}` when nothing was recorded
/// - `GET /v1/history[?node=NAME]` → 200 `{"history":[HistoryEntryView...]}` (the HA
///   journal, oldest first), 500 if the journal cannot be read
/// - `POST /v1/keys/{install,use,remove}` with `{"key":"BASE64"}` → 200 `KeyChangeView`,
///   400 for a malformed key or body, 409 for a change refused in the cluster's state.
///   The body is never logged, only the key's id.
///
/// Any other path is 404, a known path with another method 405, a body over 64 KiB 413;
/// malformed HTTP gets a 400 and the connection closes. Errors are `{"error":"..."}`.
///
/// A `Service`: `run()` serves until it is cancelled or graceful shutdown begins, then
/// closes every connection and removes the socket file.
public final class ControlServer: Service, Sendable {
    /// Largest request body accepted; only `vigil keys` sends one, of a few dozen bytes.
    public static let maxRequestBodyBytes = 64 * 1024

    /// Path of the Unix socket.
    public let path: String
    private let control: any AgentControl
    private let logger: Logger
    private let eventLoopGroup: any EventLoopGroup

    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>
    typealias Writer = NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>

    /// - Parameters:
    ///   - path: the socket's path (under 108 bytes); its directory is created with mode
    ///     0700 if missing, and a stale socket file there is replaced.
    ///   - control: the running agent.
    ///   - logger: where connection problems are logged (at debug; they never stop the server).
    ///   - eventLoopGroup: the NIO threads to serve on.
    public init(
        path: String, control: any AgentControl, logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.path = path
        self.control = control
        self.logger = logger
        self.eventLoopGroup = eventLoopGroup
    }

    /// Serves until cancelled or until graceful shutdown, then closes and removes the socket.
    /// - Throws: `ControlServerError` if the socket cannot be set up.
    public func run() async throws {
        try await cancelWhenGracefulShutdown {
            try await self.serve(whenListening: {})
        }
    }

    /// Serves until cancelled; `whenListening` runs once the socket accepts connections
    /// with its final mode.
    func serve(whenListening: @Sendable () -> Void) async throws {
        try SocketFile.prepareDirectory(for: self.path)
        try await self.refuseIfInUse()
        let listener: NIOAsyncChannel<Connection, Never>
        do {
            listener = try await ServerBootstrap(group: self.eventLoopGroup)
                .serverChannelOption(.backlog, value: 64)
                .bind(unixDomainSocketPath: self.path, cleanupExistingSocketFile: true) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        // No pipelining assistance: requests on a connection are answered one
                        // after the other anyway, and it would stop reading while the monitor's
                        // answer streams, so that a client going away would go unnoticed.
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                            withPipeliningAssistance: false, withErrorHandling: true)
                        return try Connection.closingOnDeinit(channel)
                    }
                }
        } catch {
            throw self.listenError(error)
        }

        let socket: SocketFile
        do {
            socket = try SocketFile(boundAt: self.path)
            try socket.restrictToOwner()
        } catch {
            try? await listener.channel.close()
            throw error
        }
        defer { socket.removeIfUnchanged() }

        self.logger.info("control.listening", metadata: ["control.path": "\(self.path)"])
        whenListening()
        do {
            try await withThrowingDiscardingTaskGroup { group in
                try await listener.executeThenClose { connections in
                    for try await connection in connections {
                        group.addTask { await self.handle(connection) }
                    }
                }
            }
        } catch is CancellationError {
            // Cancellation is how the server is asked to stop.
        }
        self.logger.info("control.stopped", metadata: ["control.path": "\(self.path)"])
    }

    /// A live agent already answering on the path keeps it; a stale socket file is replaced.
    private func refuseIfInUse() async throws {
        switch SocketFile.kind(self.path) {
        case .missing: return
        case .other: throw ControlServerError.notASocket(self.path)
        case .socket: break
        }
        let probe: any Channel
        do {
            probe = try await ClientBootstrap(group: self.eventLoopGroup)
                .connect(unixDomainSocketPath: self.path).get()
        } catch let error as IOError where error.errnoCode == ECONNREFUSED || error.errnoCode == ENOENT {
            return
        } catch {
            throw self.listenError(error)
        }
        try? await probe.close()
        throw ControlServerError.inUse(self.path)
    }

    private func listenError(_ error: any Error) -> ControlServerError {
        switch error {
        case let error as ControlServerError: return error
        case is UnixDomainSocketPathWrongType: return .notASocket(self.path)
        case let error as SocketAddressError:
            if case .unixDomainSocketPathTooLong = error { return .pathTooLong(self.path) }
            return .listen(self.path, "\(error)")
        case let error as IOError: return .listen(self.path, String(cString: strerror(error.errnoCode)))
        default: return .listen(self.path, "\(error)")
        }
    }

    // MARK: - Connections

    /// Answers the requests of one connection in order. Never throws: whatever a client
    /// does ends at most its own connection.
    private func handle(_ connection: Connection) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                try await HTTPRequestAssembler.serve(inbound, maxBodyBytes: Self.maxRequestBodyBytes) { head in
                    try await Self.write(
                        .payloadTooLarge,
                        ControlErrorBody(
                            error: "request body over \(Self.maxRequestBodyBytes) bytes: "
                                + "the control API takes no large bodies"),
                        version: head.version, keepAlive: false, to: outbound)
                } answer: { request in
                    try await self.answer(request, channel: connection.channel, outbound: outbound)
                }
            }
        } catch {
            self.logger.debug("control.connection.failed", metadata: ["error": "\(error)"])
        }
    }

    /// Answers one request.
    /// - Returns: whether the connection stays open for another request.
    private func answer(_ request: HTTPRequestAssembler.Request, channel: any Channel, outbound: Writer) async throws
        -> Bool
    {
        let head = request.head
        let keepAlive = head.isKeepAlive
        let match = ControlRoute.match(method: head.method, uri: head.uri)
        self.logger.trace(
            "control.request", metadata: ["http.method": "\(head.method.rawValue)", "http.uri": "\(head.uri)"])
        switch match {
        case .notFound:
            try await Self.write(
                .notFound,
                ControlErrorBody(
                    error: "no route \(head.method.rawValue) \(head.uri); the API has \(ControlRoute.summary)"),
                version: head.version, keepAlive: keepAlive, to: outbound)
            return keepAlive

        case .methodNotAllowed(let allowed):
            try await Self.write(
                .methodNotAllowed,
                ControlErrorBody(error: "\(head.uri) takes \(allowed.rawValue), not \(head.method.rawValue)"),
                version: head.version, keepAlive: keepAlive, headers: [("allow", allowed.rawValue)], to: outbound)
            return keepAlive

        case .route(.members):
            let members = await self.control.members()
            try await Self.write(
                .ok, MemberList(members: members), version: head.version, keepAlive: keepAlive, to: outbound)
            return keepAlive

        case .route(.info):
            let info = await self.control.info()
            try await Self.write(.ok, info, version: head.version, keepAlive: keepAlive, to: outbound)
            return keepAlive

        case .route(.leader):
            let leader = await self.control.leader()
            try await Self.write(.ok, leader, version: head.version, keepAlive: keepAlive, to: outbound)
            return keepAlive

        case .route(.leave):
            // Answer first: leaving ends with the agent stopping, this server included.
            try await Self.write(
                .accepted, ControlStatusBody(status: "leaving"), version: head.version, keepAlive: false, to: outbound)
            self.logger.notice("control.leave")
            await self.control.leave()
            return false

        case .route(.forceLeave(let name)):
            if await self.control.forceLeave(name) {
                self.logger.notice("control.force-leave", metadata: ["peer.name": "\(name)"])
                try await Self.write(
                    .ok, ControlStatusBody(status: "left", member: name), version: head.version, keepAlive: keepAlive,
                    to: outbound)
            } else {
                let known = await self.control.members().first { $0.name == name }
                let message =
                    known.map {
                        "member `\(name)` is \($0.status), not failed: only a failed member can be forced to leave"
                    } ?? "no member named `\(name)`"
                try await Self.write(
                    .notFound, ControlErrorBody(error: message), version: head.version, keepAlive: keepAlive,
                    to: outbound)
            }
            return keepAlive

        case .route(.explain(let name)):
            if let explanation = await self.control.explain(name) {
                try await Self.write(.ok, explanation, version: head.version, keepAlive: keepAlive, to: outbound)
            } else {
                try await Self.write(
                    .notFound, ControlErrorBody(error: "no member named `\(name)`"), version: head.version,
                    keepAlive: keepAlive, to: outbound)
            }
            return keepAlive

        case .route(.monitor):
            try await self.streamEvents(version: head.version, channel: channel, outbound: outbound)
            return false

        case .route(.keys):
            let keys = await self.control.keys()
            try await Self.write(.ok, keys, version: head.version, keepAlive: keepAlive, to: outbound)
            return keepAlive

        case .route(.fenceStatus):
            let status = await self.control.fenceStatus()
            try await Self.write(.ok, status, version: head.version, keepAlive: keepAlive, to: outbound)
            return keepAlive

        case .route(.fenceApprove):
            try await self.answerFence(.fenceApprove, request, keepAlive: keepAlive, outbound: outbound)
            return keepAlive

        case .route(.fenceConfirm(let name)):
            try await self.answerFence(.fenceConfirm(name: name), request, keepAlive: keepAlive, outbound: outbound)
            return keepAlive

        case .route(.fenceUnfence(let name)):
            try await self.answerFence(.fenceUnfence(name: name), request, keepAlive: keepAlive, outbound: outbound)
            return keepAlive

        case .route(.history(let node)):
            do {
                let rows = try await self.control.history(node: node)
                try await Self.write(
                    .ok, HistoryList(history: rows), version: head.version, keepAlive: keepAlive, to: outbound)
            } catch {
                try await Self.write(
                    .internalServerError, ControlErrorBody(error: "\(error)"), version: head.version,
                    keepAlive: keepAlive, to: outbound)
            }
            return keepAlive

        case .route(.changeKeys(let operation)):
            let (status, answer) = await self.changeKeys(operation, body: request.body)
            switch answer {
            case .success(let view):
                try await Self.write(status, view, version: head.version, keepAlive: keepAlive, to: outbound)
            case .failure(let error):
                try await Self.write(status, error, version: head.version, keepAlive: keepAlive, to: outbound)
            }
            return keepAlive
        }
    }

    private func answerFence(
        _ route: ControlRoute, _ request: HTTPRequestAssembler.Request, keepAlive: Bool, outbound: Writer
    ) async throws {
        let (status, answer) = await self.fence(route, body: request.body)
        switch answer {
        case .success(let view):
            try await Self.write(status, view, version: request.head.version, keepAlive: keepAlive, to: outbound)
        case .failure(let error):
            try await Self.write(status, error, version: request.head.version, keepAlive: keepAlive, to: outbound)
        }
    }

    /// `POST /v1/fence/...`: 200 with one result per node when at least one step was
    /// recorded, 409 with the reasons when none was, 400 for a malformed body.
    private func fence(_ route: ControlRoute, body: ByteBuffer) async -> (HTTPResponseStatus, Result<FenceCommandView, ControlErrorBody>) {
        let command: FenceCommand
        switch route {
        case .fenceConfirm(let name): command = .confirm(name)
        case .fenceUnfence(let name): command = .unfence(name)
        default:
            guard let request = try? ControlJSON.decode(FenceApproveBody.self, from: body),
                (request.all == true) != !(request.nodes ?? []).isEmpty
            else {
                return (
                    .badRequest,
                    .failure(ControlErrorBody(error: #"request body must be JSON like {"nodes":["NAME"]} or {"all":true}"#))
                )
            }
            command = request.all == true ? .approveAll : .approve(request.nodes ?? [])
        }
        let view = await self.control.fence(command)
        if !view.results.isEmpty && !view.results.contains(where: \.done) {
            return (.conflict, .failure(ControlErrorBody(error: view.results.map(\.message).joined(separator: "; "))))
        }
        return (.ok, .success(view))
    }

    /// `POST /v1/keys/{operation}` with `{"key":"BASE64"}`. The body is never logged;
    /// only the key's id is.
    private func changeKeys(_ operation: KeyOperation, body: ByteBuffer) async -> (
        HTTPResponseStatus, Result<KeyChangeView, ControlErrorBody>
    ) {
        guard let request = try? ControlJSON.decode(KeyRequestBody.self, from: body) else {
            return (
                .badRequest,
                .failure(ControlErrorBody(error: #"request body must be JSON like {"key":"BASE64"}"#))
            )
        }
        do throws(KeyChangeError) {
            let key = try KeyChange.parse(request.key)
            let view = try await self.control.changeKeys(operation, key: key)
            self.logger.notice(
                "control.keys",
                metadata: [
                    "keys.operation": "\(operation.rawValue)", "keys.id": "\(view.key)", "keys.changed": "\(view.changed)",
                ])
            return (.ok, .success(view))
        } catch {
            return (error.isMalformed ? .badRequest : .conflict, .failure(ControlErrorBody(error: error.description)))
        }
    }

    /// `GET /v1/monitor`: one `EventView` per line, until the client goes away, the agent
    /// ends the stream, or the server stops. Then the agent's stream is no longer consumed.
    private func streamEvents(version: HTTPVersion, channel: any Channel, outbound: Writer) async throws {
        let events = await self.control.events()
        var head = HTTPResponseHead(version: version, status: .ok)
        head.headers.add(name: "content-type", value: "application/x-ndjson")
        head.headers.add(name: "cache-control", value: "no-store")
        head.headers.add(name: "connection", value: "close")
        if version.major == 1, version.minor >= 1 {
            head.headers.add(name: "transfer-encoding", value: "chunked")
        }
        try await outbound.write(.head(head))
        self.logger.debug("control.monitor.started")

        // Completed when the client goes away (NIO reads its EOF and closes the channel),
        // or by us when the events end first.
        let stopped = channel.eventLoop.makePromise(of: Void.self)
        channel.closeFuture.cascade(to: stopped)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                try? await stopped.futureResult.get()
            }
            group.addTask {
                for await event in events {
                    guard let line = try? ControlJSON.buffer(event) else { continue }
                    do {
                        try await outbound.write(.body(.byteBuffer(line)))
                    } catch {
                        return
                    }
                }
                // The agent ended the stream, or the server is stopping: end the answer
                // properly, so that the client can tell this from a crash. Written through
                // the channel because the writer refuses writes once this task is cancelled;
                // it fails harmlessly when the client is gone.
                try? await channel.writeAndFlush(HTTPServerResponsePart.end(nil)).get()
            }
            await group.next()
            // Whichever side ended first ends the other: cancelling the writer ends its
            // iteration of `events`, which tells the agent to stop producing.
            group.cancelAll()
            stopped.succeed(())
        }
        self.logger.debug("control.monitor.stopped")
    }

    private static func write<Body: Encodable>(
        _ status: HTTPResponseStatus, _ body: Body, version: HTTPVersion, keepAlive: Bool,
        headers extra: [(String, String)] = [], to outbound: Writer
    ) async throws {
        var status = status
        var buffer: ByteBuffer
        do {
            buffer = try ControlJSON.buffer(body)
        } catch {
            status = .internalServerError
            buffer = ByteBuffer(string: "{\"error\":\"the agent could not encode its answer\"}\n")
        }
        var head = HTTPResponseHead(version: version, status: status)
        head.headers.add(name: "content-type", value: "application/json")
        head.headers.add(name: "content-length", value: String(buffer.readableBytes))
        if !keepAlive { head.headers.add(name: "connection", value: "close") }
        for (name, value) in extra { head.headers.add(name: name, value: value) }
        try await outbound.write(contentsOf: [.head(head), .body(.byteBuffer(buffer)), .end(nil)])
    }
}

import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// The `vigil` side of the control API: HTTP/1.1 over the agent's Unix socket, one
/// connection per call.
///
/// Every method throws `ControlError` only, whose description is one line for operators.
public struct ControlClient: Sendable {
    /// Where `vigil` looks when neither `--control` nor `VIGIL_CONTROL` says otherwise.
    public static let defaultPath = "/var/lib/vigil/vigil.sock"
    /// The environment variable naming the socket.
    public static let environmentVariable = "VIGIL_CONTROL"
    /// Largest answer read, so that a confused peer cannot exhaust memory.
    static let maxResponseBytes = 64 * 1024 * 1024

    /// Path of the agent's socket.
    public let path: String
    /// How long a call (not `monitor()`) waits for the whole answer.
    public let timeout: Duration
    private let eventLoopGroup: any EventLoopGroup

    typealias Connection = NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>

    public init(
        path: String, timeout: Duration = .seconds(10),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.path = path
        self.timeout = timeout
        self.eventLoopGroup = eventLoopGroup
    }

    /// The path `vigil` uses: `flag` if given, else `$VIGIL_CONTROL` if set, else `defaultPath`.
    public static func resolvePath(flag: String?, environment: [String: String]) -> String {
        if let flag, !flag.isEmpty { return flag }
        if let variable = environment[Self.environmentVariable], !variable.isEmpty { return variable }
        return Self.defaultPath
    }

    /// `GET /v1/members`: every member the agent knows, itself included, sorted by name.
    public func getMembers() async throws -> [MemberView] {
        try await self.call(.GET, "/v1/members", answer: MemberList.self).members
    }

    /// `GET /v1/info`: the agent's node, health, settings and counters.
    public func getInfo() async throws -> AgentInfo {
        try await self.call(.GET, "/v1/info", answer: AgentInfo.self)
    }

    /// `GET /v1/leader`: who leads, as the agent sees it.
    public func getLeader() async throws -> LeaderView {
        try await self.call(.GET, "/v1/leader", answer: LeaderView.self)
    }

    /// `GET /v1/explain/{name}`: why the agent believes what it does about `name`.
    public func explain(_ name: String) async throws -> ExplanationView {
        let encoded = name.addingPercentEncoding(withAllowedCharacters: Self.unreserved) ?? name
        return try await self.call(.GET, "/v1/explain/\(encoded)", answer: ExplanationView.self)
    }

    /// `POST /v1/leave`: the agent leaves the cluster gracefully, then stops. Returns once
    /// the agent has accepted (202), not when it has left.
    public func leave() async throws {
        _ = try await self.call(.POST, "/v1/leave", answer: ControlStatusBody.self)
    }

    /// `POST /v1/force-leave/{name}`: marks the failed member `name` as left.
    /// - Throws: `ControlError` with status 404 if there is no such failed member.
    public func forceLeave(_ name: String) async throws {
        let encoded = name.addingPercentEncoding(withAllowedCharacters: Self.unreserved) ?? name
        _ = try await self.call(.POST, "/v1/force-leave/\(encoded)", answer: ControlStatusBody.self)
    }

    /// `GET /v1/fence`: where every failed node's HA lifecycle stands.
    public func getFenceStatus() async throws -> FenceStatusView {
        try await self.call(.GET, "/v1/fence", answer: FenceStatusView.self)
    }

    /// `POST /v1/fence/approve`: lets the brake-held fences of `nodes` (all of them
    /// when `nil`) go ahead.
    /// - Throws: `ControlError` with status 409 when none was held by the brake.
    public func approveFences(_ nodes: [String]?) async throws -> FenceCommandView {
        let body = try ControlJSON.buffer(nodes.map { FenceApproveBody(nodes: $0) } ?? FenceApproveBody(all: true))
        return try await self.call(.POST, "/v1/fence/approve", body: body, answer: FenceCommandView.self)
    }

    /// `POST /v1/fence/confirm/{name}`: vouches that the failed node `name` is off.
    public func confirmFenced(_ name: String) async throws -> FenceCommandView {
        let encoded = name.addingPercentEncoding(withAllowedCharacters: Self.unreserved) ?? name
        return try await self.call(.POST, "/v1/fence/confirm/\(encoded)", answer: FenceCommandView.self)
    }

    /// `POST /v1/fence/unfence/{name}`: returns the fenced node `name` to service.
    public func unfence(_ name: String) async throws -> FenceCommandView {
        let encoded = name.addingPercentEncoding(withAllowedCharacters: Self.unreserved) ?? name
        return try await self.call(.POST, "/v1/fence/unfence/\(encoded)", answer: FenceCommandView.self)
    }

    /// `GET /v1/history[?node=NAME]`: the agent's HA journal, oldest first.
    public func getHistory(node: String? = nil) async throws -> [HistoryEntryView] {
        let query = node.map { "?node=" + ($0.addingPercentEncoding(withAllowedCharacters: Self.unreserved) ?? $0) } ?? ""
        return try await self.call(.GET, "/v1/history" + query, answer: HistoryList.self).history
    }

    /// `GET /v1/keys`: which keys the live members hold.
    public func getKeys() async throws -> KeysView {
        try await self.call(.GET, "/v1/keys", answer: KeysView.self)
    }

    /// `POST /v1/keys/{install,use,remove}`: issues the change to the cluster keyring.
    /// The key goes in the body, never in the URL.
    /// - Throws: `ControlError` with status 400 for a malformed key, 409 for a change
    ///   refused in the cluster's current state.
    public func changeKeys(_ operation: KeyOperation, key: String) async throws -> KeyChangeView {
        let body = try ControlJSON.buffer(KeyRequestBody(key: key))
        return try await self.call(.POST, "/v1/keys/\(operation.rawValue)", body: body, answer: KeyChangeView.self)
    }

    /// `GET /v1/monitor`: the agent's membership events from now on.
    ///
    /// The stream finishes when the agent ends it (it is stopping), and throws
    /// `ControlError` if the agent cannot be reached or the connection is lost. Stop
    /// iterating (or cancel the iterating task) to close the connection.
    public func monitor() -> AsyncThrowingStream<EventView, Error> {
        let (stream, continuation) = AsyncThrowingStream<EventView, Error>.makeStream()
        let path = self.path
        let lifetime = MonitorLifetime()
        continuation.onTermination = { _ in lifetime.end() }
        let request = Self.requestHead(.GET, "/v1/monitor", keepAlive: false)
        ClientBootstrap(group: self.eventLoopGroup)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(
                        EventStreamHandler(path: path, request: request, continuation: continuation))
                }
            }
            .connect(unixDomainSocketPath: path)
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    lifetime.attach(channel)
                case .failure(let error):
                    continuation.finish(throwing: ControlError.connecting(to: path, error))
                }
            }
        return stream
    }

    // MARK: - Calls

    /// Sends a request and decodes a 2xx answer as `T`, or throws the agent's error.
    private func call<T: Decodable>(
        _ method: HTTPMethod, _ uri: String, body request: ByteBuffer? = nil, answer: T.Type
    ) async throws -> T {
        let (status, body) = try await self.exchange(method, uri, body: request)
        guard (200..<300).contains(status.code) else {
            let message =
                (try? ControlJSON.decode(ControlErrorBody.self, from: body).error)
                ?? (body.readableBytes > 0 ? String(buffer: body) : status.reasonPhrase)
            throw ControlError.rejected(status: Int(status.code), message: message)
        }
        do {
            return try ControlJSON.decode(T.self, from: body)
        } catch {
            throw ControlError.badResponse(path: self.path, detail: "\(uri) did not answer a \(T.self)")
        }
    }

    /// One request and its whole answer, on a new connection, within `timeout`.
    func exchange(_ method: HTTPMethod, _ uri: String, body: ByteBuffer? = nil) async throws -> (
        HTTPResponseStatus, ByteBuffer
    ) {
        let connection = try await self.connect()
        let path = self.path
        let timeout = self.timeout
        let head = Self.requestHead(method, uri, keepAlive: false, bodyBytes: body?.readableBytes ?? 0)
        return try await withThrowingTaskGroup(of: (HTTPResponseStatus, ByteBuffer).self) { group in
            group.addTask {
                try await Self.roundTrip(connection, head: head, body: body, path: path)
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw ControlError.timedOut(path: path, after: timeout)
            }
            defer { group.cancelAll() }
            guard let answer = try await group.next() else {
                throw ControlError.connectionLost(path: path)
            }
            return answer
        }
    }

    private static func roundTrip(_ connection: Connection, head: HTTPRequestHead, body: ByteBuffer?, path: String)
        async throws -> (HTTPResponseStatus, ByteBuffer)
    {
        do {
            return try await connection.executeThenClose { inbound, outbound in
                var parts: [HTTPClientRequestPart] = [.head(head)]
                if let body { parts.append(.body(.byteBuffer(body))) }
                parts.append(.end(nil))
                try await outbound.write(contentsOf: parts)

                var status: HTTPResponseStatus?
                var collected = ByteBuffer()
                for try await part in inbound {
                    switch part {
                    case .head(let head):
                        status = head.status
                    case .body(var chunk):
                        guard collected.readableBytes + chunk.readableBytes <= Self.maxResponseBytes else {
                            throw ControlError.badResponse(path: path, detail: "answer over 64 MiB")
                        }
                        collected.writeBuffer(&chunk)
                    case .end:
                        guard let status else { throw ControlError.badResponse(path: path, detail: "no status line") }
                        return (status, collected)
                    }
                }
                throw ControlError.connectionLost(path: path)
            }
        } catch let error as ControlError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw ControlError.reading(from: path, error)
        }
    }

    private func connect() async throws -> Connection {
        do {
            return try await ClientBootstrap(group: self.eventLoopGroup)
                .connect(unixDomainSocketPath: self.path) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        return try Connection.closingOnDeinit(channel)
                    }
                }
        } catch {
            throw ControlError.connecting(to: self.path, error)
        }
    }

    static func requestHead(_ method: HTTPMethod, _ uri: String, keepAlive: Bool, bodyBytes: Int = 0)
        -> HTTPRequestHead
    {
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: uri)
        // A Unix socket has no host; HTTP/1.1 still wants the header.
        head.headers.add(name: "host", value: "vigil")
        head.headers.add(name: "user-agent", value: "vigil")
        head.headers.add(name: "accept", value: "application/json")
        if method == .POST || bodyBytes > 0 { head.headers.add(name: "content-length", value: String(bodyBytes)) }
        if !keepAlive { head.headers.add(name: "connection", value: "close") }
        return head
    }

    /// RFC 3986 unreserved characters: everything else in a member name is percent-encoded.
    private static let unreserved = CharacterSet(
        charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
}

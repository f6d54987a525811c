import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A Keystone v3 and Nova (Compute API 2.1, microversions up to 2.95) test server on
/// 127.0.0.1, written to the API references for the calls the recovery drivers and
/// Masakari's host check make. No emulator of either exists here.
///
/// Keystone (`/identity`): `GET /identity` and `GET /identity/v3` (version documents),
/// `POST /identity/v3/auth/tokens` with `password` (user and project by name and domain)
/// or `application_credential` (id + secret): 201, `X-Subject-Token`, a token body with
/// `expires_at` and a catalog (identity, compute, and instance-ha when set); bad
/// credentials get 401 `{"error": {...}}`.
///
/// Nova (`/compute/v2.1`): every call needs a live token (401 otherwise);
/// `GET /os-services?binary=&host=`; `PUT /os-services/{uuid}` needs
/// `OpenStack-API-Version: compute 2.53`+ (older: 404 as Nova's action routes answer);
/// `GET /servers/detail?host=&all_tenants=1&limit=&marker=` with `servers_links` next;
/// `POST /servers/{id}/action {"evacuate": {...}}`: 400 "Compute service of H is still
/// in use." while the host's service is up (not forced down), 409 while the server has
/// a task_state or an unevacuable vm_state, else 200 `{}`, task_state `rebuilding`.
final class OpenStackFake: Sendable {
    struct Server: Sendable {
        var id: String
        var host: String
        var taskState: String? = nil
        var vmState = "active"
        var metadata: [String: String] = [:]
        var extraSpecs: [String: String] = [:]
        var evacuations = 0
    }

    struct Service: Sendable {
        var id: String
        var host: String
        var forcedDown = false
    }

    struct State: Sendable {
        var users: [String: String] = ["vigil": "correct horse battery staple"]
        var applicationCredentials: [String: String] = [:]
        var project = "service"
        var tokens: [String: Date] = [:]
        var tokenLifetime: TimeInterval = 3600
        /// How long Keystone takes to issue a token (to let concurrent 401s pile up).
        var authDelay: TimeAmount? = nil
        var authentications = 0
        var services: [Service] = []
        var servers: [String: Server] = [:]
        /// Where an evacuated server lands once its rebuild "finishes" (`nil`: it stays
        /// `rebuilding` on the old host, as while the rebuild runs).
        var evacuationTarget: String? = "compute-spare"
        /// How long an evacuate call takes to answer (to see concurrency).
        var evacuateDelay: TimeAmount = .milliseconds(30)
        var evacuationsInFlight = 0
        var maxEvacuationsInFlight = 0
        /// After this many accepted evacuations every token is revoked (as if expired).
        var revokeTokensAfterEvacuations: Int? = nil
        /// Evacuations of these servers fail with 500.
        var failingEvacuations: Set<String> = []
        /// Keystone's 401 repeats the password it was sent (a careless server), to
        /// prove the driver keeps secrets out of its errors anyway.
        var echoPasswordInErrors = false
        /// Nova's 500 for a failing evacuation repeats the request's token.
        var echoTokenInErrors = false
        var instanceHAEndpoint: String? = nil
        /// Every request as `METHOD path`, for assertions.
        var log: [String] = []
        var unauthorizedAnswers = 0
    }

    let state = Mutex(State())
    private let channel: Mutex<(any Channel)?> = Mutex(nil)
    private let portBox = Mutex(0)

    var port: Int { self.portBox.withLock { $0 } }
    var baseURL: String { "http://127.0.0.1:\(self.port)" }
    var authURL: String { "\(self.baseURL)/identity/v3" }
    var computeURL: String { "\(self.baseURL)/compute/v2.1" }

    func start() async throws {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(FakeHTTPHandler(fake: self))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        self.portBox.withLock { $0 = channel.localAddress?.port ?? 0 }
        self.channel.withLock { $0 = channel }
    }

    func stop() async {
        let channel = self.channel.withLock { box -> (any Channel)? in
            defer { box = nil }
            return box
        }
        try? await channel?.close()
    }

    // MARK: - Test controls

    func addHost(_ host: String, servers: [Server] = []) {
        self.state.withLock { state in
            state.services.append(Service(id: UUID().uuidString.lowercased(), host: host))
            for server in servers { state.servers[server.id] = server }
        }
    }

    func revokeAllTokens() {
        self.state.withLock { $0.tokens.removeAll() }
    }

    // MARK: - Routing

    struct Request {
        var method: HTTPMethod
        var path: String
        var query: [String: String]
        var headers: HTTPHeaders
        var body: Data
    }

    struct Response {
        var status: HTTPResponseStatus
        var headers: [(String, String)] = []
        var body: Data
        var delay: TimeAmount? = nil
        var isEvacuation = false
    }

    static func json(_ status: HTTPResponseStatus, _ object: Any, headers: [(String, String)] = []) -> Response {
        Response(status: status, headers: headers, body: (try? JSONSerialization.data(withJSONObject: object)) ?? Data())
    }

    static func fault(_ status: HTTPResponseStatus, _ key: String, _ message: String) -> Response {
        json(status, [key: ["code": Int(status.code), "message": message]])
    }

    func handle(_ request: Request) -> Response {
        self.state.withLock { state in
            state.log.append("\(request.method.rawValue) \(request.path)")
            if request.path == "/identity" || request.path == "/identity/" {
                return Self.json(.multipleChoices, ["versions": ["values": [self.identityVersion()]]])
            }
            if request.path == "/identity/v3" || request.path == "/identity/v3/" {
                return Self.json(.ok, ["version": self.identityVersion()])
            }
            if request.path == "/identity/v3/auth/tokens", request.method == .POST {
                return self.authenticate(request, &state)
            }
            if request.path.hasPrefix("/compute") {
                return self.compute(request, &state)
            }
            return Self.fault(.notFound, "itemNotFound", "The resource could not be found.")
        }
    }

    func identityVersion() -> [String: Any] {
        [
            "id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
            "links": [["rel": "self", "href": "\(self.baseURL)/identity/v3/"]],
            "media-types": [["base": "application/json", "type": "application/vnd.openstack.identity-v3+json"]],
        ]
    }

    private func authenticate(_ request: Request, _ state: inout State) -> Response {
        state.authentications += 1
        let unauthorized = { (message: String) -> Response in
            Self.json(
                .unauthorized,
                ["error": ["code": 401, "message": message, "title": "Unauthorized"]],
                headers: [("WWW-Authenticate", "Keystone uri=\"\(self.baseURL)/identity\"")])
        }
        guard let root = try? JSONSerialization.jsonObject(with: request.body) as? [String: Any],
            let auth = root["auth"] as? [String: Any], let identity = auth["identity"] as? [String: Any],
            let methods = identity["methods"] as? [String]
        else {
            return Self.json(.badRequest, ["error": ["code": 400, "message": "Expecting to find auth in request body.", "title": "Bad Request"]])
        }
        if methods == ["password"] {
            guard let password = identity["password"] as? [String: Any], let user = password["user"] as? [String: Any],
                let name = user["name"] as? String, let given = user["password"] as? String
            else { return unauthorized("The request you have made requires authentication.") }
            guard state.users[name] == given else {
                return unauthorized(
                    state.echoPasswordInErrors
                        ? "Invalid password '\(given)' for user \(name)." : "The request you have made requires authentication.")
            }
            let scope = (auth["scope"] as? [String: Any])?["project"] as? [String: Any]
            guard (scope?["name"] as? String) == state.project else {
                return unauthorized("The request you have made requires authentication.")
            }
        } else if methods == ["application_credential"] {
            guard let credential = identity["application_credential"] as? [String: Any],
                let id = credential["id"] as? String, let secret = credential["secret"] as? String,
                state.applicationCredentials[id] == secret
            else { return unauthorized("The request you have made requires authentication.") }
        } else {
            return unauthorized("The request you have made requires authentication.")
        }
        let token = "gAAAAAB" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
        let expires = Date().addingTimeInterval(state.tokenLifetime)
        state.tokens[token] = expires
        var catalog: [[String: Any]] = [
            [
                "type": "identity", "name": "keystone", "id": "1",
                "endpoints": [["interface": "public", "region": "RegionOne", "region_id": "RegionOne", "url": "\(self.baseURL)/identity", "id": "11"]],
            ],
            [
                "type": "compute", "name": "nova", "id": "2",
                "endpoints": [
                    ["interface": "public", "region": "RegionOne", "region_id": "RegionOne", "url": self.computeURL, "id": "21"],
                    ["interface": "internal", "region": "RegionOne", "region_id": "RegionOne", "url": self.computeURL, "id": "22"],
                    ["interface": "public", "region": "RegionTwo", "region_id": "RegionTwo", "url": "http://127.0.0.1:9/compute/v2.1", "id": "23"],
                ],
            ],
        ]
        if let masakari = state.instanceHAEndpoint {
            catalog.append([
                "type": "instance-ha", "name": "masakari", "id": "3",
                "endpoints": [["interface": "public", "region": "RegionOne", "region_id": "RegionOne", "url": masakari, "id": "31"]],
            ])
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        let expiresText = formatter.string(from: expires).replacingOccurrences(of: "Z", with: ".000000Z")
        let body: [String: Any] = [
            "token": [
                "methods": methods, "expires_at": expiresText, "issued_at": formatter.string(from: Date()),
                "user": ["id": "u1", "name": "vigil", "domain": ["id": "default", "name": "Default"]],
                "project": ["id": "p1", "name": state.project, "domain": ["id": "default", "name": "Default"]],
                "roles": [["id": "r1", "name": "admin"]],
                "catalog": catalog,
            ]
        ]
        var response = Self.json(.created, body, headers: [("X-Subject-Token", token)])
        response.delay = state.authDelay
        return response
    }

    /// The microversion a request asked for (2.1 when none).
    private static func microversion(_ headers: HTTPHeaders) -> (Int, Int) {
        var text = headers.first(name: "OpenStack-API-Version").flatMap { value -> String? in
            let parts = value.split(separator: " ")
            return parts.count == 2 && parts[0].lowercased() == "compute" ? String(parts[1]) : nil
        }
        if text == nil { text = headers.first(name: "X-OpenStack-Nova-API-Version") }
        guard let text else { return (2, 1) }
        if text == "latest" { return (2, 95) }
        let numbers = text.split(separator: ".").compactMap { Int($0) }
        return numbers.count == 2 ? (numbers[0], numbers[1]) : (2, 1)
    }

    private func compute(_ request: Request, _ state: inout State) -> Response {
        let versionDocument: [String: Any] = [
            "id": "v2.1", "status": "CURRENT", "version": "2.95", "min_version": "2.1",
            "updated": "2013-07-23T11:33:21Z", "links": [["rel": "self", "href": "\(self.computeURL)/"]],
        ]
        if request.path == "/compute" || request.path == "/compute/" {
            return Self.json(.ok, ["versions": [versionDocument]])
        }
        let path = request.path.replacingOccurrences(of: "/compute/v2.1", with: "")
        if path.isEmpty || path == "/" {
            return Self.json(.ok, ["version": versionDocument])
        }
        guard let token = request.headers.first(name: "X-Auth-Token"), let expiry = state.tokens[token], expiry > Date() else {
            state.unauthorizedAnswers += 1
            return Self.json(.unauthorized, ["error": ["code": 401, "message": "The request you have made requires authentication.", "title": "Unauthorized"]])
        }
        let version = Self.microversion(request.headers)
        let versionHeaders = [("OpenStack-API-Version", "compute \(version.0).\(version.1)"), ("Vary", "OpenStack-API-Version")]
        let atLeast253 = version >= (2, 53)
        let components = path.split(separator: "/").map(String.init)

        if components == ["os-services"], request.method == .GET {
            let services = state.services.enumerated().filter { _, service in
                (request.query["binary"].map { $0 == "nova-compute" } ?? true)
                    && (request.query["host"].map { $0 == service.host } ?? true)
            }
            let list: [[String: Any]] = services.map { index, service in
                self.serviceJSON(service, index: index, uuid: atLeast253)
            }
            return Self.json(.ok, ["services": list], headers: versionHeaders)
        }
        if components.count == 2, components[0] == "os-services", request.method == .PUT {
            guard atLeast253 else {
                return Self.fault(.notFound, "itemNotFound", "Unknown action")
            }
            guard let index = state.services.firstIndex(where: { $0.id == components[1] }) else {
                return Self.fault(.notFound, "itemNotFound", "Service \(components[1]) not found.")
            }
            guard let body = try? JSONSerialization.jsonObject(with: request.body) as? [String: Any],
                let forced = body["forced_down"] as? Bool
            else {
                return Self.fault(.badRequest, "badRequest", "Invalid input for field/attribute forced_down.")
            }
            state.services[index].forcedDown = forced
            return Self.json(.ok, ["service": self.serviceJSON(state.services[index], index: index, uuid: true)], headers: versionHeaders)
        }
        if components == ["servers", "detail"], request.method == .GET {
            var servers = state.servers.values.sorted { $0.id < $1.id }
            if let host = request.query["host"] {
                guard request.query["all_tenants"] != nil else {
                    return Self.json(.ok, ["servers": [[String: Any]]()], headers: versionHeaders)
                }
                servers = servers.filter { $0.host == host }
            }
            if let marker = request.query["marker"] {
                guard let position = servers.firstIndex(where: { $0.id == marker }) else {
                    return Self.fault(.badRequest, "badRequest", "marker [\(marker)] not found")
                }
                servers = Array(servers[(position + 1)...])
            }
            let limit = min(Int(request.query["limit"] ?? "") ?? 1000, 1000)
            let page = Array(servers.prefix(limit))
            var body: [String: Any] = ["servers": page.map { self.serverJSON($0) }]
            if page.count == limit, let last = page.last {
                var query = request.query
                query["marker"] = last.id
                let text = query.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "&")
                body["servers_links"] = [["rel": "next", "href": "\(self.computeURL)/servers/detail?\(text)"]]
            }
            return Self.json(.ok, body, headers: versionHeaders)
        }
        if components.count == 3, components[0] == "servers", components[2] == "action", request.method == .POST {
            guard var server = state.servers[components[1]] else {
                return Self.fault(.notFound, "itemNotFound", "Instance \(components[1]) could not be found.")
            }
            guard let body = try? JSONSerialization.jsonObject(with: request.body) as? [String: Any],
                let evacuate = body["evacuate"] as? [String: Any]
            else {
                return Self.fault(.badRequest, "badRequest", "There is no such action")
            }
            if version < (2, 14), evacuate["onSharedStorage"] == nil {
                return Self.fault(.badRequest, "badRequest", "Invalid input for field/attribute evacuate. 'onSharedStorage' is a required property")
            }
            if version >= (2, 14), evacuate["onSharedStorage"] != nil {
                return Self.fault(.badRequest, "badRequest", "Invalid input for field/attribute evacuate. Additional properties are not allowed ('onSharedStorage' was unexpected)")
            }
            if let taskState = server.taskState {
                return Self.fault(.conflict, "conflictingRequest", "Cannot 'evacuate' instance \(server.id) while it is in task_state \(taskState)")
            }
            guard ["active", "stopped", "error"].contains(server.vmState) else {
                return Self.fault(.conflict, "conflictingRequest", "Cannot 'evacuate' instance \(server.id) while it is in vm_state \(server.vmState)")
            }
            guard let service = state.services.first(where: { $0.host == server.host }), service.forcedDown else {
                return Self.fault(.badRequest, "badRequest", "Compute service of \(server.host) is still in use.")
            }
            if state.failingEvacuations.contains(server.id) {
                let echo = state.echoTokenInErrors ? " (request token \(token))" : ""
                return Self.fault(.internalServerError, "computeFault", "Unexpected API Error\(echo). Please report this at http://bugs.launchpad.net/nova/")
            }
            server.evacuations += 1
            if let target = state.evacuationTarget {
                server.host = target
                server.taskState = nil
            } else {
                server.taskState = "rebuilding"
            }
            state.servers[server.id] = server
            let accepted = state.servers.values.reduce(0) { $0 + $1.evacuations }
            if let limit = state.revokeTokensAfterEvacuations, accepted == limit {
                state.tokens.removeAll()
            }
            state.evacuationsInFlight += 1
            state.maxEvacuationsInFlight = max(state.maxEvacuationsInFlight, state.evacuationsInFlight)
            var response = Self.json(.ok, [String: Any](), headers: versionHeaders)
            response.delay = state.evacuateDelay
            response.isEvacuation = true
            return response
        }
        return Self.fault(.notFound, "itemNotFound", "The resource could not be found.")
    }

    func evacuationAnswered() {
        self.state.withLock { $0.evacuationsInFlight -= 1 }
    }

    private func serviceJSON(_ service: Service, index: Int, uuid: Bool) -> [String: Any] {
        [
            "id": uuid ? service.id as Any : index + 1 as Any, "binary": "nova-compute", "host": service.host,
            "zone": "nova", "status": "enabled", "state": service.forcedDown ? "down" : "up",
            "forced_down": service.forcedDown, "updated_at": "2026-12-01T07:00:00.000000", "disabled_reason": NSNull(),
        ]
    }

    private func serverJSON(_ server: Server) -> [String: Any] {
        [
            "id": server.id, "name": "vm-\(server.id)", "status": server.taskState == nil ? "ACTIVE" : "REBUILD",
            "OS-EXT-SRV-ATTR:host": server.host, "OS-EXT-STS:task_state": server.taskState as Any? ?? NSNull(),
            "OS-EXT-STS:vm_state": server.vmState, "metadata": server.metadata,
            "flavor": ["original_name": "m1.small", "vcpus": 1, "ram": 512, "disk": 1, "ephemeral": 0, "swap": 0, "extra_specs": server.extraSpecs],
        ]
    }
}

/// One HTTP/1.1 connection of the fake: whole requests in, one answer each.
private final class FakeHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let fake: OpenStackFake
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()

    init(fake: OpenStackFake) {
        self.fake = fake
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            self.body.clear()
        case .body(var chunk):
            self.body.writeBuffer(&chunk)
        case .end:
            guard let head = self.head else { return }
            self.head = nil
            let components = URLComponents(string: head.uri)
            var query: [String: String] = [:]
            for item in components?.queryItems ?? [] { query[item.name] = item.value ?? "" }
            let request = OpenStackFake.Request(
                method: head.method, path: components?.path ?? head.uri, query: query, headers: head.headers,
                body: Data(self.body.readableBytesView))
            let response = self.fake.handle(request)
            let keepAlive = head.isKeepAlive
            let version = head.version
            if let delay = response.delay {
                context.eventLoop.assumeIsolated().scheduleTask(in: delay) {
                    self.write(response, version: version, keepAlive: keepAlive, context: context)
                }
            } else {
                self.write(response, version: version, keepAlive: keepAlive, context: context)
            }
        }
    }

    private func write(_ response: OpenStackFake.Response, version: HTTPVersion, keepAlive: Bool, context: ChannelHandlerContext) {
        if response.isEvacuation { self.fake.evacuationAnswered() }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(response.body.count))
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(self.wrapOutboundOut(.head(HTTPResponseHead(version: version, status: response.status, headers: headers))), promise: nil)
        context.write(self.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: response.body)))), promise: nil)
        if keepAlive {
            context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            context.writeAndFlush(self.wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        }
    }
}

/// Runs `body` with a started fake, stopping it afterwards whatever happens.
func withOpenStackFake<T>(
    _ configure: (inout OpenStackFake.State) -> Void = { _ in },
    _ body: (OpenStackFake) async throws -> T
) async throws -> T {
    let fake = OpenStackFake()
    fake.state.withLock { configure(&$0) }
    try await fake.start()
    do {
        let result = try await body(fake)
        await fake.stop()
        return result
    } catch {
        await fake.stop()
        throw error
    }
}

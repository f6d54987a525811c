import AsyncHTTPClient
import Foundation
import Logging
import NIOCore

/// Recovery straight through Nova, without Masakari: force the failed host's compute
/// service down, then evacuate its instances (the scheduler picks the new hosts).
///
/// **Only for a fenced node.** Forcing a service down tells Nova the host is dead;
/// evacuating an instance that still runs starts it twice on shared storage. The HA
/// loop calls this only after its fence was confirmed.
///
/// Steps (Compute API, all at microversion `Settings.microversion`, 2.53 by default):
/// 1. `GET /os-services?binary=nova-compute&host=NODE` → the service's id (a UUID from 2.53).
/// 2. `PUT /os-services/{id}` `{"forced_down": true}` unless it already is (2.53+ form).
/// 3. `GET /servers/detail?host=NODE&all_tenants=1`, following `servers_links` `next`.
/// 4. `POST /servers/{id}/action` `{"evacuate": {}}` for each evacuable server, at most
///    `concurrency` at once. No host, no `onSharedStorage` (gone since 2.14), no
///    `force` (2.29+): the scheduler chooses and checks the target.
///
/// Safe to repeat (a new leader resuming): a server no longer on NODE, or already
/// rebuilding (task_state `rebuilding`, ...), is not evacuated again. The outcome
/// says `evacuated X of Y instances (Z skipped: not evacuable)`, where X counts
/// evacuations started now plus those found under way; if some fail it throws
/// `RecoveryError.partial` (a retry resumes), if all fail `.failed`.
///
/// This driver returns once Nova has accepted every evacuation; it does not wait
/// for the rebuilds to finish.
public struct NovaRecoveryDriver: RecoveryDriver {
    /// Which servers to evacuate.
    public enum EvacuableFilter: Sendable, Equatable {
        /// Every server on the host (the default).
        case all
        /// Only servers whose metadata or flavor extra spec `key` is true (`evacuable`
        /// by default): the opt-in filter.
        case tagged(key: String)
    }

    public struct Settings: Sendable, Equatable {
        /// Keystone (catalog type `serviceType`) or a direct endpoint.
        public var access: OpenStackAccess
        /// The catalog's service type for Nova (default `compute`).
        public var serviceType: String
        /// Evacuations in flight at once (default 4): enough to be quick, few enough
        /// not to flood the scheduler and conductor when a big host fails.
        public var concurrency: Int
        /// Which servers to evacuate (default `.all`).
        public var filter: EvacuableFilter
        /// Compute API microversion sent with every call (default `2.53`, the lowest
        /// with service UUIDs for `PUT /os-services/{id}`).
        public var microversion: String
        /// `limit` per page of the server list; `nil` leaves it to Nova (its
        /// `max_limit`, 1000 by default).
        public var pageSize: Int?

        public init(
            access: OpenStackAccess, serviceType: String = "compute", concurrency: Int = 4,
            filter: EvacuableFilter = .all, microversion: String = "2.53", pageSize: Int? = nil
        ) {
            self.access = access
            self.serviceType = serviceType
            self.concurrency = concurrency
            self.filter = filter
            self.microversion = microversion
            self.pageSize = pageSize
        }
    }

    public let method = "nova"
    public let settings: Settings
    private let client: OpenStackClient
    private let logger: Logger

    /// - Parameters:
    ///   - httpClient: the HTTP client to use; its owner shuts it down (default: `RecoveryHTTPClient.shared`).
    ///   - logger: one line per evacuation; never sees a secret.
    public init(settings: Settings, httpClient: HTTPClient = RecoveryHTTPClient.shared, logger: Logger) {
        self.settings = settings
        self.logger = logger
        self.client = OpenStackClient(
            service: "nova", serviceType: settings.serviceType, access: settings.access, httpClient: httpClient,
            logger: logger)
    }

    private var versionHeader: [(String, String)] {
        [("OpenStack-API-Version", "compute \(self.settings.microversion)"), ("X-OpenStack-Nova-API-Version", self.settings.microversion)]
    }

    public func recover(_ request: RecoveryRequest) async throws(RecoveryError) -> RecoveryOutcome {
        guard self.settings.concurrency >= 1 else {
            throw .misconfigured("nova: concurrency must be at least 1, got \(self.settings.concurrency)")
        }
        let deadline = OpenStackHTTP.deadline(after: request.timeout)
        let node = request.node
        try await self.forceDown(node, deadline: deadline)
        let servers = try await self.listServers(on: node, deadline: deadline)

        var skipped: [NovaServer] = []
        var underWay: [NovaServer] = []
        var moved: [NovaServer] = []
        var toEvacuate: [NovaServer] = []
        for server in servers {
            if let host = server.host, host != node {
                moved.append(server)
            } else if server.isBeingEvacuated {
                underWay.append(server)
            } else if case .tagged(let key) = self.settings.filter, !server.isTagged(key) {
                skipped.append(server)
            } else {
                toEvacuate.append(server)
            }
        }

        let failures = await self.evacuate(toEvacuate, from: node, term: request.term, deadline: deadline)
        let started = toEvacuate.count - failures.count
        let handled = started + underWay.count + moved.count
        var detail = "evacuated \(handled) of \(servers.count) instances from \(node)"
        var notes: [String] = []
        if !skipped.isEmpty {
            let key: String
            if case .tagged(let name) = self.settings.filter { key = name } else { key = "evacuable" }
            notes.append("\(skipped.count) skipped: not evacuable (no `\(key)=true`)")
        }
        if !underWay.isEmpty || !moved.isEmpty {
            notes.append("\(underWay.count + moved.count) already under way")
        }
        if !notes.isEmpty { detail += " (\(notes.joined(separator: "; ")))" }
        if failures.isEmpty {
            return RecoveryOutcome(method: self.method, detail: detail)
        }
        let shown = failures.prefix(5).map { "\($0.server): \($0.message)" }.joined(separator: "; ")
        let more = failures.count > 5 ? "; and \(failures.count - 5) more" : ""
        let message = "nova: \(detail); \(failures.count) failed: \(shown)\(more); a retry resumes with the rest"
        if handled == 0 { throw .failed(message) }
        throw .partial(message)
    }

    // MARK: - Steps

    private struct ServiceList: Decodable {
        struct Service: Decodable {
            var id: String
            var host: String?
            var binary: String?
            var forcedDown: Bool?

            enum CodingKeys: String, CodingKey {
                case id, host, binary
                case forcedDown = "forced_down"
            }

            init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: CodingKeys.self)
                if let text = try? container.decode(String.self, forKey: .id) {
                    self.id = text
                } else {
                    self.id = String(try container.decode(Int.self, forKey: .id))
                }
                self.host = try container.decodeIfPresent(String.self, forKey: .host)
                self.binary = try container.decodeIfPresent(String.self, forKey: .binary)
                self.forcedDown = try container.decodeIfPresent(Bool.self, forKey: .forcedDown)
            }
        }
        var services: [Service]
    }

    private struct ServiceAnswer: Decodable {
        var service: ServiceList.Service
    }

    /// Steps 1 and 2: the host's nova-compute service is forced down when this returns.
    private func forceDown(_ node: String, deadline: NIODeadline) async throws(RecoveryError) {
        let query = "binary=nova-compute&host=\(Self.queryEscaped(node))"
        let listing = try await self.client.send(.GET, "/os-services?\(query)", headers: self.versionHeader, deadline: deadline)
        try await self.expectSuccess(listing, "list the compute services of \(node)")
        guard let services = listing.decode(ServiceList.self)?.services else {
            throw .failed("nova: the answer to GET /os-services is not a service list; is the endpoint really Nova's?")
        }
        let matching = services.filter { ($0.host == nil || $0.host == node) && ($0.binary ?? "nova-compute") == "nova-compute" }
        guard let service = matching.first else {
            throw .refused(
                "nova: no nova-compute service on host \(node); the node name must be its Nova host name (`openstack compute service list`)")
        }
        guard matching.count == 1 else {
            throw .refused("nova: \(matching.count) nova-compute services on host \(node); remove the stale ones first")
        }
        if service.forcedDown == true {
            self.logger.debug("nova compute service already forced down", metadata: ["ha.node": "\(node)"])
            return
        }
        let body = Data(#"{"forced_down": true}"#.utf8)
        let answer = try await self.client.send(
            .PUT, "/os-services/\(Self.pathEscaped(service.id))", headers: self.versionHeader, json: body, deadline: deadline)
        try await self.expectSuccess(answer, "force the compute service of \(node) down")
        if let updated = answer.decode(ServiceAnswer.self)?.service, updated.forcedDown != true {
            throw .failed("nova: PUT /os-services/\(service.id) answered \(answer.status) but the service is not forced down; check the microversion (2.53 or later)")
        }
        self.logger.info("nova compute service forced down", metadata: ["ha.node": "\(node)"])
    }

    private struct ServerPage: Decodable {
        struct Link: Decodable {
            var rel: String
            var href: String
        }
        var servers: [NovaServer]
        var serversLinks: [Link]?

        enum CodingKeys: String, CodingKey {
            case servers
            case serversLinks = "servers_links"
        }
    }

    /// Step 3: every server Nova places on `node`, all pages.
    private func listServers(on node: String, deadline: NIODeadline) async throws(RecoveryError) -> [NovaServer] {
        var query = "host=\(Self.queryEscaped(node))&all_tenants=1"
        if let pageSize = self.settings.pageSize { query += "&limit=\(pageSize)" }
        var path = "/servers/detail?\(query)"
        var servers: [NovaServer] = []
        var seen: Set<String> = []
        for _ in 0..<10_000 {
            let answer = try await self.client.send(.GET, path, headers: self.versionHeader, deadline: deadline)
            try await self.expectSuccess(answer, "list the servers on \(node)")
            guard let page = answer.decode(ServerPage.self) else {
                throw .failed("nova: the answer to GET /servers/detail is not a server list; is the endpoint really Nova's?")
            }
            for server in page.servers where seen.insert(server.id).inserted { servers.append(server) }
            guard let next = page.serversLinks?.first(where: { $0.rel == "next" }),
                let nextQuery = URLComponents(string: next.href)?.percentEncodedQuery, !page.servers.isEmpty
            else { return servers }
            // Keep our own endpoint and path: Nova builds `next` from its own idea of
            // its public URL, which behind a proxy may not be the one we reach.
            path = "/servers/detail?\(nextQuery)"
        }
        throw .failed("nova: the server list of \(node) did not end after 10000 pages")
    }

    private struct Failure: Sendable {
        var server: String
        var message: String
    }

    /// Step 4, at most `concurrency` in flight.
    private func evacuate(_ servers: [NovaServer], from node: String, term: UInt64, deadline: NIODeadline) async -> [Failure] {
        let concurrency = self.settings.concurrency
        return await withTaskGroup(of: Failure?.self) { group in
            var pending = servers[...]
            var failures: [Failure] = []
            for _ in 0..<min(concurrency, pending.count) {
                let server = pending.removeFirst()
                group.addTask { await self.evacuateOne(server, from: node, term: term, deadline: deadline) }
            }
            while let result = await group.next() {
                if let failure = result { failures.append(failure) }
                if let server = pending.popFirst() {
                    group.addTask { await self.evacuateOne(server, from: node, term: term, deadline: deadline) }
                }
            }
            return failures.sorted { $0.server < $1.server }
        }
    }

    private func evacuateOne(_ server: NovaServer, from node: String, term: UInt64, deadline: NIODeadline) async -> Failure? {
        let body = Data(#"{"evacuate": {}}"#.utf8)
        do throws(RecoveryError) {
            let answer = try await self.client.send(
                .POST, "/servers/\(Self.pathEscaped(server.id))/action", headers: self.versionHeader, json: body,
                deadline: deadline)
            // The answer may hold `adminPass`: it is never logged or kept.
            guard answer.isSuccess else {
                let message = answer.faultMessage(redacting: await self.client.secrets())
                return Failure(server: server.id, message: "evacuate answered \(answer.status): \(message)")
            }
            self.logger.info(
                "nova evacuation started",
                metadata: ["ha.node": "\(node)", "ha.term": "\(term)", "nova.server": "\(server.id)"])
            return nil
        } catch {
            return Failure(server: server.id, message: error.message)
        }
    }

    private func expectSuccess(_ response: OpenStackResponse, _ what: String) async throws(RecoveryError) {
        guard !response.isSuccess else { return }
        let message = response.faultMessage(redacting: await self.client.secrets())
        switch response.status {
        case 403:
            throw .unauthorized("nova: not allowed to \(what) (403): \(message); Vigil's Keystone user needs the admin role")
        case 406:
            throw .refused("nova: cannot \(what) at microversion \(self.settings.microversion) (406): \(message); this needs Nova with API 2.53 or later")
        case 500...:
            throw .failed("nova: could not \(what) (\(response.status)): \(message); will be retried")
        default:
            throw .refused("nova: could not \(what) (\(response.status)): \(message)")
        }
    }

    private static let unreserved = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))

    static func queryEscaped(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: Self.unreserved) ?? text
    }

    static func pathEscaped(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: Self.unreserved) ?? text
    }
}

import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// Calls one OpenStack service (Masakari or Nova) with the access its driver was
/// configured with: a Keystone token and the catalog's (or the given) endpoint, or
/// noauth. On a 401 it re-authenticates once and repeats the request; a second 401
/// is `RecoveryError.unauthorized`.
struct OpenStackClient: Sendable {
    /// The service's name in messages (`masakari`, `nova`).
    let service: String
    /// Its catalog type (`instance-ha`, `compute`).
    let serviceType: String
    let access: OpenStackAccess
    private let http: OpenStackHTTP
    /// Present with Keystone access.
    let keystone: KeystoneAuth?
    /// A version segment (`v1`) that paths are relative to: inserted after the
    /// endpoint when the endpoint does not already contain it (Masakari's catalog
    /// entry is often `.../instance-ha/v1/<project>`, sometimes just the host).
    let versionSegment: String?

    init(
        service: String, serviceType: String, versionSegment: String? = nil, access: OpenStackAccess,
        httpClient: HTTPClient, logger: Logger
    ) {
        self.service = service
        self.serviceType = serviceType
        self.versionSegment = versionSegment
        self.access = access
        self.http = OpenStackHTTP(client: httpClient)
        switch access {
        case .keystone(let settings, _):
            self.keystone = KeystoneAuth(settings: settings, http: self.http, logger: logger)
        case .noauth:
            self.keystone = nil
        }
    }

    /// Sends `method path` to the service.
    /// - Parameters:
    ///   - path: appended to the service's endpoint (starts with `/`, may carry a query).
    ///   - headers: extra headers (e.g. `OpenStack-API-Version`).
    /// - Returns: the answer, whatever its status, except 401 (handled here).
    func send(
        _ method: HTTPMethod, _ path: String, headers: [(String, String)] = [], json body: Data? = nil,
        deadline: NIODeadline
    ) async throws(RecoveryError) -> OpenStackResponse {
        switch self.access {
        case .noauth(let endpoint, let token):
            var headers = headers
            if let token { headers.append(("X-Auth-Token", token)) }
            let response = try await self.http.send(
                method, self.url(endpoint, path), headers: headers, json: body, service: self.service,
                deadline: deadline)
            if response.status == 401 {
                throw .unauthorized(
                    "\(self.service) at \(endpoint) refused an unauthenticated request (401); it is not in noauth mode: configure Keystone credentials")
            }
            return response
        case .keystone(_, let endpointOverride):
            guard let keystone = self.keystone else { throw .misconfigured("\(self.service): no Keystone client") }
            var retried = false
            while true {
                let token = try await keystone.token(deadline: deadline)
                let endpoint = try self.endpoint(in: token, override: endpointOverride)
                let response = try await self.http.send(
                    method, self.url(endpoint, path), headers: headers + [("X-Auth-Token", token.value)], json: body,
                    service: self.service, deadline: deadline)
                guard response.status == 401 else { return response }
                await keystone.invalidate(token.value)
                if retried {
                    let explanation = response.faultMessage(redacting: await keystone.knownSecrets())
                    throw .unauthorized(
                        "\(self.service) at \(endpoint) refused a fresh Keystone token (401): \(explanation); check that \(keystone.settings.credentials.principal) has the admin role this needs")
                }
                retried = true
            }
        }
    }

    /// The secrets to keep out of error text built from this service's answers.
    func secrets() async -> [String] {
        switch self.access {
        case .noauth(_, let token): return token.map { [$0] } ?? []
        case .keystone: return await self.keystone?.knownSecrets() ?? []
        }
    }

    private func endpoint(in token: KeystoneToken, override: String?) throws(RecoveryError) -> String {
        if let override { return override }
        guard let settings = self.keystone?.settings else { throw .misconfigured("\(self.service): no Keystone settings") }
        switch token.catalog.endpoint(serviceType: self.serviceType, interface: settings.interface, region: settings.region) {
        case .success(let url): return url
        case .failure(let failure): throw .misconfigured("\(self.service): \(failure.message)")
        }
    }

    /// The URL of `path` at `endpoint`, with the version segment if it is missing.
    func url(_ endpoint: String, _ path: String) -> String {
        guard let segment = self.versionSegment else { return Self.join(endpoint, path) }
        let endpointPath = URLComponents(string: endpoint)?.path ?? endpoint
        if endpointPath.split(separator: "/").contains(Substring(segment)) { return Self.join(endpoint, path) }
        return Self.join(Self.join(endpoint, segment), path)
    }

    /// `base` + `path` with exactly one slash between them.
    static func join(_ base: String, _ path: String) -> String {
        var base = base
        while base.hasSuffix("/") { base.removeLast() }
        return path.hasPrefix("/") ? base + path : base + "/" + path
    }
}

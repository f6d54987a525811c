import Foundation
import Logging
import NIOCore

/// Keystone v3 authentication for the recovery drivers: `POST /v3/auth/tokens` with a
/// password or an application credential, the token from `X-Subject-Token`, cached
/// until shortly before its `expires_at`, and endpoint lookup in its catalog.
///
/// One authentication at a time: callers that need a token while one is being fetched
/// wait for it, so a burst of concurrent requests that all meet a 401 re-authenticates
/// once, not once each (`invalidate(_:)` forgets only the token that was refused).
///
/// Secrets (the password or application-credential secret, and every token) are never
/// logged and never put in an error; `knownSecrets()` lists them so that server text
/// quoted in an error can be scrubbed (`OpenStackResponse.faultMessage(redacting:)`).
actor KeystoneAuth {
    let settings: KeystoneSettings
    private let http: OpenStackHTTP
    private let logger: Logger
    private var cached: KeystoneToken?
    private var waiters: [CheckedContinuation<KeystoneToken, any Error>]?
    /// Every secret this actor has seen, to scrub them from server messages.
    private var secrets: [String] = []

    init(settings: KeystoneSettings, http: OpenStackHTTP, logger: Logger) {
        self.settings = settings
        self.http = http
        self.logger = logger
    }

    /// Keystone's base URL ending in `/v3`, without a trailing slash.
    nonisolated var authURL: String {
        var url = self.settings.authURL
        while url.hasSuffix("/") { url.removeLast() }
        if !url.hasSuffix("/v3") { url += "/v3" }
        return url
    }

    /// A token fresh enough to use, authenticating first if there is none.
    func token(deadline: NIODeadline) async throws(RecoveryError) -> KeystoneToken {
        if let cached = self.cached, cached.isFresh(at: Date(), renewBefore: self.settings.renewBefore) {
            return cached
        }
        if self.waiters != nil {
            do {
                return try await withCheckedThrowingContinuation { self.waiters?.append($0) }
            } catch let error as RecoveryError {
                throw error
            } catch {
                throw .failed("keystone: \(error)")
            }
        }
        self.waiters = []
        let result: Result<KeystoneToken, RecoveryError>
        do throws(RecoveryError) {
            result = .success(try await self.authenticate(deadline: deadline))
        } catch {
            result = .failure(error)
        }
        let waiting = self.waiters ?? []
        self.waiters = nil
        if case .success(let token) = result { self.cached = token }
        for waiter in waiting { waiter.resume(with: result.mapError { $0 as any Error }) }
        return try result.get()
    }

    /// Forgets `token` after a service refused it (401), so that the next `token(deadline:)`
    /// authenticates again. A token that was already replaced is left alone.
    func invalidate(_ token: String) {
        if self.cached?.value == token {
            self.cached = nil
            self.logger.info("keystone token refused by a service; authenticating again")
        }
    }

    /// The secrets seen so far, for `OpenStackResponse.faultMessage(redacting:)`.
    func knownSecrets() -> [String] { self.secrets }

    private func remember(_ secret: String) {
        if !secret.isEmpty && !self.secrets.contains(secret) { self.secrets.append(secret) }
    }

    private func authenticate(deadline: NIODeadline) async throws(RecoveryError) -> KeystoneToken {
        let credentials = self.settings.credentials
        let secret = try self.readSecret(credentials.secretFile)
        self.remember(secret)
        let body: [String: Any]
        switch credentials {
        case .password(let user, let userDomain, let project, let projectDomain, _):
            body = [
                "auth": [
                    "identity": [
                        "methods": ["password"],
                        "password": ["user": ["name": user, "domain": ["name": userDomain], "password": secret]],
                    ],
                    "scope": ["project": ["name": project, "domain": ["name": projectDomain]]],
                ]
            ]
        case .applicationCredential(let id, _):
            body = [
                "auth": [
                    "identity": [
                        "methods": ["application_credential"],
                        "application_credential": ["id": id, "secret": secret],
                    ]
                ]
            ]
        }
        let json: Data
        do {
            json = try JSONSerialization.data(withJSONObject: body)
        } catch {
            throw .failed("keystone: could not encode the authentication request")
        }
        let url = self.authURL + "/auth/tokens"
        let response = try await self.http.send(.POST, url, json: json, service: "keystone", deadline: deadline)
        let explanation = response.faultMessage(redacting: self.secrets)
        switch response.status {
        case 201, 200:
            break
        case 401:
            throw .unauthorized(
                "keystone at \(self.authURL) refused \(credentials.principal) (401): \(explanation); check the secret in \(credentials.secretFile) and the names"
            )
        case 403:
            throw .unauthorized(
                "keystone at \(self.authURL) forbids \(credentials.principal) (403): \(explanation); check that it has a role on the project"
            )
        case 500...:
            throw .failed("keystone at \(self.authURL) failed (\(response.status)): \(explanation); retrying later may help")
        default:
            throw .refused("keystone at \(self.authURL) refused the authentication request (\(response.status)): \(explanation)")
        }
        guard let value = response.headers.first(name: "X-Subject-Token"), !value.isEmpty else {
            throw .failed("keystone at \(self.authURL) answered \(response.status) without an X-Subject-Token header; is this really Keystone v3?")
        }
        self.remember(value)
        guard let document = response.decode(TokenDocument.self) else {
            throw .failed("keystone at \(self.authURL) answered \(response.status) with a body that is not a v3 token; is this really Keystone v3?")
        }
        guard let expiresAt = KeystoneToken.parseTime(document.token.expiresAt) else {
            throw .failed("keystone at \(self.authURL): cannot read the token's expires_at `\(document.token.expiresAt)`")
        }
        self.logger.debug(
            "keystone token issued",
            metadata: ["keystone.url": "\(self.authURL)", "keystone.expires_at": "\(document.token.expiresAt)"])
        return KeystoneToken(
            value: value, expiresAt: expiresAt, receivedAt: Date(),
            catalog: document.token.catalog ?? ServiceCatalog(services: []))
    }

    private func readSecret(_ path: String) throws(RecoveryError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .misconfigured(
                "keystone: cannot read the secret file \(path); create it (mode 0600) with the secret on one line")
        }
        let secret = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .newlines)
        guard !secret.isEmpty else {
            throw .misconfigured("keystone: the secret file \(path) is empty; put the secret on one line")
        }
        return secret
    }

    private struct TokenDocument: Decodable {
        struct Token: Decodable {
            var expiresAt: String
            var catalog: ServiceCatalog?
            enum CodingKeys: String, CodingKey {
                case expiresAt = "expires_at"
                case catalog
            }
        }
        var token: Token
    }
}

import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// Fences through the BMC's Redfish API (DMTF DSP0266): reads the system's
/// `PowerState`, posts `ComputerSystem.Reset` with `ResetType: ForceOff`, and polls
/// `PowerState` until it reads `Off`. Only `Off` confirms; an accepted reset is not
/// enough (many BMCs answer 204 at once and cut power seconds later).
///
/// A fresh HTTP client is made for every call and shut down after it: fencing is rare,
/// and a long-lived connection to a BMC would go stale between fences anyway.
public struct RedfishFenceDriver: FenceDriver {
    public let settings: RedfishSettings
    public var method: String { "redfish" }

    /// Largest response body read from the BMC (a ComputerSystem is a few KiB).
    static let maxBodyBytes = 1 << 20

    public init(settings: RedfishSettings) {
        self.settings = settings
    }

    public func fence(_ request: FenceRequest) async throws(FenceError) -> FenceConfirmation {
        let (guardDeadline, deadline) = Self.deadlines(request.timeout)
        let systemURL = try self.systemURL()
        let password = try FenceSecret.read(fromFile: self.settings.passwordFile, method: self.method)
        let where_ = self.place
        return try await guardDeadline.guarding(
            onTimeout: { .timedOut("\(where_): no confirmation within \(request.timeout.fenceText); the BMC is slow or hangs") }
        ) { () async throws(FenceError) -> FenceConfirmation in
            try await self.withClient { client throws(FenceError) in
                try await self.forceOff(client: client, systemURL: systemURL, password: password, deadline: deadline)
            }
        }
    }

    public func powerState(of node: String, timeout: Duration) async throws(FenceError) -> PowerState {
        let (guardDeadline, deadline) = Self.deadlines(timeout)
        let systemURL = try self.systemURL()
        let password = try FenceSecret.read(fromFile: self.settings.passwordFile, method: self.method)
        let where_ = self.place
        return try await guardDeadline.guarding(
            onTimeout: { .timedOut("\(where_): no PowerState within \(timeout.fenceText)") }
        ) { () async throws(FenceError) -> PowerState in
            try await self.withClient { client throws(FenceError) in
                Self.powerState(
                    try await self.readPowerState(
                        client: client, systemURL: systemURL, password: password, deadline: deadline))
            }
        }
    }

    /// The whole call is held to `timeout` by a hang guard; the steps work to a
    /// deadline a little earlier (a tenth, at most 1 s), so that a BMC that stays On
    /// is reported as such, with its last PowerState, rather than as a bare timeout.
    private static func deadlines(_ timeout: Duration) -> (guard: FenceDeadline, steps: FenceDeadline) {
        (FenceDeadline(after: timeout), FenceDeadline(after: timeout - min(.seconds(1), timeout / 10), reportedAs: timeout))
    }

    // MARK: - The fence

    private func forceOff(
        client: HTTPClient, systemURL: String, password: FenceSecret, deadline: FenceDeadline
    ) async throws(FenceError) -> FenceConfirmation {
        let before = try await self.readPowerState(
            client: client, systemURL: systemURL, password: password, deadline: deadline)
        if before == "Off" {
            // Power-off is idempotent: a node already off is fenced (a new leader
            // resuming, or an operator was quicker). Some BMCs refuse ForceOff here.
            return FenceConfirmation(method: self.method, detail: "PowerState already Off; no reset sent")
        }

        let reset = try await self.send(
            client: client, .POST, url: systemURL + "/Actions/ComputerSystem.Reset",
            body: #"{"ResetType":"\#(self.settings.resetType)"}"#, password: password, deadline: deadline)
        if !(200..<300).contains(reset.status.code) {
            // It may have gone off meanwhile (or refuse because it is off): only the
            // PowerState decides.
            let now = try? await self.readPowerState(
                client: client, systemURL: systemURL, password: password, deadline: deadline)
            if now == "Off" {
                return FenceConfirmation(
                    method: self.method,
                    detail: "PowerState Off (\(self.settings.resetType) answered \(reset.status.code))")
            }
            throw .refused(
                "\(self.place): \(self.settings.resetType) answered \(reset.status.code)"
                    + "\(Self.message(reset.body, password: password).map { ": \($0)" } ?? ""); "
                    + "the BMC refused to power the node off; check the account's privileges and the BMC's state")
        }

        var lastState = before
        var lastError: FenceError?
        while await deadline.sleep(self.settings.pollInterval) {
            do throws(FenceError) {
                lastState = try await self.readPowerState(
                    client: client, systemURL: systemURL, password: password, deadline: deadline)
                lastError = nil
                if lastState == "Off" {
                    return FenceConfirmation(
                        method: self.method,
                        detail: "PowerState Off \(deadline.elapsed.fenceText) after \(self.settings.resetType)")
                }
            } catch {
                // A BMC busy cutting power may drop a request; keep polling until the
                // deadline, then report what it last said.
                if error.isRefused || error.isMisconfigured { throw error }
                lastError = error
            }
        }
        if let lastError {
            throw .notConfirmed(
                "\(self.place): \(self.settings.resetType) accepted, but PowerState could not be read again "
                    + "before the \(deadline.budget.fenceText) deadline (\(lastError.message)); check the node's power by hand")
        }
        throw .notConfirmed(
            "\(self.place): \(self.settings.resetType) accepted, but PowerState is still \(lastState) "
                + "at the \(deadline.budget.fenceText) deadline; check the node's power by hand, or raise the fence timeout")
    }

    /// `GET` the system and return its `PowerState` (`On`, `Off`, `PoweringOff`, ...;
    /// `unknown` when absent).
    private func readPowerState(
        client: HTTPClient, systemURL: String, password: FenceSecret, deadline: FenceDeadline
    ) async throws(FenceError) -> String {
        let response = try await self.send(client: client, .GET, url: systemURL, body: nil, password: password, deadline: deadline)
        switch response.status.code {
        case 200..<300:
            break
        case 401, 403:
            throw .refused(
                "\(self.place): credentials rejected (\(response.status.code))"
                    + "\(Self.message(response.body, password: password).map { ": \($0)" } ?? ""); "
                    + "check `username` and the password file \(self.settings.passwordFile)")
        case 404:
            throw .misconfigured(
                "\(self.place): no such system (404); check `system` (list them with GET /redfish/v1/Systems)")
        default:
            throw .refused(
                "\(self.place): GET answered \(response.status.code)"
                    + "\(Self.message(response.body, password: password).map { ": \($0)" } ?? "")")
        }
        guard let object = try? JSONSerialization.jsonObject(with: response.body) as? [String: Any] else {
            throw .failed("\(self.place): the system resource is not a JSON object; is `url` a Redfish service?")
        }
        return object["PowerState"] as? String ?? "unknown"
    }

    private struct Answer {
        var status: HTTPResponseStatus
        var body: Data
    }

    private func send(
        client: HTTPClient, _ method: HTTPMethod, url: String, body: String?, password: FenceSecret, deadline: FenceDeadline
    ) async throws(FenceError) -> Answer {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.setBasicAuth(username: self.settings.username, password: password.reveal)
        request.headers.add(name: "Accept", value: "application/json")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let remaining = deadline.remaining
        guard remaining > .zero else {
            throw .timedOut("\(self.place): the \(deadline.budget.fenceText) deadline passed")
        }
        do {
            let response = try await client.execute(request, timeout: remaining.timeAmount)
            let buffer = try await response.body.collect(upTo: Self.maxBodyBytes)
            return Answer(status: response.status, body: Data(buffer.readableBytesView))
        } catch let error as HTTPClientError where error == .deadlineExceeded {
            throw .timedOut(
                "\(self.place): \(method) got no answer before the \(deadline.budget.fenceText) deadline")
        } catch let error as NIOSSLError {
            throw .unreachable(
                "\(self.place): TLS failed (\(error)); set `ca_file` to the BMC's CA or certificate, "
                    + "or `insecure: true` for a self-signed BMC")
        } catch let error as BoringSSLError {
            throw .unreachable(
                "\(self.place): TLS failed (\(error)); set `ca_file` to the BMC's CA or certificate, "
                    + "or `insecure: true` for a self-signed BMC")
        } catch is CancellationError {
            throw .failed("\(self.place): cancelled")
        } catch {
            throw .unreachable(
                "\(self.place): cannot reach the BMC (\(password.scrub(String(describing: error)))); "
                    + "check `url`, the network to the BMC and that its Redfish service is enabled")
        }
    }

    private func withClient<T: Sendable>(
        _ body: (HTTPClient) async throws(FenceError) -> T
    ) async throws(FenceError) -> T {
        let client = HTTPClient(
            eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: try self.clientConfiguration())
        let result: Result<T, FenceError>
        do throws(FenceError) {
            result = .success(try await body(client))
        } catch {
            result = .failure(error)
        }
        // Nothing to do about a failed shutdown: the connections are closed either way.
        try? await client.shutdown()
        return try result.get()
    }

    // MARK: - Settings

    /// `redfish https://10.0.1.11/redfish/v1/Systems/1`, for messages.
    private var place: String { "redfish \(self.settings.baseURL)\(self.settings.systemPath)" }

    private func systemURL() throws(FenceError) -> String {
        var base = self.settings.baseURL
        while base.hasSuffix("/") { base.removeLast() }
        guard let url = URL(string: base), let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http",
            let host = url.host, !host.isEmpty, url.path.isEmpty
        else {
            throw .misconfigured(
                "redfish: `url` must be like https://10.0.1.11 or https://bmc.example:8443, got `\(self.settings.baseURL)`")
        }
        guard self.settings.systemPath.hasPrefix("/"), !self.settings.systemPath.contains(" ") else {
            throw .misconfigured(
                "redfish: `system` must be a path like /redfish/v1/Systems/1, got `\(self.settings.systemPath)`")
        }
        guard !self.settings.resetType.isEmpty, self.settings.resetType.allSatisfy({ $0.isASCII && $0.isLetter }) else {
            throw .misconfigured(
                "redfish: `reset_type` must be a Redfish ResetType like ForceOff, got `\(self.settings.resetType)`")
        }
        var path = self.settings.systemPath
        while path.count > 1, path.hasSuffix("/") { path.removeLast() }
        return base + path
    }

    private func clientConfiguration() throws(FenceError) -> HTTPClient.Configuration {
        var tls = TLSConfiguration.makeClientConfiguration()
        if self.settings.insecure {
            tls.certificateVerification = .none
        } else if let caFile = self.settings.caFile {
            guard FileManager.default.isReadableFile(atPath: caFile) else {
                throw .misconfigured("\(self.place): cannot read `ca_file` \(caFile); give a PEM file the agent can read")
            }
            tls.trustRoots = .file(caFile)
        }
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tls,
            // A redirect could carry the basic-auth header elsewhere; a BMC has no
            // reason to redirect its API.
            redirectConfiguration: .disallow,
            timeout: .init(connect: self.settings.connectTimeout.timeAmount))
        configuration.httpVersion = .http1Only
        return configuration
    }

    // MARK: - Answers

    static func powerState(_ redfish: String) -> PowerState {
        switch redfish {
        case "On": .on
        case "Off": .off
        default: .unknown  // PoweringOn, PoweringOff, Paused, absent
        }
    }

    /// The human part of a Redfish error body (`error.message`, then the
    /// `@Message.ExtendedInfo` messages), or the start of a non-JSON body; one line,
    /// at most 300 characters, with the password scrubbed in case a BMC echoes it.
    static func message(_ body: Data, password: FenceSecret) -> String? {
        var parts: [String] = []
        if let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
            let error = object["error"] as? [String: Any]
        {
            if let message = error["message"] as? String { parts.append(message) }
            for info in error["@Message.ExtendedInfo"] as? [[String: Any]] ?? [] {
                if let message = info["Message"] as? String, !parts.contains(message) { parts.append(message) }
            }
        } else if let text = String(data: body.prefix(600), encoding: .utf8) {
            parts.append(text)
        }
        let line = parts.joined(separator: "; ")
            .split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .joined(separator: " ")
        guard !line.isEmpty else { return nil }
        let scrubbed = password.scrub(line)
        return scrubbed.count > 300 ? String(scrubbed.prefix(300)) + "…" : scrubbed
    }
}

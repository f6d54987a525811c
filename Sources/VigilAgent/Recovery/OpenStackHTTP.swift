import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The one place where the recovery drivers touch the network: one request, one whole
/// answer, transport failures mapped to `RecoveryError`. Never logs or reports request
/// headers or bodies (they carry tokens and passwords).
struct OpenStackHTTP: Sendable {
    /// Largest answer body read; a server list of a thousand instances is about 5 MiB.
    static let maxBodyBytes = 32 * 1024 * 1024

    let client: HTTPClient

    /// Sends one request.
    /// - Parameters:
    ///   - service: what is called, for errors (`keystone`, `masakari`, `nova`).
    ///   - deadline: the whole call, answer body included.
    /// - Throws: `RecoveryError.timedOut` past the deadline, `.unreachable` when no answer
    ///   came (refused, reset, DNS, TLS), `.failed` if the task was cancelled.
    func send(
        _ method: HTTPMethod, _ url: String, headers: [(String, String)] = [], json body: Data? = nil,
        service: String, deadline: NIODeadline
    ) async throws(RecoveryError) -> OpenStackResponse {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "vigil")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let where_ = "\(method.rawValue) \(Self.withoutQuery(url))"
        do {
            let response = try await self.client.execute(request, deadline: deadline)
            let bytes = try await response.body.collect(upTo: Self.maxBodyBytes)
            return OpenStackResponse(
                status: Int(response.status.code), headers: response.headers, body: Data(bytes.readableBytesView))
        } catch is CancellationError {
            throw .failed("\(service): \(where_) was cancelled before an answer came")
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            throw .timedOut("\(service): \(where_) got no answer before the deadline; check that \(service) is up, or raise the timeout")
        } catch is NIOTooManyBytesError {
            throw .failed("\(service): \(where_) answered more than \(Self.maxBodyBytes) bytes; refusing to read it")
        } catch {
            throw .unreachable("\(service): cannot reach \(where_): \(error); check the URL, the network and that \(service) is running")
        }
    }

    /// `url` without its query, for messages (queries name hosts, never secrets, but
    /// a shorter line reads better).
    static func withoutQuery(_ url: String) -> String {
        url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? url
    }

    /// A deadline `timeout` from now.
    static func deadline(after timeout: Duration) -> NIODeadline {
        NIODeadline.now() + TimeAmount(timeout)
    }
}

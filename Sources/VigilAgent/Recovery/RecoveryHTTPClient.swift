import AsyncHTTPClient
import NIOCore
import NIOPosix

/// The HTTP client the recovery drivers use unless given another: one per process,
/// never shut down (like `HTTPClient.shared`), configured for control-plane calls.
///
/// - No redirects: an OpenStack API does not redirect its API calls, and following one
///   would send the token to wherever it points.
/// - No retried connection establishment: a refused or unreachable endpoint fails the
///   call at once (`RecoveryError.unreachable`) instead of being retried silently until
///   the deadline; the HA loop retries the whole recovery with backoff and says why.
/// - Connect timeout 10 s; each request is further bounded by its deadline.
public enum RecoveryHTTPClient {
    public static let shared: HTTPClient = {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(10)))
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroupProvider: .shared(MultiThreadedEventLoopGroup.singleton), configuration: configuration)
    }()
}

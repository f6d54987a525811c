import Foundation
import NIOHTTP1

/// The control API's routes, and the matching of a request line against them.
///
/// Routing is a pure function of method and URI so that it is tested without sockets.
enum ControlRoute: Equatable, Sendable {
    /// `GET /v1/members`
    case members
    /// `GET /v1/info`
    case info
    /// `POST /v1/leave`
    case leave
    /// `POST /v1/force-leave/{name}`, the name percent-decoded.
    case forceLeave(name: String)
    /// `GET /v1/monitor`
    case monitor
    /// `GET /v1/explain/{name}`, the name percent-decoded.
    case explain(name: String)
    /// `GET /v1/leader`
    case leader

    /// What a request line asks for.
    enum Match: Equatable, Sendable {
        case route(ControlRoute)
        /// No route has this path.
        case notFound
        /// The path exists, with another method.
        case methodNotAllowed(allowed: HTTPMethod)
    }

    /// Every route, as the 404 answer lists them.
    static let summary = "GET /v1/members, GET /v1/info, POST /v1/leave, POST /v1/force-leave/NAME, GET /v1/monitor, GET /v1/explain/NAME, GET /v1/leader"

    private static let forceLeavePrefix = "/v1/force-leave/"
    private static let explainPrefix = "/v1/explain/"

    /// Matches `method` and `uri` (path with an optional query, which is ignored).
    static func match(method: HTTPMethod, uri: String) -> Match {
        let path = String(uri.prefix { $0 != "?" })
        let route: ControlRoute
        switch path {
        case "/v1/members": route = .members
        case "/v1/info": route = .info
        case "/v1/leave": route = .leave
        case "/v1/monitor": route = .monitor
        case "/v1/leader": route = .leader
        default:
            let prefix = path.hasPrefix(Self.forceLeavePrefix) ? Self.forceLeavePrefix : Self.explainPrefix
            guard path.hasPrefix(prefix) else { return .notFound }
            let encoded = path.dropFirst(prefix.count)
            // A name is one path segment; an encoded `/` (%2F) inside it is fine.
            guard !encoded.isEmpty, !encoded.contains("/"),
                let name = String(encoded).removingPercentEncoding, !name.isEmpty
            else { return .notFound }
            route = prefix == Self.explainPrefix ? .explain(name: name) : .forceLeave(name: name)
        }
        let expected = route.method
        return method == expected ? .route(route) : .methodNotAllowed(allowed: expected)
    }

    /// The one method each route answers.
    var method: HTTPMethod {
        switch self {
        case .members, .info, .monitor, .explain, .leader: .GET
        case .leave, .forceLeave: .POST
        }
    }
}

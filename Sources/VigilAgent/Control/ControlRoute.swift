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
    /// `GET /v1/keys`
    case keys
    /// `POST /v1/keys/install`, `/use`, `/remove`, the key in the JSON body.
    case changeKeys(KeyOperation)
    /// `GET /v1/fence`
    case fenceStatus
    /// `POST /v1/fence/approve`, the names (or `all`) in the JSON body.
    case fenceApprove
    /// `POST /v1/fence/confirm/{name}`
    case fenceConfirm(name: String)
    /// `POST /v1/fence/unfence/{name}`
    case fenceUnfence(name: String)
    /// `GET /v1/history`, or `GET /v1/history?node=NAME` for one node's rows.
    case history(node: String?)

    /// What a request line asks for.
    enum Match: Equatable, Sendable {
        case route(ControlRoute)
        /// No route has this path.
        case notFound
        /// The path exists, with another method.
        case methodNotAllowed(allowed: HTTPMethod)
    }

    /// Every route, as the 404 answer lists them.
    static let summary =
        "GET /v1/members, GET /v1/info, POST /v1/leave, POST /v1/force-leave/NAME, GET /v1/monitor, "
        + "GET /v1/explain/NAME, GET /v1/leader, GET /v1/keys, POST /v1/keys/install, POST /v1/keys/use, "
        + "POST /v1/keys/remove, GET /v1/fence, POST /v1/fence/approve, POST /v1/fence/confirm/NAME, "
        + "POST /v1/fence/unfence/NAME, GET /v1/history[?node=NAME]"

    private static let forceLeavePrefix = "/v1/force-leave/"
    private static let explainPrefix = "/v1/explain/"
    /// The routes that end in one percent-encoded name, by prefix.
    private static let named: [(prefix: String, route: @Sendable (String) -> ControlRoute)] = [
        (forceLeavePrefix, { .forceLeave(name: $0) }),
        (explainPrefix, { .explain(name: $0) }),
        ("/v1/fence/confirm/", { .fenceConfirm(name: $0) }),
        ("/v1/fence/unfence/", { .fenceUnfence(name: $0) }),
    ]

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
        case "/v1/keys": route = .keys
        case "/v1/keys/install": route = .changeKeys(.install)
        case "/v1/keys/use": route = .changeKeys(.use)
        case "/v1/keys/remove": route = .changeKeys(.remove)
        case "/v1/fence": route = .fenceStatus
        case "/v1/fence/approve": route = .fenceApprove
        case "/v1/history": route = .history(node: Self.queryValue("node", in: uri))
        default:
            guard let named = Self.named.first(where: { path.hasPrefix($0.prefix) }) else { return .notFound }
            let encoded = path.dropFirst(named.prefix.count)
            // A name is one path segment; an encoded `/` (%2F) inside it is fine.
            guard !encoded.isEmpty, !encoded.contains("/"),
                let name = String(encoded).removingPercentEncoding, !name.isEmpty
            else { return .notFound }
            route = named.route(name)
        }
        let expected = route.method
        return method == expected ? .route(route) : .methodNotAllowed(allowed: expected)
    }

    /// The percent-decoded value of `name` in the URI's query; `nil` if absent or empty.
    static func queryValue(_ name: String, in uri: String) -> String? {
        let value = URLComponents(string: uri)?.queryItems?.first { $0.name == name }?.value
        return value?.isEmpty == false ? value : nil
    }

    /// The one method each route answers.
    var method: HTTPMethod {
        switch self {
        case .members, .info, .monitor, .explain, .leader, .keys, .fenceStatus, .history: .GET
        case .leave, .forceLeave, .changeKeys, .fenceApprove, .fenceConfirm, .fenceUnfence: .POST
        }
    }
}

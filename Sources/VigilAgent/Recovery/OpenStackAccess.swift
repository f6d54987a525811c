/// How a recovery driver reaches its OpenStack service.
public enum OpenStackAccess: Sendable, Equatable {
    /// A Keystone v3 token. The service's URL comes from the token's catalog unless
    /// `endpoint` gives it directly (then the catalog is not consulted).
    case keystone(KeystoneSettings, endpoint: String? = nil)
    /// No Keystone (Masakari's `auth_strategy = noauth2`, test clouds only): requests go
    /// to `endpoint` with `X-Auth-Token: token` when `token` is given (noauth2 takes
    /// `admin:admin` as "user admin in project admin"), or with no token at all.
    case noauth(endpoint: String, token: String? = "admin:admin")
}

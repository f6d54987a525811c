/// Keystone v3 settings shared by the Masakari and Nova drivers.
public struct KeystoneSettings: Sendable, Equatable {
    /// Keystone's v3 URL, e.g. `https://keystone.example.net:5000/v3` (a URL without
    /// `/v3` at its end gets it appended).
    public var authURL: String
    /// Password or application credential; the secret is in a file.
    public var credentials: OpenStackCredentials
    /// Which endpoint of the catalog to use (default `public`).
    public var interface: EndpointInterface
    /// The region to pick the endpoint from; `nil` accepts any region, and then the
    /// catalog must hold exactly one endpoint of that service and interface.
    public var region: String?
    /// A token is renewed this long before its `expires_at` (default 2 minutes; at
    /// most half the token's life, so short-lived tokens are still cached).
    public var renewBefore: Duration

    public init(
        authURL: String, credentials: OpenStackCredentials, interface: EndpointInterface = .public,
        region: String? = nil, renewBefore: Duration = .seconds(120)
    ) {
        self.authURL = authURL
        self.credentials = credentials
        self.interface = interface
        self.region = region
        self.renewBefore = renewBefore
    }
}

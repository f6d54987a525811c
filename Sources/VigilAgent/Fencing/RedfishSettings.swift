/// How the native Redfish driver reaches one node's BMC. Config keys (under a fence
/// level's method, `method: redfish`) are given next to each field.
public struct RedfishSettings: Sendable, Equatable {
    /// `url`: the BMC's scheme, host and port, e.g. `https://10.0.1.11` or
    /// `https://10.0.1.11:8443`. No default. `http://` works but sends the password in
    /// clear; use it only on an isolated management network.
    public var baseURL: String
    /// `system`: the ComputerSystem resource of the node, e.g. `/redfish/v1/Systems/1`
    /// (Dell: `System.Embedded.1`, HPE: `1`). No default: a BMC with several systems
    /// must not be guessed.
    public var systemPath: String
    /// `username`: the BMC account (basic auth). No default.
    public var username: String
    /// `password_file`: a file whose first line is the BMC password, read at every
    /// fence (so a rotated file is used at once). No default; never logged.
    public var passwordFile: String
    /// `insecure`: skip TLS certificate verification (self-signed BMC certificates).
    /// Default `false`: verify against `caFile` or the system's trust store.
    public var insecure: Bool = false
    /// `ca_file`: PEM file of the CA (or the BMC's own self-signed certificate) to
    /// trust instead of the system's store. Default none. The certificate must name
    /// the host of `url` (subjectAltName).
    public var caFile: String?
    /// `reset_type`: the `ResetType` sent. Default `ForceOff` (immediate, no guest
    /// shutdown: a fence must not wait for a hung OS).
    public var resetType: String = "ForceOff"
    /// `poll_interval`: how often `PowerState` is read after the reset. Default 500 ms:
    /// BMCs take from under a second to tens of seconds to report Off.
    public var pollInterval: Duration = .milliseconds(500)
    /// `connect_timeout`: per connection attempt. Default 5 s. Every request is also
    /// bounded by what is left of the fence request's timeout.
    public var connectTimeout: Duration = .seconds(5)

    /// - Parameters:
    ///   - baseURL: `https://host[:port]` of the BMC.
    ///   - systemPath: `/redfish/v1/Systems/ID`.
    ///   - username: the BMC account.
    ///   - passwordFile: the file holding its password.
    public init(baseURL: String, systemPath: String, username: String, passwordFile: String) {
        self.baseURL = baseURL
        self.systemPath = systemPath
        self.username = username
        self.passwordFile = passwordFile
    }
}

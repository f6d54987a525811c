/// How the ipmitool driver reaches one node's BMC over IPMI v2 (RMCP+). Config keys
/// (under a fence level's method, `method: ipmitool`) are given next to each field.
public struct IPMIToolSettings: Sendable, Equatable {
    /// `host`: the BMC's address (`-H`). No default.
    public var host: String
    /// `port`: its RMCP port (`-p`). Default 623.
    public var port: Int = 623
    /// `username`: the BMC account (`-U`). No default.
    public var username: String
    /// `password_file`: a file whose first line is the password, handed to ipmitool
    /// in `IPMI_PASSWORD` with `-E` (never on argv). No default.
    public var passwordFile: String
    /// `interface`: `-I`. Default `lanplus` (IPMI v2; `lan` is v1.5 and unencrypted).
    public var interface: String = "lanplus"
    /// `cipher_suite`: `-C`. Default 3 (RAKP-HMAC-SHA1, AES-128), which every
    /// lanplus BMC offers; `nil` leaves ipmitool's own choice.
    public var cipherSuite: Int? = 3
    /// `privilege`: `-L` (`OPERATOR` is enough for chassis power). Default `nil`:
    /// ipmitool's default (ADMINISTRATOR).
    public var privilegeLevel: String?
    /// `executable`: the ipmitool program. Default `ipmitool` (found in /usr/bin).
    public var executable: String = "ipmitool"
    /// `poll_interval`: how often `chassis power status` is asked after `off`.
    /// Default 1 s.
    public var pollInterval: Duration = .seconds(1)

    /// - Parameters:
    ///   - host: the BMC's address.
    ///   - username: the BMC account.
    ///   - passwordFile: the file holding its password.
    public init(host: String, username: String, passwordFile: String) {
        self.host = host
        self.username = username
        self.passwordFile = passwordFile
    }
}

/// Which of a service's catalog endpoints to call (Keystone v3 `interface`).
public enum EndpointInterface: String, Sendable, Equatable, CaseIterable {
    /// The endpoint users reach; the default, as in `openstack` CLI.
    case `public`
    /// The endpoint on the cloud's internal network, usually right for a control-plane agent.
    case `internal`
    /// The legacy admin endpoint (rarely distinct since Keystone v3).
    case admin
}

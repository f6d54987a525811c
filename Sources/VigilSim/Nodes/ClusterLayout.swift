import VigilCore

/// Names and addresses of the simulated nodes. The addresses are opaque keys: no
/// simulated packet touches a real network.
public struct ClusterLayout: Sendable {
    public var names: [String]
    public var addresses: [Address]

    public init(names: [String], addresses: [Address]) {
        precondition(names.count == addresses.count, "one address per name")
        self.names = names
        self.addresses = addresses
    }

    /// `node-0001`, `node-0002`, … at `10.0.0.1:7946`, `10.0.0.2:7946`, … (250 hosts
    /// per /24, then the next one; past 64 000 nodes the second octet grows too).
    public static func standard(nodes count: Int) -> ClusterLayout {
        var names: [String] = []
        var addresses: [Address] = []
        names.reserveCapacity(count)
        addresses.reserveCapacity(count)
        for i in 0..<count {
            let number = String(i + 1)
            let padded = number.count >= 4 ? number : String(repeating: "0", count: 4 - number.count) + number
            names.append("node-\(padded)")
            let subnet = i / 250
            let host = "10.\(subnet / 256).\(subnet % 256).\(i % 250 + 1)"
            addresses.append(Address(host: host, port: 7946))
        }
        return ClusterLayout(names: names, addresses: addresses)
    }

    public var count: Int { self.names.count }
}

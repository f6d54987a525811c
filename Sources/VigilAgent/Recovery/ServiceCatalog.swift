/// The `catalog` of a Keystone v3 token: which URL serves which service.
/// (Identity API v3, "Password authentication with scoped authorization": each entry
/// has `type`, `name` and `endpoints` with `interface`, `region_id`/`region`, `url`.)
struct ServiceCatalog: Sendable, Equatable, Decodable {
    struct Service: Sendable, Equatable, Decodable {
        var type: String
        var name: String?
        var endpoints: [Endpoint]
    }

    struct Endpoint: Sendable, Equatable, Decodable {
        var interface: String
        var region: String?
        var regionID: String?
        var url: String

        enum CodingKeys: String, CodingKey {
            case interface, region, url
            case regionID = "region_id"
        }
    }

    var services: [Service]

    init(services: [Service]) {
        self.services = services
    }

    init(from decoder: any Decoder) throws {
        self.services = try [Service](from: decoder)
    }

    /// The one URL for `serviceType` at `interface` in `region` (any region if `nil`).
    /// - Returns: the URL, or a one-line reason why there is none or more than one.
    func endpoint(
        serviceType: String, interface: EndpointInterface, region: String?
    ) -> Result<String, CatalogLookupFailure> {
        let services = self.services.filter { $0.type == serviceType }
        guard !services.isEmpty else {
            let known = Set(self.services.map(\.type)).sorted().joined(separator: ", ")
            return .failure(.init(
                "the token's catalog has no service of type `\(serviceType)` (it has: \(known.isEmpty ? "nothing" : known)); register the service in Keystone or give its endpoint URL directly"
            ))
        }
        let all = services.flatMap(\.endpoints)
        let matching = all.filter { endpoint in
            endpoint.interface == interface.rawValue
                && (region == nil || endpoint.regionID == region || endpoint.region == region)
        }
        switch matching.count {
        case 1:
            return .success(matching[0].url)
        case 0:
            let offered = all.map { "\($0.interface)@\($0.regionID ?? $0.region ?? "-")" }.sorted()
                .joined(separator: ", ")
            let regionText = region.map { " in region `\($0)`" } ?? ""
            return .failure(.init(
                "the catalog has no `\(interface.rawValue)` endpoint of `\(serviceType)`\(regionText) (it has: \(offered)); set the interface or region to one of these"
            ))
        default:
            let regions = Set(matching.map { $0.regionID ?? $0.region ?? "-" }).sorted().joined(separator: ", ")
            return .failure(.init(
                "the catalog has \(matching.count) `\(interface.rawValue)` endpoints of `\(serviceType)` (regions: \(regions)); set the region"
            ))
        }
    }
}

/// Why a catalog lookup found no single endpoint.
struct CatalogLookupFailure: Error, Sendable, Equatable {
    var message: String
    init(_ message: String) { self.message = message }
}

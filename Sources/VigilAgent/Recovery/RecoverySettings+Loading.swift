import VigilCore
import Yams

// The `recovery:` section of the config file (YAML), file only:
//
//     recovery:
//       driver: masakari                 # masakari | nova | script (required)
//       timeout: 5m                      # one recovery call (5m)
//       keystone:                        # Keystone v3; or `noauth: true` with `endpoint`
//         auth_url: https://keystone:5000/v3
//         username: vigil                # password auth: username, password_file,
//         user_domain_name: Default      #   user_domain_name (Default), project_name,
//         project_name: service          #   project_domain_name (Default)
//         project_domain_name: Default
//         password_file: /etc/vigil/keystone-password
//         # application_credential_id: ID     # or an application credential
//         # secret_file: /etc/vigil/appcred-secret
//         interface: internal            # public | internal | admin (public)
//         region: RegionOne              # optional; needed if several regions
//       endpoint: https://masakari:15868 # optional: skip the catalog
//       noauth: false                    # true: no Keystone (test clouds; needs endpoint)
//       noauth_token: admin:admin        # X-Auth-Token sent with noauth ("" sends none)
//       masakari: {service_type: instance-ha}
//       nova: {service_type: compute, concurrency: 4, evacuable_filter: all,
//              evacuable_key: evacuable, microversion: "2.53", page_size: 1000}
//       script: {path: /usr/local/bin/recover, args: [], kill_grace: 5s}

extension RecoverySettings {
    /// Reads the `recovery:` section.
    /// - Parameters:
    ///   - node: the section's YAML node (a mapping).
    ///   - source: the config file's path, for errors.
    /// - Throws: `ConfigurationError` naming the dotted key at fault.
    public static func read(_ node: Node, source: String) throws(ConfigurationError) -> RecoverySettings {
        let root = try ConfigSection(node: node, key: "recovery", source: source, allowed: [
            "driver", "timeout", "keystone", "endpoint", "noauth", "noauth_token", "masakari", "nova", "script",
        ])
        var timeout = Duration.seconds(300)
        if let text = try root.string("timeout") {
            guard let parsed = Duration(parsing: text), parsed > .zero else {
                throw root.error("timeout", "must be a duration above zero like `5m`, got `\(text)`")
            }
            timeout = parsed
        }
        guard let driverName = try root.string("driver") else {
            throw root.error("driver", "is required: one of `masakari`, `nova`, `script`")
        }
        switch driverName {
        case "masakari":
            let access = try Self.access(root)
            var settings = MasakariRecoveryDriver.Settings(access: access)
            if let section = try root.section("masakari", allowed: ["service_type"]) {
                if let type = try section.string("service_type") { settings.serviceType = type }
            }
            return RecoverySettings(driver: .masakari(settings), timeout: timeout)
        case "nova":
            let access = try Self.access(root)
            var settings = NovaRecoveryDriver.Settings(access: access)
            if let section = try root.section(
                "nova", allowed: ["service_type", "concurrency", "evacuable_filter", "evacuable_key", "microversion", "page_size"])
            {
                if let type = try section.string("service_type") { settings.serviceType = type }
                if let concurrency = try section.integer("concurrency", atLeast: 1) { settings.concurrency = concurrency }
                if let pageSize = try section.integer("page_size", atLeast: 1) { settings.pageSize = pageSize }
                if let version = try section.string("microversion") {
                    let parts = version.split(separator: ".").compactMap { Int($0) }
                    guard parts.count == 2, parts[0] == 2, parts[1] >= 53 else {
                        throw section.error("microversion", "must be a compute microversion of at least `2.53` (service ids), got `\(version)`")
                    }
                    settings.microversion = version
                }
                let key = try section.string("evacuable_key") ?? "evacuable"
                switch try section.string("evacuable_filter") ?? "all" {
                case "all": settings.filter = .all
                case "tagged": settings.filter = .tagged(key: key)
                case let other:
                    throw section.error("evacuable_filter", "must be `all` or `tagged`, got `\(other)`")
                }
            }
            return RecoverySettings(driver: .nova(settings), timeout: timeout)
        case "script":
            guard let section = try root.section("script", allowed: ["path", "args", "kill_grace"]),
                let path = try section.string("path")
            else {
                throw root.error("script.path", "is required with `driver: script`: the executable to run")
            }
            guard path.hasPrefix("/") else { throw section.error("path", "must be an absolute path, got `\(path)`") }
            var settings = ScriptRecoveryDriver.Settings(path: path)
            settings.arguments = try section.strings("args") ?? []
            if let text = try section.string("kill_grace") {
                guard let grace = Duration(parsing: text), grace > .zero else {
                    throw section.error("kill_grace", "must be a duration above zero like `5s`, got `\(text)`")
                }
                settings.killGrace = grace
            }
            return RecoverySettings(driver: .script(settings), timeout: timeout)
        default:
            throw root.error("driver", "must be one of `masakari`, `nova`, `script`, got `\(driverName)`")
        }
    }

    private static func access(_ root: ConfigSection) throws(ConfigurationError) -> OpenStackAccess {
        let endpoint = try root.string("endpoint")
        if let endpoint {
            guard endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://") else {
                throw root.error("endpoint", "must be an http:// or https:// URL, got `\(endpoint)`")
            }
        }
        if try root.bool("noauth") == true {
            guard let endpoint else {
                throw root.error("endpoint", "is required with `noauth: true` (there is no catalog without Keystone)")
            }
            let token = try root.string("noauth_token") ?? "admin:admin"
            return .noauth(endpoint: endpoint, token: token.isEmpty ? nil : token)
        }
        guard let keystone = try root.section("keystone", allowed: [
            "auth_url", "username", "user_domain_name", "project_name", "project_domain_name", "password_file",
            "application_credential_id", "secret_file", "interface", "region",
        ]) else {
            throw root.error("keystone", "is required (or `noauth: true` with `endpoint`): Keystone v3 credentials")
        }
        guard let authURL = try keystone.string("auth_url") else {
            throw keystone.error("auth_url", "is required: Keystone's v3 URL like `https://keystone:5000/v3`")
        }
        let credentials: OpenStackCredentials
        if let id = try keystone.string("application_credential_id") {
            guard let file = try keystone.string("secret_file") else {
                throw keystone.error("secret_file", "is required with `application_credential_id`: the file holding the secret")
            }
            credentials = .applicationCredential(id: id, secretFile: file)
        } else {
            guard let user = try keystone.string("username") else {
                throw keystone.error("username", "is required (or `application_credential_id` and `secret_file`)")
            }
            guard let project = try keystone.string("project_name") else {
                throw keystone.error("project_name", "is required with `username`: the project to scope the token to")
            }
            guard let file = try keystone.string("password_file") else {
                throw keystone.error("password_file", "is required with `username`: the file holding the password (never the password itself)")
            }
            credentials = .password(
                user: user, userDomain: try keystone.string("user_domain_name") ?? "Default", project: project,
                projectDomain: try keystone.string("project_domain_name") ?? "Default", passwordFile: file)
        }
        var settings = KeystoneSettings(authURL: authURL, credentials: credentials)
        if let text = try keystone.string("interface") {
            guard let interface = EndpointInterface(rawValue: text) else {
                throw keystone.error("interface", "must be `public`, `internal` or `admin`, got `\(text)`")
            }
            settings.interface = interface
        }
        settings.region = try keystone.string("region")
        return .keystone(settings, endpoint: endpoint)
    }
}

import Testing
import Yams

@testable import VigilAgent

/// The `recovery:` section of the config file.
struct RecoverySettingsTests {
    static func read(_ yaml: String) throws -> RecoverySettings {
        let node = try #require(try Yams.compose(yaml: yaml))
        return try RecoverySettings.read(node, source: "vigil.yaml")
    }

    static func error(_ yaml: String) throws -> ConfigurationError {
        let node = try #require(try Yams.compose(yaml: yaml))
        return try #require(throws: ConfigurationError.self) { try RecoverySettings.read(node, source: "vigil.yaml") }
    }

    @Test func masakariWithPasswordAuthReadsEveryKeystoneKey() throws {
        let settings = try Self.read("""
            driver: masakari
            timeout: 90s
            keystone:
              auth_url: https://keystone:5000/v3
              username: vigil
              project_name: service
              password_file: /etc/vigil/keystone-password
              interface: internal
              region: RegionOne
            """)
        let keystone = KeystoneSettings(
            authURL: "https://keystone:5000/v3",
            credentials: .password(user: "vigil", userDomain: "Default", project: "service", projectDomain: "Default", passwordFile: "/etc/vigil/keystone-password"),
            interface: .internal, region: "RegionOne")
        #expect(settings == RecoverySettings(driver: .masakari(.init(access: .keystone(keystone))), timeout: .seconds(90)))
    }

    @Test func novaWithApplicationCredentialAndFilter() throws {
        let settings = try Self.read("""
            driver: nova
            endpoint: https://nova.internal:8774/v2.1
            keystone: {auth_url: "https://keystone/v3", application_credential_id: ac1, secret_file: /etc/vigil/ac}
            nova: {concurrency: 8, evacuable_filter: tagged, evacuable_key: ha, microversion: "2.60", page_size: 200}
            """)
        let keystone = KeystoneSettings(authURL: "https://keystone/v3", credentials: .applicationCredential(id: "ac1", secretFile: "/etc/vigil/ac"))
        #expect(settings.driver == .nova(.init(
            access: .keystone(keystone, endpoint: "https://nova.internal:8774/v2.1"), concurrency: 8,
            filter: .tagged(key: "ha"), microversion: "2.60", pageSize: 200)))
        #expect(settings.timeout == .seconds(300))
    }

    @Test func noauthNeedsAnEndpoint() throws {
        #expect(try Self.read("{driver: masakari, noauth: true, endpoint: 'http://127.0.0.1:15868'}").driver
            == .masakari(.init(access: .noauth(endpoint: "http://127.0.0.1:15868", token: "admin:admin"))))
        #expect(try Self.error("{driver: masakari, noauth: true}").description
            == "vigil.yaml: `recovery.endpoint` is required with `noauth: true` (there is no catalog without Keystone)")
    }

    @Test func badValuesNameTheirKey() throws {
        #expect(try Self.error("{driver: pacemaker}").description
            == "vigil.yaml: `recovery.driver` must be one of `masakari`, `nova`, `script`, got `pacemaker`")
        #expect(try Self.error("{driver: nova, keystone: {auth_url: x, username: u, project_name: p, password: hunter2}}").description
            == "vigil.yaml: `recovery.keystone.password` is not a setting here (known: auth_url, username, user_domain_name, project_name, project_domain_name, password_file, application_credential_id, secret_file, interface, region)")
        #expect(try Self.error("{driver: nova, noauth: true, endpoint: 'http://n', nova: {microversion: '2.29'}}").description
            == "vigil.yaml: `recovery.nova.microversion` must be a compute microversion of at least `2.53` (service ids), got `2.29`")
        #expect(try Self.error("{driver: nova, noauth: true, endpoint: 'http://n', nova: {concurrency: 0}}").description
            == "vigil.yaml: `recovery.nova.concurrency` must be a whole number of at least 1, got `0`")
        #expect(try Self.error("{driver: script, script: {path: recover.sh}}").description
            == "vigil.yaml: `recovery.script.path` must be an absolute path, got `recover.sh`")
    }

    @Test func scriptWithArguments() throws {
        let settings = try Self.read("{driver: script, script: {path: /usr/local/bin/recover, args: [--all, -v], kill_grace: 2s}}")
        #expect(settings.driver == .script(.init(path: "/usr/local/bin/recover", arguments: ["--all", "-v"], killGrace: .seconds(2))))
    }
}

import Foundation
import Testing
import VigilCore
import VigilCrypto

@testable import VigilAgent

/// The `ha:`, `fencing:` and `recovery:` sections of the config file: what turns HA
/// on, every node's fence levels (with `{node}` filled in and per-node overrides), and
/// bad input of every kind refused at load with the dotted key at fault.
@Suite struct HAConfigurationLoadingTests {
    static let key = ClusterKey.generate().base64
    static let secret = "Bmc-Secret-7Qz"

    /// A directory with the password files and a fence program the sections name.
    final class Files {
        let directory: String
        var bmcPassword: String { "\(self.directory)/bmc-password" }
        var pduProgram: String { "\(self.directory)/fence_pdu" }

        init() throws {
            self.directory = try FencingComponents.makeDirectory()
            try FencingComponents.write(HAConfigurationLoadingTests.secret + "\n", to: self.bmcPassword)
            _ = try FencingComponents.script("exit 0", at: self.pduProgram)
            for node in ["compute-01", "compute-02"] {
                try FencingComponents.write("pw-\(node)\n", to: "\(self.directory)/\(node).ipmi")
            }
        }

        deinit { FencingComponents.removeDirectory(self.directory) }
    }

    func load(_ file: String) throws(ConfigurationError) -> AgentConfiguration {
        try AgentConfiguration.load(flags: AgentFlags(encrypt: Self.key, config: "vigil.yaml"), environment: [:]) { _ in
            file
        }
    }

    /// The error loading `file` gives: one line, from `vigil.yaml`, never the password.
    func loadError(_ file: String, sourceLocation: SourceLocation = #_sourceLocation) -> ConfigurationError? {
        do {
            let configuration = try self.load(file)
            Issue.record("expected an error, loaded \(configuration)", sourceLocation: sourceLocation)
            return nil
        } catch {
            #expect(!error.description.contains("\n"), "errors are one line", sourceLocation: sourceLocation)
            #expect(error.source == "vigil.yaml", sourceLocation: sourceLocation)
            #expect(!error.description.contains(Self.secret), "no secret in errors", sourceLocation: sourceLocation)
            return error
        }
    }

    func redfish(_ files: Files, url: String = "https://{node}-bmc.example:443") -> String {
        """
        {method: redfish, url: "\(url)", system: /redfish/v1/Systems/1, username: vigil, password_file: \(files.bmcPassword), insecure: true}
        """
    }

    func recovery(_ timeout: String = "2m") -> String {
        "recovery: {driver: masakari, noauth: true, endpoint: 'http://127.0.0.1:15868', timeout: \(timeout)}"
    }

    // MARK: A full file

    @Test func aFullFileGivesEveryNodeItsLevelsWithItsNameFilledIn() throws {
        let files = try Files()
        let configuration = try self.load(
            """
            ha:
              max_failed_share: 25%
              max_fences_per_window: 2
              fence_window: 5m
              action_timeout: 10m
              retry_min: 2s
              retry_max: 1m
            fencing:
              timeout: 45s
              levels:
                - - \(self.redfish(files))
                - - method: fence_agent
                    agent: \(files.pduProgram)
                    options: {ip: "{node}-ipmi.example", username: vigil, lanplus: 1}
                    password_file: \(files.directory)/{node}.ipmi
              nodes:
                compute-03:
                  levels:
                    - [{method: ipmitool, host: 10.0.1.13, port: 6230, username: admin, password_file: \(files.bmcPassword)},
                       {method: script, path: \(files.pduProgram), args: ["{node}", "outlet-7"], env: {PDU: a}}]
            \(self.recovery())
            """)

        #expect(
            configuration.protocolConfiguration.ha
                == Configuration.HA(
                    enabled: true, maxFailedShare: 0.25, maxFencesPerWindow: 2, fenceWindow: .seconds(300),
                    actionTimeout: .seconds(600), retryMin: .seconds(2), retryMax: .seconds(60)))
        #expect(configuration.haOffReason == nil)
        let fencing = try #require(configuration.fencing)
        #expect(fencing.timeout == .seconds(45))

        var bmc = RedfishSettings(
            baseURL: "https://compute-02-bmc.example:443", systemPath: "/redfish/v1/Systems/1", username: "vigil",
            passwordFile: files.bmcPassword)
        bmc.insecure = true
        let agent = FenceAgentSettings(
            agent: files.pduProgram, options: ["ip": "compute-02-ipmi.example", "username": "vigil", "lanplus": "1"],
            passwordFile: "\(files.directory)/compute-02.ipmi")
        #expect(fencing.levels(for: "compute-02") == [[.redfish(bmc)], [.fenceAgent(agent)]])

        var ipmi = IPMIToolSettings(host: "10.0.1.13", username: "admin", passwordFile: files.bmcPassword)
        ipmi.port = 6230
        let pdu = ScriptFenceSettings(executable: files.pduProgram, arguments: ["compute-03", "outlet-7"], environment: ["PDU": "a"])
        #expect(fencing.levels(for: "compute-03") == [[.ipmitool(ipmi), .script(pdu)]])
        // A fence ordered for compute-03 runs two methods, each with the whole timeout.
        #expect(fencing.longestFence == .seconds(90))

        #expect(
            configuration.recovery
                == RecoverySettings(
                    driver: .masakari(.init(access: .noauth(endpoint: "http://127.0.0.1:15868", token: "admin:admin"))),
                    timeout: .seconds(120)))
    }

    @Test func haIsOnExactlyWhenFencingAndRecoveryAreBothThere() throws {
        let files = try Files()
        let fencing = "fencing: {levels: [[\(self.redfish(files))]]}"

        let both = try self.load("\(fencing)\n\(self.recovery("5m"))")
        #expect(both.protocolConfiguration.ha.enabled)
        // The core's backstop waits longer than the slowest driver call (recovery's 5m).
        #expect(both.protocolConfiguration.ha.actionTimeout == .seconds(330))
        #expect(both.protocolConfiguration.ha.maxFailedShare == 0.3)

        let fencingOnly = try self.load(fencing)
        #expect(!fencingOnly.protocolConfiguration.ha.enabled)
        #expect(fencingOnly.haOffReason == "the config file has no `recovery:` section")

        let neither = try self.load("name: compute-01")
        #expect(!neither.protocolConfiguration.ha.enabled)
        #expect(neither.haOffReason == "the config file has no `fencing:` and `recovery:` section")

        let switchedOff = try self.load("ha: {enabled: false}\n\(fencing)\n\(self.recovery())")
        #expect(!switchedOff.protocolConfiguration.ha.enabled)
        #expect(switchedOff.haOffReason == "`ha.enabled: false` in the config file")
        #expect(switchedOff.fencing != nil)
    }

    @Test func enabledWithoutFencingOrRecoverySaysWhatIsMissing() throws {
        let files = try Files()
        let error = try #require(self.loadError("ha: {enabled: true}\nfencing: {levels: [[\(self.redfish(files))]]}"))
        #expect(error.key == "ha.enabled")
        #expect(error.message.contains("no `recovery:` section"))
        #expect(self.loadError("ha: {enabled: true}")?.message.contains("no `fencing:` and `recovery:` section") == true)
    }

    @Test func aPasswordFileWithThePlaceholderIsReadAtEachFenceNotAtLoad() throws {
        let files = try Files()
        let configuration = try self.load(
            """
            fencing:
              levels: [[{method: ipmitool, host: "{node}-ipmi", username: admin, password_file: "\(files.directory)/{node}.ipmi"}]]
            """)
        // compute-09 has no password file: that fence fails then, naming the file.
        let levels = try #require(configuration.fencing?.levels(for: "compute-09"))
        guard case .ipmitool(let settings) = levels[0][0] else { Issue.record("not ipmitool: \(levels)"); return }
        #expect(settings.passwordFile == "\(files.directory)/compute-09.ipmi")
        #expect(settings.host == "compute-09-ipmi")
    }

    // MARK: Bad input

    @Test(arguments: [
        // (the sections, the key the error must name)
        ("fencing: [a, b]", "fencing"),
        ("fencing: {timeout: 60s}", "fencing.levels"),
        ("fencing: {levels: {method: redfish}}", "fencing.levels"),
        ("fencing: {levels: []}", "fencing.levels"),
        ("fencing: {levels: [REDFISH]}", "fencing.levels[0]"),
        ("fencing: {levels: [[]]}", "fencing.levels[0]"),
        ("fencing: {timeout: soon, levels: [[REDFISH]]}", "fencing.timeout"),
        ("fencing: {levles: [[REDFISH]]}", "fencing.levles"),
        ("fencing: {levels: [[REDFISH], [{method: pdu}]]}", "fencing.levels[1][0].method"),
        ("fencing: {levels: [[REDFISH], [{agent: fence_apc}]]}", "fencing.levels[1][0].method"),
        ("fencing: {levels: [[{method: redfish, url: 'https://b', system: /s, username: u, password_file: PW, passwd: x}]]}",
         "fencing.levels[0][0].passwd"),
        ("fencing: {levels: [[{method: redfish, system: /s, username: u, password_file: PW}]]}", "fencing.levels[0][0].url"),
        ("fencing: {levels: [[{method: redfish, url: 'bmc:443', system: /s, username: u, password_file: PW}]]}",
         "fencing.levels[0][0].url"),
        ("fencing: {levels: [[{method: redfish, url: 'https://b', system: /s, username: u}]]}",
         "fencing.levels[0][0].password_file"),
        ("fencing: {levels: [[{method: redfish, url: 'https://b', system: /s, username: u, password_file: /nonexistent/pw}]]}",
         "fencing.levels[0][0].password_file"),
        ("fencing: {levels: [[{method: redfish, url: 'https://b', system: /s, username: u, password_file: DIR}]]}",
         "fencing.levels[0][0].password_file"),
        ("fencing: {levels: [[{method: redfish, url: 'https://b', system: /s, username: u, password_file: PW, insecure: maybe}]]}",
         "fencing.levels[0][0].insecure"),
        ("fencing: {levels: [[{method: fence_agent, agent: fence_nonexistent_agent}]]}", "fencing.levels[0][0].agent"),
        ("fencing: {levels: [[{method: fence_agent, agent: PDU, options: {action: 'off'}}]]}",
         "fencing.levels[0][0].options.action"),
        ("fencing: {levels: [[{method: fence_agent, agent: PDU, options: [ip]}]]}", "fencing.levels[0][0].options"),
        ("fencing: {levels: [[{method: ipmitool, host: h, username: u, password_file: PW, port: 70000}]]}",
         "fencing.levels[0][0].port"),
        ("fencing: {levels: [[{method: script, path: /nonexistent/fence}]]}", "fencing.levels[0][0].path"),
        ("fencing: {levels: [[{method: script, path: PDU, args: {a: b}}]]}", "fencing.levels[0][0].args"),
        ("fencing: {nodes: {compute-03: {level: [[REDFISH]]}}}", "fencing.nodes.compute-03.level"),
        ("fencing: {nodes: {compute-03: {}}}", "fencing.nodes.compute-03.levels"),
        ("fencing: {nodes: {compute-03: {levels: [[REDFISH], [{method: script}]]}}}",
         "fencing.nodes.compute-03.levels[1][0].path"),
        ("ha: {enable: true}", "ha.enable"),
        ("ha: {max_failed_share: 1.5}", "ha.max_failed_share"),
        ("ha: {max_failed_share: 0}", "ha.max_failed_share"),
        ("ha: {max_fences_per_window: 0}", "ha.max_fences_per_window"),
        ("ha: {fence_window: 0s}", "ha.fence_window"),
        ("ha: {retry_min: 10m, retry_max: 1m}", "ha.retry_min"),
        ("ha: {action_timeout: 90s}\nfencing: {timeout: 60s, levels: [[REDFISH], [REDFISH]]}\nRECOVERY",
         "ha.action_timeout"),
        ("ha: {enabled: perhaps}", "ha.enabled"),
        ("fencing: {levels: [[REDFISH]]}\nrecovery: {driver: pacemaker}", "recovery.driver"),
    ])
    func badInputNamesTheDottedKey(sections: String, key: String) throws {
        let files = try Files()
        let yaml = sections
            .replacingOccurrences(of: "RECOVERY", with: self.recovery("1m"))
            .replacingOccurrences(of: "REDFISH", with: self.redfish(files))
            .replacingOccurrences(of: "PW", with: files.bmcPassword)
            .replacingOccurrences(of: "PDU", with: files.pduProgram)
            .replacingOccurrences(of: "DIR", with: files.directory)
        let error = try #require(self.loadError(yaml), "\(yaml)")
        #expect(error.key == key, "\(error)")
    }

    @Test func aMissingPasswordFileNamesThePathAndWhatToDo() throws {
        let error = try #require(
            self.loadError(
                "fencing: {levels: [[{method: redfish, url: 'https://b', system: /s, username: u, password_file: /nonexistent/pw}]]}"
            ))
        #expect(error.key == "fencing.levels[0][0].password_file")
        #expect(error.message.hasPrefix("redfish: cannot read the password file /nonexistent/pw ("))
        #expect(error.message.hasSuffix("create it readable by the agent, with the BMC password on its first line"))
    }
}

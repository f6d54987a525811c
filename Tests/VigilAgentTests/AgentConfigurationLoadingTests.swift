import Testing
import VigilCore
import VigilCrypto

@testable import VigilAgent

/// `AgentConfiguration.load`: precedence, protocol overrides, and one-line errors
/// that name their source and key.
@Suite struct AgentConfigurationLoadingTests {
    static let key = ClusterKey.generate().base64
    static let otherKey = ClusterKey.generate().base64

    /// Loads with `file` as the contents of `vigil.yaml` (when given).
    func load(
        _ flags: AgentFlags = AgentFlags(), environment: [String: String] = [:], file: String? = nil
    ) throws(ConfigurationError) -> AgentConfiguration {
        var flags = flags
        if file != nil, flags.config == nil { flags.config = "vigil.yaml" }
        return try AgentConfiguration.load(flags: flags, environment: environment) { path in
            guard let file, path == "vigil.yaml" else {
                throw FileSystem.Failure(operation: "open", path: path, code: 2)
            }
            return file
        }
    }

    /// The error `load` throws, or a test failure if it succeeds.
    func loadError(
        _ flags: AgentFlags = AgentFlags(), environment: [String: String] = [:], file: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> ConfigurationError? {
        do {
            let configuration = try self.load(flags, environment: environment, file: file)
            Issue.record("expected an error, loaded \(configuration)", sourceLocation: sourceLocation)
            return nil
        } catch {
            #expect(!error.description.contains("\n"), "errors are one line", sourceLocation: sourceLocation)
            return error
        }
    }

    var keyed: AgentFlags { AgentFlags(encrypt: Self.key) }

    // MARK: Defaults and precedence

    @Test func defaultsApplyWhenNothingIsSet() throws {
        let configuration = try self.load(self.keyed)
        #expect(configuration.name == AgentConfiguration.hostName())
        #expect(configuration.bind == Address(host: "0.0.0.0", port: 7946))
        #expect(configuration.advertise == nil)
        #expect(configuration.join.isEmpty)
        #expect(configuration.tags.isEmpty)
        #expect(configuration.dataDirectory == "/var/lib/vigil")
        #expect(configuration.controlPath == nil)
        #expect(configuration.controlSocketPath == "/var/lib/vigil/vigil.sock")
        #expect(configuration.metricsAddress == nil)
        #expect(configuration.preset == "lan")
        #expect(configuration.protocolConfiguration == .lan)
        #expect(configuration.insecureNoEncryption == false)
        #expect(configuration.encryptKey == Self.key)
    }

    @Test func flagBeatsEnvironmentBeatsFileBeatsDefault() throws {
        let file = """
            name: from-file
            bind: 10.0.0.1:1000
            advertise: 10.0.0.1:1001
            data_dir: /file/dir
            metrics: 10.0.0.1:1002
            preset: wan
            """
        let environment = [
            "VIGIL_BIND": "10.0.0.2:2000",
            "VIGIL_ADVERTISE": "10.0.0.2:2001",
            "VIGIL_DATA_DIR": "/env/dir",
        ]
        let flags = AgentFlags(bind: "10.0.0.3:3000", encrypt: Self.key)
        let configuration = try self.load(flags, environment: environment, file: file)
        #expect(configuration.bind == Address(host: "10.0.0.3", port: 3000))  // flag
        #expect(configuration.advertise == Address(host: "10.0.0.2", port: 2001))  // environment
        #expect(configuration.dataDirectory == "/env/dir")  // environment
        #expect(configuration.name == "from-file")  // file
        #expect(configuration.metricsAddress == Address(host: "10.0.0.1", port: 1002))  // file
        #expect(configuration.protocolConfiguration == .wan)  // file
        #expect(configuration.controlSocketPath == "/env/dir/vigil.sock")  // default, from the winning data dir
    }

    @Test func everySettingCanComeFromTheEnvironment() throws {
        let environment = [
            "VIGIL_NAME": "env-node",
            "VIGIL_BIND": "127.0.0.1:0",
            "VIGIL_ADVERTISE": "[::1]:7000",
            "VIGIL_JOIN": "10.0.0.1:7946, 10.0.0.2:7946",
            "VIGIL_DATA_DIR": "/d",
            "VIGIL_CONTROL": "/run/vigil.sock",
            "VIGIL_ENCRYPT": Self.key,
            "VIGIL_KEYRING_FILE": "/etc/vigil/keyring.json",
            "VIGIL_TAGS": "zone=a,role=compute",
            "VIGIL_METRICS": "127.0.0.1:9090",
            "VIGIL_PRESET": "LOCAL",
        ]
        let configuration = try self.load(environment: environment)
        #expect(configuration.name == "env-node")
        #expect(configuration.bind == Address(host: "127.0.0.1", port: 0))
        #expect(configuration.advertise == Address(host: "::1", port: 7000))
        #expect(configuration.join == [Address(host: "10.0.0.1", port: 7946), Address(host: "10.0.0.2", port: 7946)])
        #expect(configuration.controlSocketPath == "/run/vigil.sock")
        #expect(configuration.keyringFile == "/etc/vigil/keyring.json")
        #expect(configuration.tags == ["zone": "a", "role": "compute"])
        #expect(configuration.metricsAddress == Address(host: "127.0.0.1", port: 9090))
        #expect(configuration.preset == "local")
        #expect(configuration.protocolConfiguration == .local)
    }

    @Test func emptyEnvironmentVariablesCountAsUnset() throws {
        let configuration = try self.load(
            self.keyed, environment: ["VIGIL_BIND": "", "VIGIL_NAME": ""], file: "name: from-file")
        #expect(configuration.name == "from-file")
        #expect(configuration.bind == AgentConfiguration.defaultBind)
    }

    @Test func joinFromAHigherLayerReplacesTheList() throws {
        let file = "join: [10.0.0.1:1, 10.0.0.2:2]"
        let fromFile = try self.load(self.keyed, file: file)
        #expect(fromFile.join.count == 2)
        let fromEnvironment = try self.load(self.keyed, environment: ["VIGIL_JOIN": "10.0.0.9:9"], file: file)
        #expect(fromEnvironment.join == [Address(host: "10.0.0.9", port: 9)])
        var flags = self.keyed
        flags.join = ["10.0.0.7:7", "10.0.0.8:8"]
        let fromFlags = try self.load(flags, environment: ["VIGIL_JOIN": "10.0.0.9:9"], file: file)
        #expect(fromFlags.join == [Address(host: "10.0.0.7", port: 7), Address(host: "10.0.0.8", port: 8)])
    }

    @Test func tagsMergeKeyByKeyWithTheHigherLayerWinning() throws {
        let file = "tags: {zone: file, rack: r1, role: storage}"
        var flags = self.keyed
        flags.tags = ["role=compute"]
        let configuration = try self.load(flags, environment: ["VIGIL_TAGS": "zone=env"], file: file)
        #expect(configuration.tags == ["zone": "env", "rack": "r1", "role": "compute"])
    }

    @Test func jsonIsAValidConfigFile() throws {
        let file = #"{"name": "json-node", "join": ["10.0.0.1:7946"], "protocol": {"probe": {"period": "1s"}}}"#
        let configuration = try self.load(self.keyed, file: file)
        #expect(configuration.name == "json-node")
        #expect(configuration.join == [Address(host: "10.0.0.1", port: 7946)])
        #expect(configuration.protocolConfiguration.probe.period == .seconds(1))
    }

    @Test func emptyConfigFileAndNullValuesSetNothing() throws {
        #expect(try self.load(self.keyed, file: "") == self.load(self.keyed))
        let configuration = try self.load(self.keyed, file: "advertise:\nname: ~\nprotocol:\n")
        #expect(configuration.advertise == nil)
        #expect(configuration.name == AgentConfiguration.hostName())
    }

    // MARK: Protocol overrides

    @Test func protocolOverridesChangeExactlyTheNamedFields() throws {
        let file = """
            preset: wan
            protocol:
              probe: {observers: 7, period: 1m30s, timeout: 500ms, indirect_probes: 4}
              phi: {threshold: 10.5, window_size: 50, min_std_deviation: 20ms, acceptable_pause: 0}
              lifeguard: {suspicion_min: 1s, suspicion_max: 1h, vote_health_limit: 3}
              gossip: {mtu: 9000, interval: 250ms, fanout: 5, sync_interval: 2m, retransmit_multiplier: 6,
                       reconnect_interval: 45s, reconnect_max_backoff: 15m, reconnect_timeout: 72h}
              quorum: {flap_limit: 9, flap_window: 10m, max_suspect_share_to_vote: 40%, gray_round_failure_share: 25%, gray_min_rounds: 30, gray_failure_ratio: 3}
            """
        let configuration = try self.load(self.keyed, file: file).protocolConfiguration
        var expected = Configuration.wan
        expected.probe.observers = 7
        expected.probe.period = .seconds(90)
        expected.probe.timeout = .milliseconds(500)
        expected.probe.indirectProbes = 4
        expected.phi.threshold = 10.5
        expected.phi.windowSize = 50
        expected.phi.minStdDeviation = .milliseconds(20)
        expected.phi.acceptablePause = .zero
        expected.lifeguard.suspicionMin = .seconds(1)
        expected.lifeguard.suspicionMax = .seconds(3600)
        expected.lifeguard.voteHealthLimit = 3
        expected.gossip.mtu = 9000
        expected.gossip.interval = .milliseconds(250)
        expected.gossip.fanout = 5
        expected.gossip.syncInterval = .seconds(120)
        expected.gossip.retransmitMultiplier = 6
        expected.gossip.reconnectInterval = .seconds(45)
        expected.gossip.reconnectMaxBackoff = .seconds(900)
        expected.gossip.reconnectTimeout = .seconds(72 * 3600)
        expected.quorum.flapLimit = 9
        expected.quorum.flapWindow = .seconds(600)
        expected.quorum.maxSuspectShareToVote = 0.4
        expected.quorum.grayRoundFailureShare = 0.25
        expected.quorum.grayMinRounds = 30
        expected.quorum.grayFailureRatio = 3
        #expect(configuration == expected)
    }

    @Test func oneOverrideLeavesTheRestOfThePresetAlone() throws {
        let configuration = try self.load(self.keyed, file: "protocol:\n  probe:\n    period: 2s\n")
        var expected = Configuration.lan
        expected.probe.period = .seconds(2)
        #expect(configuration.protocolConfiguration == expected)
    }

    @Test func overridesApplyToThePresetChosenByAHigherLayer() throws {
        var flags = self.keyed
        flags.preset = "local"
        let configuration = try self.load(flags, file: "preset: wan\nprotocol: {gossip: {fanout: 9}}")
        var expected = Configuration.local
        expected.gossip.fanout = 9
        #expect(configuration.protocolConfiguration == expected)
    }

    @Test func durationParserReadsEveryUnitAndCombinations() {
        #expect(Check.duration("500ms") == .milliseconds(500))
        #expect(Check.duration("2s") == .seconds(2))
        #expect(Check.duration("1m") == .seconds(60))
        #expect(Check.duration("1h") == .seconds(3600))
        #expect(Check.duration("1m30s") == .seconds(90))
        #expect(Check.duration("1.5s") == .milliseconds(1500))
        #expect(Check.duration("250us") == .microseconds(250))
        #expect(Check.duration("0") == .zero)
        for bad in ["", "fast", "5", "-1s", "1x", "s", "1s fast", "1e400h"] {
            #expect(Check.duration(bad) == nil, "\(bad)")
        }
        #expect(Check.format(.seconds(90)) == "1m30s")
        #expect(Check.format(.milliseconds(500)) == "500ms")
        #expect(Check.format(.seconds(7200)) == "2h")
    }

    // MARK: Errors name their source and key

    @Test func badDurationNamesTheFileAndKey() {
        let error = self.loadError(self.keyed, file: "protocol:\n  probe:\n    period: fast\n")
        #expect(
            error?.description
                == "vigil.yaml: `protocol.probe.period` must be a duration above zero like `500ms`, got `fast`")
    }

    @Test func badAddressNamesTheEnvironmentVariable() {
        let error = self.loadError(self.keyed, environment: ["VIGIL_BIND": "nonsense"])
        #expect(error?.description == "VIGIL_BIND: must be HOST:PORT like `0.0.0.0:7946`, got `nonsense`")
    }

    @Test func badAddressNamesTheFlag() {
        var flags = self.keyed
        flags.join = ["10.0.0.1:7946", "10.0.0.2"]
        let error = self.loadError(flags)
        #expect(error?.description == "--join: must be HOST:PORT like `0.0.0.0:7946`, got `10.0.0.2`")
    }

    @Test func badAddressInAFileListNamesTheItem() {
        let error = self.loadError(self.keyed, file: "join:\n  - 10.0.0.1:7946\n  - 10.0.0.2:99999\n")
        #expect(error?.source == "vigil.yaml")
        #expect(error?.key == "join[1]")
        #expect(error?.description.contains("`10.0.0.2:99999`") == true)
    }

    @Test func portZeroIsRefusedWhereOthersMustConnect() {
        let error = self.loadError(self.keyed, environment: ["VIGIL_ADVERTISE": "10.0.0.1:0"])
        #expect(error?.source == "VIGIL_ADVERTISE")
        #expect(error?.message.contains("port other than 0") == true)
    }

    @Test func unknownKeysAreErrorsThatListTheKnownOnes() {
        let top = self.loadError(self.keyed, file: "nmae: x")
        #expect(top?.source == "vigil.yaml")
        #expect(top?.key == "nmae")
        #expect(top?.description.contains("is not a known setting") == true)
        #expect(top?.description.contains("data_dir") == true)

        let group = self.loadError(self.keyed, file: "protocol: {probes: {period: 1s}}")
        #expect(group?.key == "protocol.probes")

        let field = self.loadError(self.keyed, file: "protocol: {probe: {perod: 1s}}")
        #expect(
            field?.description
                == "vigil.yaml: `protocol.probe.perod` is not a known setting; the keys in `protocol.probe` are "
                + "observers, period, timeout, indirect_probes")
    }

    @Test func wrongTypesNameTheKeyAndWhatWasGiven() {
        let tags = self.loadError(self.keyed, file: "tags: [a, b]")
        #expect(tags?.key == "tags")
        #expect(tags?.description.contains("got a list") == true)

        let name = self.loadError(self.keyed, file: "name: {first: a}")
        #expect(name?.key == "name")
        #expect(name?.description.contains("got a mapping") == true)

        let join = self.loadError(self.keyed, file: "join: 10.0.0.1:7946")
        #expect(join?.key == "join")
        #expect(join?.description.contains("must be a list") == true)

        let observers = self.loadError(self.keyed, file: "protocol: {probe: {observers: many}}")
        #expect(
            observers?.description
                == "vigil.yaml: `protocol.probe.observers` must be a whole number from 1 to 32, got `many`")

        let insecure = self.loadError(file: "insecure_no_encryption: maybe")
        #expect(insecure?.key == "insecure_no_encryption")

        let root = self.loadError(self.keyed, file: "- a\n- b\n")
        #expect(root?.source == "vigil.yaml")
        #expect(root?.description.contains("must be a mapping") == true)
    }

    @Test func malformedYamlIsOneLineWithAPosition() {
        let error = self.loadError(self.keyed, file: "name: a\n  bind: [\n")
        #expect(error?.source == "vigil.yaml")
        #expect(error?.description.contains("is not valid YAML: line") == true)

        let duplicate = self.loadError(self.keyed, file: "name: a\nname: b\n")
        #expect(duplicate?.description.contains("duplicate key `name`") == true)
    }

    @Test func missingConfigFileNamesThePathAndTheReason() {
        let error = self.loadError(AgentFlags(encrypt: Self.key, config: "/x.yaml"))
        #expect(error?.description == "config file /x.yaml: cannot read: No such file or directory")
    }

    @Test func theDefaultFileReaderReportsStrerror() {
        do {
            _ = try AgentConfiguration.load(
                flags: AgentFlags(encrypt: Self.key, config: "/nonexistent/vigil-test.yaml"), environment: [:])
            Issue.record("expected an error")
        } catch {
            #expect(
                error.description == "config file /nonexistent/vigil-test.yaml: cannot read: No such file or directory")
        }
    }

    @Test func badBase64KeyNamesItsSourceWithoutEchoingIt() {
        let secretish = "not-a-key_but-secret"
        let flag = self.loadError(AgentFlags(encrypt: secretish))
        #expect(flag?.source == "--encrypt")
        #expect(flag?.description.contains("must be a cluster key in base64") == true)
        #expect(flag?.description.contains(secretish) == false)

        let environment = self.loadError(environment: ["VIGIL_ENCRYPT": "AAAA"])
        #expect(environment?.source == "VIGIL_ENCRYPT")
        #expect(environment?.description.contains("32 bytes") == true)

        let file = self.loadError(file: "encrypt: '\(Self.key.dropLast(4))'")
        #expect(file?.source == "vigil.yaml")
        #expect(file?.key == "encrypt")
    }

    @Test func outOfRangeValuesAreRefused() {
        let cases: [(String, String)] = [
            ("protocol: {probe: {observers: 0}}", "protocol.probe.observers"),
            ("protocol: {gossip: {mtu: 500}}", "protocol.gossip.mtu"),
            ("protocol: {gossip: {mtu: 65001}}", "protocol.gossip.mtu"),
            ("protocol: {phi: {threshold: 0}}", "protocol.phi.threshold"),
            ("protocol: {phi: {threshold: -1}}", "protocol.phi.threshold"),
            ("protocol: {quorum: {max_suspect_share_to_vote: 1.5}}", "protocol.quorum.max_suspect_share_to_vote"),
            ("protocol: {quorum: {max_suspect_share_to_vote: 120%}}", "protocol.quorum.max_suspect_share_to_vote"),
            ("protocol: {probe: {period: 0}}", "protocol.probe.period"),
            ("protocol: {phi: {window_size: 0}}", "protocol.phi.window_size"),
        ]
        for (file, key) in cases {
            let error = self.loadError(self.keyed, file: file)
            #expect(error?.key == key, "\(file)")
            #expect(error?.source == "vigil.yaml", "\(file)")
        }
    }

    @Test func electionSettingsAndVotersAreRead() throws {
        let file = """
            protocol:
              election: {heartbeat_interval: 2s, lease: 6s, election_timeout_min: 1s, election_timeout_max: 4s,
                         voters: "compute-01, compute-02,compute-03"}
            """
        let election = try self.load(self.keyed, file: file).protocolConfiguration.election
        #expect(election.heartbeatInterval == .seconds(2))
        #expect(election.leaseDuration == .seconds(6))
        #expect(election.electionTimeoutMin == .seconds(1))
        #expect(election.electionTimeoutMax == .seconds(4))
        #expect(election.voters == ["compute-01", "compute-02", "compute-03"])
    }

    @Test func badElectionSettingsNameTheKey() {
        let repeated = self.loadError(self.keyed, file: "protocol: {election: {voters: \"a,b,a\"}}")
        #expect(repeated?.key == "protocol.election.voters")
        #expect(repeated?.message.hasPrefix("must be member names separated by commas") == true)
        let empty = self.loadError(self.keyed, file: "protocol: {election: {voters: \"a,,b\"}}")
        #expect(empty?.key == "protocol.election.voters")
        let slow = self.loadError(self.keyed, file: "protocol: {election: {heartbeat_interval: 2s}}")
        #expect(slow?.key == "protocol.election.heartbeat_interval")
        #expect(slow?.message == "heartbeat_interval (2s) must be at most half of lease (3s)")
        let inverted = self.loadError(self.keyed, file: "protocol: {election: {election_timeout_min: 5s}}")
        #expect(inverted?.key == "protocol.election.election_timeout_min")
    }

    @Test func suspicionMinAboveMaxIsRefused() {
        let error = self.loadError(self.keyed, file: "protocol: {lifeguard: {suspicion_min: 5s}}")
        #expect(error?.key == "protocol.lifeguard.suspicion_min")
        #expect(
            error?.description
                == "vigil.yaml: `protocol.lifeguard.suspicion_min` (5s) must not exceed `suspicion_max` (2s, with "
                + "preset `lan`)")
        let below = self.loadError(self.keyed, file: "protocol: {lifeguard: {suspicion_max: 100ms}}")
        #expect(below?.key == "protocol.lifeguard.suspicion_max")
        #expect(below?.message == "(100ms) must not be below `suspicion_min` (500ms, with preset `lan`)")
        let fine = try? self.load(self.keyed, file: "protocol: {lifeguard: {suspicion_min: 5s, suspicion_max: 5s}}")
        #expect(fine != nil)
    }

    @Test func namesAndTagsMustFitOnTheWire() {
        let long = String(repeating: "n", count: 256)
        let name = self.loadError(AgentFlags(name: long, encrypt: Self.key))
        #expect(name?.source == "--name")
        #expect(name?.message.contains("at most 255 bytes") == true)
        #expect(self.loadError(AgentFlags(name: "", encrypt: Self.key))?.source == "--name")
        // 255 bytes of UTF-8 (85 three-byte characters) fit exactly.
        #expect((try? self.load(AgentFlags(name: String(repeating: "€", count: 85), encrypt: Self.key))) != nil)
        #expect(self.loadError(AgentFlags(name: String(repeating: "€", count: 86), encrypt: Self.key)) != nil)

        let tagValue = self.loadError(self.keyed, file: "tags: {zone: \(long)}")
        #expect(tagValue?.key == "tags.zone")

        var flags = self.keyed
        flags.tags = (0...64).map { "k\($0)=v" }
        let tooMany = self.loadError(flags)
        #expect(tooMany?.source == "--tag")
        #expect(tooMany?.message.contains("at most 64 tags, got 65") == true)

        flags.tags = ["novalue"]
        #expect(self.loadError(flags)?.description == "--tag: must be KEY=VALUE like `zone=a`, got `novalue`")
    }

    @Test func unknownPresetIsRefused() {
        let error = self.loadError(self.keyed, environment: ["VIGIL_PRESET": "fast"])
        #expect(error?.description == "VIGIL_PRESET: must be one of lan, wan, local, got `fast`")
    }

    @Test func controlSocketPathMustFitInSunPath() {
        let deep = "/" + String(repeating: "d", count: 100)
        let error = self.loadError(AgentFlags(dataDirectory: deep, encrypt: Self.key))
        #expect(error?.source == "--data-dir")
        #expect(error?.message.contains("set `--control` to a shorter path") == true)
        let fixed = try? self.load(AgentFlags(dataDirectory: deep, control: "/run/vigil.sock", encrypt: Self.key))
        #expect(fixed?.controlSocketPath == "/run/vigil.sock")
    }

    // MARK: Encryption must be explicit

    @Test func missingKeyWithoutTheInsecureFlagFailsClearly() {
        let error = self.loadError()
        #expect(error?.source == "configuration")
        #expect(error?.description.contains("no cluster key") == true)
        #expect(error?.description.contains("--encrypt") == true)
        #expect(error?.description.contains("--insecure-no-encryption") == true)
    }

    @Test func insecureFlagAllowsRunningWithoutAKey() throws {
        let configuration = try self.load(AgentFlags(insecureNoEncryption: true))
        #expect(configuration.insecureNoEncryption)
        #expect(try configuration.loadKeyring() == nil)
        let fromFile = try self.load(file: "insecure_no_encryption: true")
        #expect(fromFile.insecureNoEncryption)
    }

    @Test func insecureFlagTogetherWithAKeyIsAContradiction() {
        let error = self.loadError(AgentFlags(insecureNoEncryption: true), environment: ["VIGIL_ENCRYPT": Self.key])
        #expect(error?.source == "--insecure-no-encryption")
        #expect(error?.description.contains("VIGIL_ENCRYPT") == true)
    }

    @Test func aKeyringFileAloneCountsAsAKey() throws {
        let configuration = try self.load(AgentFlags(keyringFile: "/etc/vigil/keyring.json"))
        #expect(configuration.keyringFile == "/etc/vigil/keyring.json")
    }
}

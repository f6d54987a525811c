import Logging
import Testing

@testable import VigilAgent

extension AgentConfigurationLoadingTests {
    @Test func logLevelDefaultsToInfoAndComesFromFlagEnvironmentOrFile() throws {
        #expect(try self.load(self.keyed).logLevel == .info)
        #expect(try self.load(self.keyed, file: "log_level: warning").logLevel == .warning)
        #expect(
            try self.load(self.keyed, environment: ["VIGIL_LOG_LEVEL": "Debug"], file: "log_level: warning").logLevel
                == .debug)
        var flags = self.keyed
        flags.logLevel = "trace"
        #expect(try self.load(flags, environment: ["VIGIL_LOG_LEVEL": "debug"]).logLevel == .trace)
    }

    @Test func unknownLogLevelNamesItsSourceAndTheLevels() {
        var flags = self.keyed
        flags.logLevel = "loud"
        #expect(
            self.loadError(flags)?.description
                == "--log-level: must be one of trace, debug, info, notice, warning, error, critical, got `loud`")
        let fromFile = self.loadError(self.keyed, file: "log_level: 3")
        #expect(fromFile?.key == "log_level")
    }
}

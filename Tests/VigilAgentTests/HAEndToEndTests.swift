import Foundation
import Testing
import VigilAgent

#if canImport(Glibc)
    import Glibc
#endif

/// The whole HA path with the shipped executable and real components, on loopback:
/// five `vigil agent` processes (`--preset local`) whose config files map each node to
/// its own system of one sushy-tools Redfish emulator and recover through the real
/// Masakari API (noauth; its host check goes to the Keystone + Nova test server). One
/// agent is SIGKILLed; the test polls the emulator and Masakari, never the clock:
/// each limit below is a hang guard, and a failure says what was seen last.
@Suite(
    "HA end to end: five agents, sushy-emulator, Masakari", .serialized, .timeLimit(.minutes(10)),
    .enabled(if: FencingComponents.haveSushy, "\(FencingComponents.missingSushy)"),
    .enabled(if: MasakariHarness.isInstalled, MasakariHarness.skipReason))
struct HAEndToEndTests {
    static let names = (1...5).map { "node-\($0)" }

    /// Every node's config file: the whole fencing map (any node may lead) and Masakari.
    static func config(sushy: SushyEmulator, masakari: String) -> String {
        let nodes = zip(Self.names, sushy.systems).map { name, system in
            """
                \(name):
                  levels:
                    - - {method: redfish, url: "\(sushy.baseURL)", system: "\(system.path)", username: \(SushyEmulator.username),
                         password_file: "\(sushy.passwordFile)", insecure: true, poll_interval: 200ms}
            """
        }.joined(separator: "\n")
        return """
            ha: {retry_min: 1s, retry_max: 5s}
            fencing:
              timeout: \(Int(FencingComponents.hangGuard.components.seconds))s
              nodes:
            \(nodes)
            recovery: {driver: masakari, noauth: true, endpoint: "\(masakari)", timeout: 60s}

            """
    }

    @Test func theLeaderFencesAKilledAgentThroughItsBMCThenMasakariGetsOneNotification() async throws {
        try await withOpenStackFake({ _ in }) { fake in
            for name in Self.names { fake.addHost(name) }
            try await MasakariHarness.withMasakari(fake: fake) { endpoint in
                let masakari = MasakariAPI(endpoint)
                let hosts = try await masakari.addSegment("vigil-e2e", hosts: Self.names)
                try await SushyEmulator.with(systems: Self.names.map { ($0, "On") }) { (sushy: SushyEmulator) async throws in
                    try await Self.run(sushy: sushy, masakari: masakari, endpoint: endpoint, hosts: hosts)
                }
            }
        }
    }

    /// - Parameter hosts: Masakari's host uuid of each node.
    static func run(sushy: SushyEmulator, masakari: MasakariAPI, endpoint: String, hosts uuids: [String: String]) async throws {
        let agents = try AgentProcesses()
        defer { agents.stopAll() }
        let configFile = agents.directory.appendingPathComponent("vigil.yaml").path
        try Self.config(sushy: sushy, masakari: endpoint).write(toFile: configFile, atomically: true, encoding: .utf8)
        let key = try await agents.vigil(["keygen"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        let system = Dictionary(uniqueKeysWithValues: zip(Self.names, sushy.systems))

        try agents.start(Self.names[0], key: key, config: configFile)
        let seed = try await agents.address(of: Self.names[0])
        for name in Self.names.dropFirst() {
            try agents.start(name, key: key, join: [seed], config: configFile)
        }
        for name in Self.names { _ = try await agents.address(of: name) }
        let allAlive = Dictionary(uniqueKeysWithValues: Self.names.map { ($0, "alive") })
        let joined = await eventually(120) { await agents.everyone(Self.names, sees: allAlive) }
        try #require(joined, "five agents did not all list five alive\n\(agents.logTail())")
        for name in Self.names {
            #expect(agents.log(name).contains("ha.enabled"), "\(name) did not start with HA on\n\(agents.logTail(name))")
        }

        // Kill a follower, so that the leader that fences it is known beforehand.
        var leader: String?
        let led = await eventually(120) {
            guard let answer = try? await agents.vigil(["leader", "--control", agents.controlSocket(Self.names[0]), "--format", "json"]),
                answer.status == 0,
                let object = try? JSONSerialization.jsonObject(with: Data(answer.output.utf8)) as? [String: Any]
            else { return false }
            leader = object["leader"] as? String
            return leader != nil
        }
        let leaderName = try #require(leader, "no leader was elected\n\(agents.logTail())")
        #expect(led)
        let victim = try #require(Self.names.last { $0 != leaderName })
        let survivors = Self.names.filter { $0 != victim }
        #expect(try await agents.signal(victim, SIGKILL) == 128 + SIGKILL)

        // Poll Masakari, then the BMCs: a notification must never be seen before the
        // victim's BMC reads Off (Off is final here, so reading it after is sound).
        var seen = "nothing yet"
        var notificationsForVictim = 0
        var violations: [String] = []
        let recovered = await eventually(240) {
            guard let notifications = try? await masakari.notifications() else { return false }
            var power: [String: String] = [:]
            for name in Self.names {
                power[name] = (try? await sushy.powerState(system[name]!)) ?? "unreadable"
            }
            let byUUID = Dictionary(uniqueKeysWithValues: uuids.map { ($0.value, $0.key) })
            let hosts = notifications.map { ($0["source_host_uuid"] as? String).flatMap { byUUID[$0] } ?? "?" }
            notificationsForVictim = hosts.filter { $0 == victim }.count
            if notificationsForVictim > 0 && power[victim] != "Off" {
                violations.append("a notification for \(victim) while its BMC reads \(power[victim]!)")
            }
            for name in survivors where power[name] != "On" {
                violations.append("\(name)'s BMC reads \(power[name]!)")
            }
            if hosts.contains(where: { $0 != victim }) { violations.append("notifications for \(hosts)") }
            let phase = Self.lastPhase(of: victim, in: agents.log(leaderName))
            seen = "BMC power \(power.sorted { $0.key < $1.key }), notifications for \(hosts), leader's last HA phase \(phase ?? "none")"
            return phase == "recovered" && notificationsForVictim > 0
        }
        try #require(recovered, "\(victim) was not fenced and recovered; last seen: \(seen)\n\(agents.logTail())")
        #expect(violations.isEmpty, "\(violations)")
        #expect(notificationsForVictim == 1, "Masakari got \(notificationsForVictim) notifications for \(victim)")
        #expect(try await sushy.powerState(system[victim]!) == "Off")

        let leaderLog = agents.log(leaderName)
        #expect(
            leaderLog.split(separator: "\n").contains {
                $0.hasSuffix("ha.changed") && $0.contains("ha.phase=fenced") && $0.contains("peer.name=\(victim)")
                    && $0.contains("redfish: PowerState Off")
            }, "the leader's log has no Redfish-confirmed fence of \(victim)\n\(agents.logTail(leaderName))")
        for name in survivors {
            #expect(agents.isRunning(name), "\(name) stopped\n\(agents.logTail(name))")
            #expect(try await sushy.powerState(system[name]!) == "On")
            #expect(try await agents.members(name)[victim]?.status == "failed")
        }
        #expect(try await masakari.notifications().count == 1)

        // Every survivor journaled the timeline, under one term, in order: the leader
        // took each step, a follower got each one by gossip.
        let follower = try #require(survivors.first { $0 != leaderName })
        for name in [leaderName, follower] {
            var phases: [String] = []
            let complete = await eventually(30) {
                guard let answer = try? await agents.vigil(
                    ["history", "--control", agents.controlSocket(name), "--node", victim, "--format", "json"]),
                    answer.status == 0,
                    let history = try? JSONDecoder().decode(HistoryList.self, from: Data(answer.output.utf8))
                else { return false }
                phases = history.history.map(\.phase)
                #expect(Set(history.history.map(\.term)).count == 1, "\(name): \(history.history)")
                return phases.last == "recovered"
            }
            #expect(complete && phases == ["fencing", "fenced", "recovering", "recovered"], "\(name): \(phases)")
        }
        let status = try await agents.vigil(["fence", "status", "--control", agents.controlSocket(follower)])
        #expect(status.status == 0 && status.output.contains("Out of service (fenced): \(victim)"), "\(status)")

        // The victim's agent comes back (on loopback its BMC cannot stop it): a new
        // life, alive, but out of service — no vote, no second fence — until unfenced.
        try agents.start(victim, key: key, join: [seed], config: configFile)
        var seenBack = "nothing yet"
        let back = await eventually(120) {
            for name in survivors {
                guard let member = try? await agents.members(name)[victim], let leader = try? await Self.leader(agents, name)
                else { return false }
                seenBack = "\(name): \(member.status), out of service \(member.outOfService), voters \(leader.voters)"
                guard member.status == "alive", member.outOfService, !leader.voters.contains(victim) else { return false }
            }
            return true
        }
        #expect(back, "last seen: \(seenBack)\n\(agents.logTail(victim))")
        #expect(agents.log(victim).contains("ha.out-of-service"), "\(agents.logTail(victim))")
        let unfence = try await agents.vigil(["fence", "unfence", victim, "--control", agents.controlSocket(follower)])
        #expect(unfence.status == 0, "\(unfence)")
        let inService = await eventually(60) {
            for name in Self.names {
                guard let member = try? await agents.members(name)[victim], let leader = try? await Self.leader(agents, name)
                else { return false }
                seenBack = "\(name): \(member.status), out of service \(member.outOfService), voters \(leader.voters)"
                guard !member.outOfService, leader.voters.contains(victim) else { return false }
            }
            return true
        }
        #expect(inService, "last seen: \(seenBack)")
        #expect(try await masakari.notifications().count == 1, "nothing more was recovered")
    }

    /// `vigil leader --format json` on `name`.
    static func leader(_ agents: AgentProcesses, _ name: String) async throws -> LeaderView {
        let answer = try await agents.vigil(["leader", "--control", agents.controlSocket(name), "--format", "json"])
        return try JSONDecoder().decode(LeaderView.self, from: Data(answer.output.utf8))
    }

    /// The last `ha.phase` the log records for `node`.
    static func lastPhase(of node: String, in log: String) -> String? {
        log.split(separator: "\n").last { $0.hasSuffix("ha.changed") && $0.contains("peer.name=\(node) ") }
            .flatMap { line in
                line.split(separator: " ").first { $0.hasPrefix("ha.phase=") }.map { String($0.dropFirst("ha.phase=".count)) }
            }
    }
}

import Foundation
import Testing
import VigilAgent

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The shipped `vigil` executable, as operators run it: every agent a child process on
/// 127.0.0.1 (`--preset local`), every question asked through `vigil members` and
/// `vigil info` on its control socket. The tests wait for real protocol progress; each
/// time limit is a hang guard, never a speed assertion.
///
/// Serialized: five agents on a 2-core machine are enough load at once.
@Suite("vigil processes on loopback", .serialized)
struct AgentProcessTests {
    @Test func fiveAgentsDetectACrashRejoinAfterRestartAndSeeAGracefulLeave() async throws {
        let agents = try AgentProcesses()
        defer { agents.stopAll() }
        let key = try await agents.vigil(["keygen"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!key.isEmpty)
        let names = (1...5).map { "node-\($0)" }

        // Five agents join through one seed.
        try agents.start(names[0], key: key)
        let seed = try await agents.address(of: names[0])
        for name in names.dropFirst() {
            try agents.start(name, key: key, join: [seed])
        }
        for name in names {
            _ = try await agents.address(of: name)
        }
        let allAlive = Dictionary(uniqueKeysWithValues: names.map { ($0, "alive") })
        let joined = await eventually { await agents.everyone(names, sees: allAlive) }
        try #require(joined, "five agents did not all list five alive\n\(agents.logTail())")

        // The victim must have saved who it knows (every 10 s) to rejoin without --join.
        let victim = names[4]
        let others = Array(names.prefix(4))
        let saved = await eventually {
            let snapshot = agents.savedSnapshot(victim)
            return others.allSatisfy { snapshot[$0] == "alive" }
        }
        try #require(saved, "\(victim) never saved a members snapshot with the others alive")
        let before = try #require(try await agents.members(names[0])[victim]).incarnation

        // SIGKILL: no leave message, the socket just goes silent.
        #expect(try await agents.signal(victim, SIGKILL) == 128 + SIGKILL)
        let failed = await eventually {
            for observer in others {
                guard let seen = try? await agents.members(observer), seen[victim]?.status == "failed" else {
                    return false
                }
            }
            return true
        }
        try #require(failed, "the four survivors did not all mark \(victim) failed\n\(agents.logTail())")

        // Restarted with the same data directory and port, and no --join.
        try agents.start(victim, key: key, port: agents.port(of: victim))
        let rejoined = await eventually {
            for observer in names {
                guard let seen = try? await agents.members(observer),
                    seen.mapValues(\.status) == allAlive, let incarnation = seen[victim]?.incarnation,
                    incarnation > before
                else { return false }
            }
            return true
        }
        try #require(
            rejoined,
            "\(victim) was not alive everywhere with an incarnation above \(before) after its restart\n\(agents.logTail())"
        )

        // SIGTERM: a graceful leave, so the others record `left`, never `failed`.
        let leaver = names[3]
        let stayers = names.filter { $0 != leaver }
        #expect(try await agents.signal(leaver, SIGTERM) == 0, "SIGTERM should end the agent with status 0")
        var statuses: [String: String] = [:]
        let left = await eventually {
            for observer in stayers {
                guard let status = try? await agents.members(observer)[leaver]?.status else { return false }
                statuses[observer] = status
            }
            return statuses.values.allSatisfy { $0 != "alive" && $0 != "suspect" }
        }
        #expect(left, "the others still list \(leaver) as alive or suspect: \(statuses)\n\(agents.logTail())")
        #expect(statuses == Dictionary(uniqueKeysWithValues: stayers.map { ($0, "left") }))
    }

    /// A seed with no `join` restarted moments after the others joined (a rolling
    /// restart's first step) comes back through the members it saved, instead of
    /// starting a cluster of its own and electing itself.
    @Test func aSeedRestartedRightAfterOthersJoinedRejoinsThem() async throws {
        let agents = try AgentProcesses()
        defer { agents.stopAll() }
        let key = try await agents.vigil(["keygen"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        try agents.start("s-1", key: key)
        let seed = try await agents.address(of: "s-1")
        try agents.start("s-2", key: key, join: [seed])
        let port = agents.port(of: "s-1")
        let pair = ["s-1": "alive", "s-2": "alive"]
        let joined = await eventually { await agents.everyone(["s-1", "s-2"], sees: pair) }
        try #require(joined, "s-2 did not join s-1\n\(agents.logTail())")
        #expect(agents.log("s-1").contains("join.none"), "the first node says it starts a cluster of its own")
        #expect(try await agents.signal("s-1", SIGTERM) == 0)
        #expect(agents.savedSnapshot("s-1")["s-2"] != nil, "s-1 stopped without saving s-2")

        // The same port, no `join`: only what it saved can bring it back.
        let before = agents.log("s-1")
        try agents.start("s-1", key: key, port: port)
        let back = await eventually { await agents.everyone(["s-1", "s-2"], sees: pair) }
        #expect(back, "the restarted seed did not rejoin s-2\n\(agents.logTail())")
        let after = String(agents.log("s-1").dropFirst(before.count))
        #expect(!after.contains("join.none"), "the restarted seed thought it was alone: \(after)")
    }

    @Test func anAgentWithAnotherKeyNeverAppearsAndItsPacketsCountAsBadSeals() async throws {
        let agents = try AgentProcesses()
        defer { agents.stopAll() }
        let key = try await agents.vigil(["keygen"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        let otherKey = try await agents.vigil(["keygen"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(key != otherKey)
        let names = ["k-1", "k-2", "k-3"]
        try agents.start(names[0], key: key)
        let seed = try await agents.address(of: names[0])
        for name in names.dropFirst() {
            try agents.start(name, key: key, join: [seed])
        }
        var addresses: [String] = []
        for name in names {
            addresses.append(try await agents.address(of: name))
        }
        let allAlive = Dictionary(uniqueKeysWithValues: names.map { ($0, "alive") })
        let joined = await eventually { await agents.everyone(names, sees: allAlive) }
        try #require(joined, "three agents did not all list three alive\n\(agents.logTail())")
        var baseline: [String: UInt64] = [:]
        for name in names {
            baseline[name] = try await agents.info(name).counters["dropped_bad_seal"] ?? 0
        }

        // The intruder knows every address and keeps trying to join all of them.
        try agents.start("intruder", key: otherKey, join: addresses)
        _ = try await agents.address(of: "intruder")
        var intruderSeen: [String] = []
        let counted = await eventually {
            var allCounted = true
            for name in names {
                if let seen = try? await agents.members(name), seen["intruder"] != nil { intruderSeen.append(name) }
                let drops = (try? await agents.info(name).counters["dropped_bad_seal"]) ?? 0
                allCounted = allCounted && drops > baseline[name, default: 0]
            }
            return allCounted
        }
        #expect(counted, "not every agent counted the intruder's packets as bad seals\n\(agents.logTail())")
        #expect(intruderSeen.isEmpty, "the intruder showed up in the members of \(intruderSeen)")
        #expect(await agents.everyone(names, sees: allAlive))
        #expect(try await agents.members("intruder").keys.sorted() == ["intruder"])

        // Neither side is left guessing: the intruder says nobody answers its join and
        // what to check; the members say whose packets they cannot open.
        let told = await eventually {
            agents.log("intruder").contains("join.unanswered")
                && names.allSatisfy { agents.log($0).contains("transport.dropping") }
        }
        #expect(told, "no join.unanswered / transport.dropping warnings\n\(agents.logTail())")
        let intruderLog = agents.log("intruder")
        #expect(intruderLog.contains("warning") && intruderLog.contains("current key"))
        let seedLog = agents.log(names[0])
        #expect(seedLog.contains("drop.reason=bad_seal") && seedLog.contains("old or wrong cluster key"), "\(seedLog)")
        // At most once a minute per reason, however many packets keep coming.
        #expect(seedLog.components(separatedBy: "transport.dropping").count - 1 == 1, "\(seedLog)")
    }
}

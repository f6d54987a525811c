import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing
import VigilCore
import VigilCrypto

@testable import VigilAgent

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The control API end to end: a real `ControlServer` on a Unix socket in a fresh
/// temporary directory, a fake agent behind it, the real `ControlClient` in front.
@Suite(.timeLimit(.minutes(1)))
struct ControlTests {
    // MARK: - Round trips

    @Test func membersRoundTripEqualsTheAgentsList() async throws {
        let agent = FakeAgent()
        try await withControlServer(agent) { client, _ async throws in
            #expect(try await client.getMembers() == FakeAgent.members)
        }
    }

    @Test func leaderRoundTripEqualsTheAgentsView() async throws {
        try await withControlServer(FakeAgent()) { client, _ async throws in
            #expect(try await client.getLeader() == FakeAgent.leader)
        }
    }

    @Test func infoRoundTripEqualsTheAgentsInfo() async throws {
        let agent = FakeAgent()
        try await withControlServer(agent) { client, _ async throws in
            #expect(try await client.getInfo() == FakeAgent.info)
        }
    }

    @Test func forceLeaveOfAFailedMemberSucceeds() async throws {
        let agent = FakeAgent()
        try await withControlServer(agent) { client, _ async throws in
            try await client.forceLeave("node-4")
        }
        #expect(await agent.forceLeaveRequests == ["node-4"])
    }

    @Test func forceLeaveOfAnUnknownMemberIs404WithItsName() async throws {
        try await withControlServer(FakeAgent()) { client, _ async throws in
            let error = try await #require(throws: ControlError.self) { try await client.forceLeave("ghost") }
            #expect(error.code == .rejected)
            #expect(error.status == 404)
            #expect(error.description == "agent answered 404: no member named `ghost`")
        }
    }

    @Test func forceLeaveOfALiveMemberIs404SayingItIsNotFailed() async throws {
        try await withControlServer(FakeAgent()) { client, _ async throws in
            let error = try await #require(throws: ControlError.self) { try await client.forceLeave("node-1") }
            #expect(error.status == 404)
            #expect(error.description.contains("member `node-1` is alive, not failed"))
        }
    }

    @Test func forceLeaveNameIsPercentEncodedAndDecoded() async throws {
        let agent = FakeAgent()
        try await withControlServer(agent) { client, _ async throws in
            _ = try? await client.forceLeave("rack 1/node?7")
        }
        #expect(await agent.forceLeaveRequests == ["rack 1/node?7"])
    }

    @Test func fenceCommandsReachTheAgentAndARefusalIs409WithTheReason() async throws {
        let agent = FakeAgent()
        try await withControlServer(agent) { client, _ async throws in
            let confirmed = try await client.confirmFenced("node-4")
            #expect(confirmed.results.map(\.done) == [true])
            let error = try await #require(throws: ControlError.self) { try await client.unfence("rack 1/node?7") }
            #expect(error.status == 409)
            #expect(error.description == "agent answered 409: refused")
            _ = try? await client.approveFences(["node-3", "node-4"])
            _ = try? await client.approveFences(nil)
        }
        #expect(
            await agent.fenceCommands == [
                .confirm("node-4"), .unfence("rack 1/node?7"), .approve(["node-3", "node-4"]), .approveAll,
            ])
    }

    @Test func aMalformedApproveBodyIs400AndReachesNothing() async throws {
        let agent = FakeAgent()
        try await withControlServer(agent) { _, path async throws in
            for body in ["", "{}", #"{"nodes":[]}"#, #"{"all":false}"#, #"{"all":true,"nodes":["a"]}"#, "[1]"] {
                let answer = try await rawExchange(
                    path: path, bytes: "POST /v1/fence/approve HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\n"
                        + "Connection: close\r\n\r\n\(body)")
                #expect(answer.hasPrefix("HTTP/1.1 400"), "\(body): \(answer)")
            }
        }
        #expect(await agent.fenceCommands.isEmpty)
    }

    @Test func leaveAnswersAcceptedThenCallsTheAgent() async throws {
        let agent = FakeAgent()
        try await withControlServer(agent) { client, _ async throws in
            try await client.leave()
            var calls = agent.leaveCalls.makeAsyncIterator()
            #expect(await calls.next() != nil)
        }
    }

    // MARK: - Monitor

    @Test func monitorStreamsEventsInOrderAndStopsConsumingWhenTheClientGoesAway() async throws {
        let agent = FakeAgent()
        try await withControlServer(agent) { client, _ async throws in
            var received: [EventView] = []
            for try await event in client.monitor() {
                received.append(event)
                if received.count == FakeAgent.events.count { break }
            }
            #expect(received == FakeAgent.events)
            // The agent's stream stays open; only the client leaving ends its consumption.
            var ended = agent.monitorEnded.makeAsyncIterator()
            #expect(await ended.next() != nil)
        }
    }

    @Test func monitorStopsConsumingWhenTheClientTaskIsCancelled() async throws {
        let agent = FakeAgent()
        try await withControlServer(agent) { client, _ async throws in
            let (firstEvent, seen) = AsyncStream<Void>.makeStream()
            await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for try await _ in client.monitor() { seen.yield() }
                }
                var first = firstEvent.makeAsyncIterator()
                _ = await first.next()
                group.cancelAll()
                try? await group.waitForAll()
            }
            var ended = agent.monitorEnded.makeAsyncIterator()
            #expect(await ended.next() != nil)
        }
    }

    @Test func monitorFinishesCleanlyWhenTheAgentEndsTheStream() async throws {
        let agent = FakeAgent(finishEvents: true)
        try await withControlServer(agent) { client, _ async throws in
            var received: [EventView] = []
            for try await event in client.monitor() { received.append(event) }
            #expect(received == FakeAgent.events)
        }
    }

    @Test func monitorFinishesCleanlyWhenTheServerStops() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/ctl.sock"
        let server = ControlServer(path: path, control: FakeAgent(), logger: .quiet)
        let (listening, ready) = AsyncStream<Void>.makeStream()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { ready.finish() }
                try await server.serve(whenListening: { ready.yield() })
            }
            var started = listening.makeAsyncIterator()
            _ = await started.next()
            var events = ControlClient(path: path).monitor().makeAsyncIterator()
            for expected in FakeAgent.events {
                #expect(try await events.next() == expected)
            }
            group.cancelAll()
            #expect(try await events.next() == nil)
            try await group.waitForAll()
        }
    }

    @Test func monitorThrowsConnectionLostWhenTheAgentVanishesMidStream() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/ctl.sock"
        // An "agent" that starts the event stream, sends one event and dies.
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(unixDomainSocketPath: path) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>.closingOnDeinit(channel)
                }
            }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await listener.executeThenClose { connections in
                    for try await connection in connections {
                        try await connection.executeThenClose { inbound, outbound in
                            for try await request in inbound where String(buffer: request).hasSuffix("\r\n\r\n") {
                                break
                            }
                            let line = try ControlJSON.line(FakeAgent.events[0])
                            let chunk = String(line.utf8.count, radix: 16) + "\r\n" + line + "\r\n"
                            try await outbound.write(
                                ByteBuffer(string: "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n" + chunk))
                        }
                        return
                    }
                }
            }
            var events = ControlClient(path: path).monitor().makeAsyncIterator()
            #expect(try await events.next() == FakeAgent.events[0])
            let error = try await #require(throws: ControlError.self) { _ = try await events.next() }
            #expect(error.code == .connectionLost)
            #expect(error.description == "lost the connection to the Vigil agent at \(path): it stopped or restarted.")
            try await group.waitForAll()
        }
    }

    @Test func monitorOnAMissingSocketThrowsTheClearError() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/none.sock"
        let error = try await #require(throws: ControlError.self) {
            for try await _ in ControlClient(path: path).monitor() {}
        }
        #expect(error.code == .agentUnreachable)
        #expect(error.description.hasPrefix("no Vigil agent at \(path)"))
    }

    // MARK: - HTTP edges

    @Test func unknownRouteIs404WithAJSONError() async throws {
        try await withControlServer(FakeAgent()) { client, _ async throws in
            let (status, body) = try await client.exchange(.GET, "/v1/nope")
            #expect(status == .notFound)
            let error = try ControlJSON.decode(ControlErrorBody.self, from: body)
            #expect(error.error.hasPrefix("no route GET /v1/nope"))
        }
    }

    @Test func wrongMethodIs405() async throws {
        let agent = FakeAgent()
        try await withControlServer(agent) { client, _ async throws in
            #expect(try await client.exchange(.POST, "/v1/members").0 == .methodNotAllowed)
            #expect(try await client.exchange(.GET, "/v1/leave").0 == .methodNotAllowed)
            #expect(try await client.exchange(.DELETE, "/v1/force-leave/node-4").0 == .methodNotAllowed)
        }
        #expect(await agent.forceLeaveRequests.isEmpty)
    }

    @Test func bodyOver64KiBIsRefusedWith413() async throws {
        let agent = FakeAgent()
        try await withControlServer(agent) { client, _ async throws in
            let tooLarge = ByteBuffer(repeating: UInt8(ascii: "x"), count: ControlServer.maxRequestBodyBytes + 1)
            #expect(try await client.exchange(.POST, "/v1/force-leave/node-4", body: tooLarge).0 == .payloadTooLarge)
            let atLimit = ByteBuffer(repeating: UInt8(ascii: "x"), count: ControlServer.maxRequestBodyBytes)
            #expect(try await client.exchange(.POST, "/v1/force-leave/node-4", body: atLimit).0 == .ok)
        }
        #expect(await agent.forceLeaveRequests == ["node-4"])
    }

    @Test func malformedHTTPClosesTheConnectionAndTheServerKeepsServing() async throws {
        try await withControlServer(FakeAgent()) { client, path async throws in
            let answer = try await rawExchange(path: path, bytes: "NOT HTTP AT ALL\r\n\r\n")
            #expect(answer.hasPrefix("HTTP/1.1 400"))
            #expect(try await client.getInfo() == FakeAgent.info)
        }
    }

    @Test func garbageAndHalfRequestsLeaveTheServerServing() async throws {
        try await withControlServer(FakeAgent()) { client, path async throws in
            var random = SplitMix64(seed: 7)
            var payloads = [
                "GET /v1/members HTTP/1.1\r\nhost: x\r\n",  // cut off inside the head
                "POST /v1/leave HTTP/1.1\r\ncontent-length: 10\r\n\r\nabc",  // cut off inside the body
                "GET /v1/info HTTP/1.1\r\n" + String(repeating: "x", count: 100_000) + "\r\n\r\n",  // huge header
                "POST /v1/leave HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFF\r\n",
                "GET /v1/monitor HTTP/1.1\r\n\r\n",  // monitor, then gone at once
                "",
            ]
            for _ in 0..<50 {
                let bytes = (0..<Int(random.next() % 300)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                payloads.append(String(decoding: bytes, as: UTF8.self))
            }
            for payload in payloads {
                try await sendAndHangUp(path: path, bytes: payload)
            }
            #expect(try await client.getMembers() == FakeAgent.members)
        }
    }

    // MARK: - The socket file

    @Test func socketIsMode0600InADirectoryCreatedWithMode0700() async throws {
        try await withControlServer(FakeAgent(), socket: "run/ctl.sock") { _, path async throws in
            #expect(try fileMode(path) == 0o600)
            #expect(try fileMode((path as NSString).deletingLastPathComponent) == 0o700)
        }
    }

    @Test func socketFileIsRemovedWhenTheServerStops() async throws {
        let socketPath = try await withControlServer(FakeAgent()) { _, path async throws in
            #expect(SocketFile.kind(path) == .socket)
            return path
        }
        #expect(SocketFile.kind(socketPath) == .missing)
    }

    @Test func aSecondServerLeavesALiveSocketAlone() async throws {
        try await withControlServer(FakeAgent()) { client, path async throws in
            let second = ControlServer(path: path, control: FakeAgent(), logger: .quiet)
            let error = try await #require(throws: ControlServerError.self) { try await second.serve(whenListening: {}) }
            #expect(error == .inUse(path))
            #expect(try await client.getInfo() == FakeAgent.info)
        }
    }

    @Test func clientOnAMissingSocketGetsTheClearError() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/ctl.sock"
        let error = try await #require(throws: ControlError.self) { try await ControlClient(path: path).getMembers() }
        #expect(error.code == .agentUnreachable)
        #expect(
            error.description
                == "no Vigil agent at \(path) (no such socket): is `vigil agent` running? Set --control or VIGIL_CONTROL.")
    }

    @Test func staleSocketIsRefusedThenReplacedByTheServer() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/ctl.sock"
        // A socket file nobody listens on, as a killed agent leaves behind.
        try makeStaleSocket(at: path)
        #expect(SocketFile.kind(path) == .socket)

        let error = try await #require(throws: ControlError.self) { try await ControlClient(path: path).getInfo() }
        #expect(
            error.description
                == "no Vigil agent at \(path) (connection refused): is `vigil agent` running? Set --control or VIGIL_CONTROL."
        )
        try await withControlServer(FakeAgent(), at: path) { client, _ async throws in
            #expect(try await client.getInfo() == FakeAgent.info)
        }
    }

    @Test func clientWithATooLongPathSaysSo() async throws {
        let path = "/tmp/" + String(repeating: "x", count: 120) + ".sock"
        let error = try await #require(throws: ControlError.self) { try await ControlClient(path: path).getInfo() }
        #expect(error.code == .pathTooLong)
    }

    @Test func socketPathComesFromTheFlagThenTheEnvironmentThenTheDefault() {
        let environment = ["VIGIL_CONTROL": "/run/vigil/env.sock"]
        #expect(ControlClient.resolvePath(flag: "/x.sock", environment: environment) == "/x.sock")
        #expect(ControlClient.resolvePath(flag: nil, environment: environment) == "/run/vigil/env.sock")
        #expect(ControlClient.resolvePath(flag: nil, environment: [:]) == "/var/lib/vigil/vigil.sock")
        #expect(ControlClient.resolvePath(flag: nil, environment: ["VIGIL_CONTROL": ""]) == "/var/lib/vigil/vigil.sock")
    }
}

// MARK: - Pure parts

@Suite struct ControlRouteTests {
    @Test func routesMatchTheirMethodAndPath() {
        #expect(ControlRoute.match(method: .GET, uri: "/v1/members") == .route(.members))
        #expect(ControlRoute.match(method: .GET, uri: "/v1/members?stale=true") == .route(.members))
        #expect(ControlRoute.match(method: .GET, uri: "/v1/info") == .route(.info))
        #expect(ControlRoute.match(method: .POST, uri: "/v1/leave") == .route(.leave))
        #expect(ControlRoute.match(method: .GET, uri: "/v1/monitor") == .route(.monitor))
        #expect(ControlRoute.match(method: .POST, uri: "/v1/force-leave/node-3") == .route(.forceLeave(name: "node-3")))
    }

    @Test func fenceRoutesMatchAndTheirNamesAreDecoded() {
        #expect(ControlRoute.match(method: .GET, uri: "/v1/fence") == .route(.fenceStatus))
        #expect(ControlRoute.match(method: .POST, uri: "/v1/fence/approve") == .route(.fenceApprove))
        #expect(ControlRoute.match(method: .POST, uri: "/v1/fence/confirm/a%20b") == .route(.fenceConfirm(name: "a b")))
        #expect(ControlRoute.match(method: .POST, uri: "/v1/fence/unfence/n-1") == .route(.fenceUnfence(name: "n-1")))
        #expect(ControlRoute.match(method: .GET, uri: "/v1/fence/confirm/n-1") == .methodNotAllowed(allowed: .POST))
        #expect(ControlRoute.match(method: .POST, uri: "/v1/fence/confirm/") == .notFound)
        #expect(ControlRoute.match(method: .POST, uri: "/v1/fence/reboot/n-1") == .notFound)
    }

    @Test func forceLeaveNameIsOneDecodedSegment() {
        #expect(ControlRoute.match(method: .POST, uri: "/v1/force-leave/a%20b%2Fc") == .route(.forceLeave(name: "a b/c")))
        #expect(ControlRoute.match(method: .POST, uri: "/v1/force-leave/") == .notFound)
        #expect(ControlRoute.match(method: .POST, uri: "/v1/force-leave/a/b") == .notFound)
        #expect(ControlRoute.match(method: .POST, uri: "/v1/force-leave/%ZZ") == .notFound)
    }

    @Test func knownPathWithAnotherMethodIsNotAllowed() {
        #expect(ControlRoute.match(method: .DELETE, uri: "/v1/members") == .methodNotAllowed(allowed: .GET))
        #expect(ControlRoute.match(method: .GET, uri: "/v1/force-leave/x") == .methodNotAllowed(allowed: .POST))
        #expect(ControlRoute.match(method: .GET, uri: "/v2/members") == .notFound)
        #expect(ControlRoute.match(method: .GET, uri: "/v1/members/") == .notFound)
    }
}

@Suite struct HTTPRequestAssemblerTests {
    private let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/v1/leave")

    @Test func assemblesHeadBodyAndEnd() {
        var assembler = HTTPRequestAssembler(maxBodyBytes: 8)
        #expect(assembler.receive(.head(self.head)) == .wait)
        #expect(assembler.receive(.body(ByteBuffer(string: "1234"))) == .wait)
        #expect(assembler.receive(.body(ByteBuffer(string: "5678"))) == .wait)
        #expect(assembler.receive(.end(nil)) == .answer(.init(head: self.head, body: ByteBuffer(string: "12345678"))))
        #expect(assembler.receive(.head(self.head)) == .wait)
    }

    @Test func refusesABodyThatGrowsOverTheLimit() {
        var assembler = HTTPRequestAssembler(maxBodyBytes: 8)
        _ = assembler.receive(.head(self.head))
        _ = assembler.receive(.body(ByteBuffer(string: "12345")))
        #expect(assembler.receive(.body(ByteBuffer(string: "6789"))) == .refuseTooLarge(self.head))
        #expect(assembler.receive(.end(nil)) == .close)
    }

    @Test func refusesAnAnnouncedOversizedBodyBeforeReadingIt() {
        var assembler = HTTPRequestAssembler(maxBodyBytes: 8)
        var head = self.head
        head.headers.add(name: "content-length", value: "9")
        #expect(assembler.receive(.head(head)) == .refuseTooLarge(head))
    }
}

@Suite struct MemberFilterTests {
    private let members = FakeAgent.members

    private func names(_ filter: MemberFilter) -> [String] {
        filter.apply(self.members).map(\.name)
    }

    @Test func noFilterKeepsEveryone() throws {
        #expect(self.names(try MemberFilter()) == ["node-1", "node-2", "node-3", "node-4"])
    }

    @Test func statusPatternMustMatchTheWholeStatus() throws {
        #expect(self.names(try MemberFilter(status: "alive|suspect")) == ["node-1", "node-2", "node-3"])
        #expect(self.names(try MemberFilter(status: "aliv")).isEmpty)
        #expect(self.names(try MemberFilter(status: "fail.*")) == ["node-4"])
    }

    @Test func namePatternMustMatchTheWholeName() throws {
        #expect(self.names(try MemberFilter(name: "node-[13]")) == ["node-1", "node-3"])
        #expect(self.names(try MemberFilter(name: "node")).isEmpty)
    }

    @Test func tagPatternsMustAllMatchAndAMissingTagIsEmpty() throws {
        #expect(self.names(try MemberFilter(tags: ["role=db"])) == ["node-1", "node-3"])
        #expect(self.names(try MemberFilter(tags: ["role=db", "zone=a"])) == ["node-1"])
        #expect(self.names(try MemberFilter(tags: ["role="])) == ["node-4"])
        #expect(self.names(try MemberFilter(tags: ["role=web|db"])) == ["node-1", "node-2", "node-3"])
        #expect(self.names(try MemberFilter(status: "alive", tags: ["role=db"])) == ["node-1"])
    }

    @Test func invalidPatternNamesTheFlag() {
        let status = #expect(throws: MemberFilter.InvalidPattern.self) { try MemberFilter(status: "[") }
        #expect(status?.flag == "--status")
        #expect(status?.description.hasPrefix("--status must be a regular expression, got `[`: ") == true)
        #expect(status?.description.contains("\n") == false)
        let name = #expect(throws: MemberFilter.InvalidPattern.self) { try MemberFilter(name: "(") }
        #expect(name?.flag == "--name")
        let tag = #expect(throws: MemberFilter.InvalidPattern.self) { try MemberFilter(tags: ["role=*"]) }
        #expect(tag?.flag == "--tag")
    }

    @Test func tagWithoutKeyOrEqualsIsRefused() {
        for bad in ["role", "=db"] {
            let error = #expect(throws: MemberFilter.InvalidPattern.self) { try MemberFilter(tags: [bad]) }
            #expect(error?.description == "--tag must be KEY=REGEX like `role=db|cache`, got `\(bad)`")
        }
    }
}

@Suite struct ControlTextTests {
    static func record(_ node: String, _ phase: HAPhase, detail: String) -> HARecord {
        HARecord(
            node: node, life: 2, term: 7, sequence: 1, phase: phase, leader: "node-2", attempts: 1, detail: detail,
            signature: SigningKey.generate().sign([]))
    }

    @Test func fenceStatusShowsEachNodeAndWhatTheOperatorMustDo() {
        let view = FenceStatusView(
            node: "node-1", enabled: true, leader: "node-2", term: 7, brake: "3 of 7 members failed or suspect",
            nodes: [
                FenceNodeView(Self.record("node-3", .awaitingApproval, detail: "brake"), status: "failed"),
                FenceNodeView(Self.record("node-5", .recovered, detail: "masakari: accepted"), status: "alive"),
            ])
        #expect(
            ControlText.fenceStatus(view) == """
                Leader:  node-2 (term 7)
                Brake:   ENGAGED: 3 of 7 members failed or suspect; `vigil fence approve NAME|--all`

                NODE    STATUS  PHASE              LIFE  TERM  BY      ATTEMPTS  DETAIL
                node-3  failed  awaiting-approval  2     7     node-2  1         brake
                node-5  alive   recovered          2     7     node-2  1         masakari: accepted

                Held by the brake: node-3. Check why so much failed at once, then `vigil fence approve NAME` (or `--all`).

                Out of service (fenced): node-5. Once repaired, `vigil fence unfence NAME` returns it to service.

                """)
    }

    @Test func aFencedMemberIsMarkedOutOfServiceInTextAndJSON() throws {
        let member = MemberView(
            name: "node-5", addr: "10.0.0.5", port: 7946, status: "alive", incarnation: 9, tags: [:], outOfService: true)
        #expect(
            ControlText.members([member]) == """
                NAME    ADDRESS        STATUS  INCARNATION  TAGS
                node-5  10.0.0.5:7946  alive   9            (fenced: out of service until `vigil fence unfence`)

                """)
        let json = String(decoding: try JSONEncoder().encode(member), as: UTF8.self)
        #expect(json.contains(#""out_of_service":true"#), "\(json)")
        #expect(try JSONDecoder().decode(MemberView.self, from: Data(json.utf8)) == member)
    }

    @Test func membersTableHasAlignedColumnsSortedTagsAndSuspicion() {
        let text = ControlText.members(FakeAgent.members)
        #expect(
            text == """
                NAME    ADDRESS         STATUS   INCARNATION  TAGS
                node-1  10.0.0.1:7946   alive    1            role=db,zone=a
                node-2  10.0.0.2:7946   alive    2            role=web
                node-3  [fd00::3]:7946  suspect  4294967296   role=db,zone=b  (suspected by node-1,node-2; 2 votes)
                node-4  10.0.0.4:7946   failed   7

                """)
    }

    @Test func eventLineReadsLikeTheBrief() {
        #expect(ControlText.event(FakeAgent.events[0]) == "2026-11-28T10:00:00Z member-status node-3 alive → suspect (incarnation 4294967296)\n")
        #expect(ControlText.event(FakeAgent.events[2]) == "2026-11-28T10:00:09Z health — score 2\n")
    }

    @Test func infoIsSectionsOfSortedKeys() {
        #expect(
            ControlText.info(FakeAgent.info) == """
                agent:
                  name = node-1
                  address = 10.0.0.1:7946
                  incarnation = 1
                  health_score = 0
                  isolated = false
                  preset = lan
                members:
                  alive = 2
                  failed = 1
                  suspect = 1
                counters:
                  dropped_bad_seal = 3
                  packets_in = 1200

                """)
    }

    @Test func memberJSONUsesTheWireNames() throws {
        let json = try ControlJSON.line(MemberList(members: [FakeAgent.members[2]]))
        #expect(
            json == #"{"members":[{"addr":"fd00::3","incarnation":4294967296,"name":"node-3","port":7946,"# + #""status":"suspect","suspected_by":["node-1","node-2"],"tags":{"role":"db","zone":"b"},"votes":2}]}"# + "\n")
    }
}

// MARK: - Test support

/// Stands in for the running agent: canned members, info and events, and a record of
/// what the control API asked of it.
actor FakeAgent: AgentControl {
    static let members = [
        MemberView(name: "node-1", addr: "10.0.0.1", port: 7946, status: "alive", incarnation: 1, tags: ["zone": "a", "role": "db"]),
        MemberView(name: "node-2", addr: "10.0.0.2", port: 7946, status: "alive", incarnation: 2, tags: ["role": "web"]),
        MemberView(
            name: "node-3", addr: "fd00::3", port: 7946, status: "suspect", incarnation: 4_294_967_296,
            tags: ["role": "db", "zone": "b"], suspectedBy: ["node-1", "node-2"], votes: 2),
        MemberView(name: "node-4", addr: "10.0.0.4", port: 7946, status: "failed", incarnation: 7, tags: [:]),
    ]

    static let info = AgentInfo(
        name: "node-1", address: "10.0.0.1:7946", incarnation: 1, healthScore: 0, isolated: false, preset: "lan",
        members: ["alive": 2, "suspect": 1, "failed": 1], counters: ["packets_in": 1200, "dropped_bad_seal": 3])

    static let events = [
        EventView(
            time: "2026-11-28T10:00:00Z", event: "member-status", member: "node-3", from: "alive", to: "suspect",
            incarnation: 4_294_967_296),
        EventView(time: "2026-11-28T10:00:05Z", event: "failure-certified", member: "node-4", incarnation: 7),
        EventView(time: "2026-11-28T10:00:09Z", event: "health", detail: "score 2"),
    ]

    /// Every name `forceLeave` was called with.
    private(set) var forceLeaveRequests: [String] = []
    /// One element per `leave()` call.
    nonisolated let leaveCalls: AsyncStream<Void>
    private let leaveContinuation: AsyncStream<Void>.Continuation
    /// One element each time a consumer of `events()` stops.
    nonisolated let monitorEnded: AsyncStream<Void>
    private let monitorEndedContinuation: AsyncStream<Void>.Continuation
    /// Whether `events()` ends after the canned events (the agent stopping) or stays open.
    private let finishEvents: Bool

    init(finishEvents: Bool = false) {
        (self.leaveCalls, self.leaveContinuation) = AsyncStream.makeStream()
        (self.monitorEnded, self.monitorEndedContinuation) = AsyncStream.makeStream()
        self.finishEvents = finishEvents
    }

    func members() -> [MemberView] { Self.members }

    func info() -> AgentInfo { Self.info }

    static let leader = LeaderView(
        node: "node-1", leader: "node-2", term: 7, role: "follower", leaseRemainingMs: 2500,
        voters: ["node-1", "node-2", "node-3"], majority: 2)

    func leader() -> LeaderView { Self.leader }

    func leave() { self.leaveContinuation.yield() }

    func forceLeave(_ name: String) -> Bool {
        self.forceLeaveRequests.append(name)
        return Self.members.contains { $0.name == name && $0.status == "failed" }
    }

    func keys() -> KeysView {
        KeysView(members: [], reports: [], keys: [], keyring: nil)
    }

    func fenceStatus() -> FenceStatusView {
        FenceStatusView(node: "node-1", enabled: true, leader: "node-2", term: 7, brake: nil, nodes: [])
    }

    /// Every fence command the control API passed on.
    private(set) var fenceCommands: [FenceCommand] = []

    /// Confirms only `node-4`, the failed member; refuses everything else.
    func fence(_ command: FenceCommand) -> FenceCommandView {
        self.fenceCommands.append(command)
        let done = command == .confirm("node-4")
        return FenceCommandView(results: [
            FenceResultView(FenceCommandOutcome(node: "node-4", done: done, message: done ? "confirmed" : "refused"))
        ])
    }

    func changeKeys(_ operation: KeyOperation, key: ClusterKey) throws(KeyChangeError) -> KeyChangeView {
        throw KeyChangeError("the fake agent manages no keys")
    }

    func history(node: String?) -> [HistoryEntryView] { [] }

    func events() -> AsyncStream<EventView> {
        let (stream, continuation) = AsyncStream<EventView>.makeStream()
        let ended = self.monitorEndedContinuation
        continuation.onTermination = { _ in ended.yield() }
        for event in Self.events { continuation.yield(event) }
        if self.finishEvents { continuation.finish() }
        return stream
    }
}

/// A directory of its own under /tmp, short enough for socket paths (< 108 bytes).
struct TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/vigil-test-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw TestFailure("mkdtemp failed: \(String(cString: strerror(errno)))")
        }
        self.path = String(cString: made)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: self.path)
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension Logger {
    static let quiet = Logger(label: "vigil.test.control", factory: { _ in SwiftLogNoOpLogHandler() })
}

/// Runs `body` against a `ControlServer` for `agent` listening at `socket` inside a new
/// temporary directory (or at `path`), then stops the server.
@discardableResult
func withControlServer<T>(
    _ agent: any AgentControl, socket: String = "ctl.sock", at path: String? = nil,
    _ body: (ControlClient, String) async throws -> T
) async throws -> T {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let path = path ?? directory.path + "/" + socket
    let server = ControlServer(path: path, control: agent, logger: .quiet)
    let (listening, ready) = AsyncStream<Void>.makeStream()
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
            defer { ready.finish() }
            try await server.serve(whenListening: { ready.yield() })
        }
        var iterator = listening.makeAsyncIterator()
        guard await iterator.next() != nil else {
            try await group.waitForAll()
            throw TestFailure("the control server stopped before listening")
        }
        let result = try await body(ControlClient(path: path, timeout: .seconds(20)), path)
        group.cancelAll()
        try await group.waitForAll()
        return result
    }
}

/// Sends raw bytes on a new connection and returns everything read until the server closes.
func rawExchange(path: String, bytes: String) async throws -> String {
    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .connect(unixDomainSocketPath: path) { channel in
            channel.eventLoop.makeCompletedFuture {
                try NIOAsyncChannel<ByteBuffer, ByteBuffer>.closingOnDeinit(channel)
            }
        }
    return try await channel.executeThenClose { inbound, outbound in
        try await outbound.write(ByteBuffer(string: bytes))
        var received = ByteBuffer()
        for try await var chunk in inbound { received.writeBuffer(&chunk) }
        return String(buffer: received)
    }
}

/// Connects, sends `bytes` and closes without waiting for an answer.
func sendAndHangUp(path: String, bytes: String) async throws {
    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .connect(unixDomainSocketPath: path) { channel in
            channel.eventLoop.makeCompletedFuture {
                try NIOAsyncChannel<ByteBuffer, ByteBuffer>.closingOnDeinit(channel)
            }
        }
    try await channel.executeThenClose { _, outbound in
        if !bytes.isEmpty { try await outbound.write(ByteBuffer(string: bytes)) }
    }
}

/// A small seeded generator for test inputs (SplitMix64).
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { self.state = seed }
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Binds a Unix socket at `path` and closes it without removing the file.
func makeStaleSocket(at path: String) throws {
    let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw TestFailure("socket: \(String(cString: strerror(errno)))") }
    defer { close(descriptor) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        raw.copyBytes(from: path.utf8)
        raw[path.utf8.count] = 0
    }
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
        }
    }
    guard bound == 0 else { throw TestFailure("bind \(path): \(String(cString: strerror(errno)))") }
}

func fileMode(_ path: String) throws -> mode_t {
    var info = stat()
    guard lstat(path, &info) == 0 else { throw TestFailure("lstat \(path): \(String(cString: strerror(errno)))") }
    return info.st_mode & 0o777
}

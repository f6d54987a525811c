import Foundation
import Logging
import NIOCore
import NIOPosix
import Prometheus
import ServiceLifecycle
import Testing
import VigilCore
import VigilCrypto

@testable import VigilAgent

/// A parsed Prometheus text exposition: samples by `name{labels}` as written, and the
/// `# TYPE` and `# HELP` lines by metric name.
struct Exposition {
    var samples: [String: Double] = [:]
    var types: [String: String] = [:]
    var help: [String: String] = [:]

    /// Parses `text`, recording an issue for every line that is not a comment, a blank
    /// or `name{labels} value`.
    init(_ text: String) {
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") || line.hasPrefix("# HELP ") {
                let parts = line.dropFirst(7).split(separator: " ", maxSplits: 1)
                guard let name = parts.first else { continue }
                let rest = parts.count > 1 ? String(parts[1]) : ""
                if line.hasPrefix("# TYPE ") { self.types[String(name)] = rest } else { self.help[String(name)] = rest }
                continue
            }
            if line.hasPrefix("#") || line.isEmpty { continue }
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                Issue.record("not an exposition line: \(line)")
                continue
            }
            self.samples[String(line[..<space])] = value
        }
    }

    subscript(_ key: String) -> Double? { self.samples[key] }
}

@Suite("Metrics")
struct AgentMetricsTests {
    func registryAndMetrics() -> (PrometheusCollectorRegistry, AgentMetrics) {
        let registry = PrometheusCollectorRegistry()
        return (registry, AgentMetrics(factory: DescribedPrometheusFactory(registry: registry)))
    }

    @Test func everyCatalogMetricIsExportedWithItsTypeAndHelp() {
        let (registry, metrics) = self.registryAndMetrics()
        withExtendedLifetime(metrics) {}
        let exposition = Exposition(registry.emitToString())
        for description in AgentMetrics.catalog where description.name != "vigil_suspect_phi" {
            #expect(exposition.types[description.name] == description.kind.rawValue, "\(description.name)")
            #expect(exposition.help[description.name] == description.help, "\(description.name)")
        }
        for reason in TransportDropReason.allCases {
            #expect(exposition["vigil_packets_dropped_total{reason=\"\(reason.rawValue)\"}"] == 0)
        }
        #expect(exposition["vigil_protocol_drops_total{reason=\"stale_sequence\"}"] == 0)
        for status in ["alive", "suspect", "failed", "left"] {
            #expect(exposition["vigil_members{status=\"\(status)\"}"] == 0)
        }
        #expect(exposition["vigil_ping_rtt_seconds_bucket{le=\"0.0005\"}"] == 0)
        #expect(exposition["vigil_ping_rtt_seconds_bucket{le=\"1.0\"}"] == 0)
    }

    @Test func cumulativeCountsBecomeCountersAndGaugesFollowTheSample() {
        let (registry, made) = self.registryAndMetrics()
        var metrics = made
        var transport = TransportStats()
        transport.packetsIn = 5
        transport.bytesOut = 700
        transport.dropped[.badSeal] = 2
        metrics.record(
            AgentMetrics.Sample(
                members: [.alive: 3, .failed: 1], healthScore: 2, isolated: true, incarnation: 1 << 32 | 3,
                roundTrips: [.microseconds(300), .milliseconds(3)], protocolDrops: [.wrongTarget: 4],
                transport: transport))
        transport.packetsIn = 9
        transport.dropped[.badSeal] = 7
        metrics.record(
            AgentMetrics.Sample(
                members: [.alive: 4], healthScore: 0, incarnation: 1 << 32 | 3, roundTrips: [.seconds(2)],
                protocolDrops: [.wrongTarget: 4], transport: transport))
        let exposition = Exposition(registry.emitToString())
        #expect(exposition["vigil_members{status=\"alive\"}"] == 4)
        #expect(exposition["vigil_members{status=\"failed\"}"] == 0)
        #expect(exposition["vigil_health_score"] == 0)
        #expect(exposition["vigil_isolated"] == 0)
        #expect(exposition["vigil_incarnation_life"] == 1)
        #expect(exposition["vigil_incarnation_refutations"] == 3)
        #expect(exposition["vigil_packets_in_total"] == 9)
        #expect(exposition["vigil_bytes_out_total"] == 700)
        #expect(exposition["vigil_packets_dropped_total{reason=\"bad_seal\"}"] == 7)
        #expect(exposition["vigil_protocol_drops_total{reason=\"wrong_target\"}"] == 4)
        #expect(exposition["vigil_ping_rtt_seconds_count"] == 3)
        #expect(exposition["vigil_ping_rtt_seconds_bucket{le=\"0.0005\"}"] == 1)
        #expect(exposition["vigil_ping_rtt_seconds_bucket{le=\"0.005\"}"] == 2)
        #expect(exposition["vigil_ping_rtt_seconds_bucket{le=\"1.0\"}"] == 2)
        #expect(exposition["vigil_ping_rtt_seconds_bucket{le=\"+Inf\"}"] == 3)
    }

    @Test func phiSeriesExistOnlyWhileTheMemberIsSuspect() {
        let (registry, made) = self.registryAndMetrics()
        var metrics = made
        metrics.record(AgentMetrics.Sample(suspects: [SuspectPhi(name: "n2", phi: 9.5), SuspectPhi(name: "n3", phi: 12)]))
        var exposition = Exposition(registry.emitToString())
        #expect(exposition["vigil_suspect_phi{member=\"n2\"}"] == 9.5)
        #expect(exposition["vigil_suspect_phi{member=\"n3\"}"] == 12)
        #expect(exposition.help["vigil_suspect_phi"] != nil)
        metrics.record(AgentMetrics.Sample(suspects: [SuspectPhi(name: "n3", phi: 14)]))
        exposition = Exposition(registry.emitToString())
        #expect(exposition["vigil_suspect_phi{member=\"n2\"}"] == nil, "a cleared suspect's series is removed")
        #expect(exposition["vigil_suspect_phi{member=\"n3\"}"] == 14)
        metrics.record(AgentMetrics.Sample())
        exposition = Exposition(registry.emitToString())
        #expect(!exposition.samples.keys.contains { $0.hasPrefix("vigil_suspect_phi") })
    }

    @Test func phiSeriesAreCappedToTheHighest() {
        let (registry, made) = self.registryAndMetrics()
        var metrics = made
        let many = (0..<(AgentMetrics.maxPhiSeries + 4)).map { SuspectPhi(name: "m\($0)", phi: Double($0)) }
        metrics.record(AgentMetrics.Sample(suspects: many))
        let shown = Exposition(registry.emitToString()).samples.keys.filter { $0.hasPrefix("vigil_suspect_phi") }
        #expect(shown.count == AgentMetrics.maxPhiSeries)
        #expect(!shown.contains("vigil_suspect_phi{member=\"m0\"}"))
        #expect(shown.contains("vigil_suspect_phi{member=\"m\(AgentMetrics.maxPhiSeries + 3)\"}"))
    }

    @Test func dropReasonsAreSnakeCase() {
        #expect(AgentMetrics.snakeCase("staleSequence") == "stale_sequence")
        #expect(AgentMetrics.snakeCase("fromSelf") == "from_self")
        #expect(AgentMetrics.snakeCase("replay") == "replay")
    }
}

/// Real agents with a metrics endpoint on 127.0.0.1:0, scraped over real TCP. Time
/// limits are hang guards only.
@Suite("Metrics endpoint on loopback", .serialized)
struct MetricsEndpointTests {
    struct Node {
        let runtime: AgentRuntime
        let transport: GossipTransport
        let server: MetricsServer
        let group: ServiceGroup
    }

    static func makeNode(_ name: String, key: ClusterKey, join: [Address]) async throws -> Node {
        let logger = Logger(label: "test.\(name)")
        let transport = try await GossipTransport(
            settings: TransportSettings(bind: Address(host: "127.0.0.1", port: 0)), keyring: Keyring(primary: key),
            logger: logger)
        let instance = Instance(
            name: name, address: transport.advertisedAddress, identity: SigningKey.generate(),
            incarnation: Incarnation.first(life: 1), configuration: .local,
            rng: DeterministicRNG(seed: SecureRandom.uint64()))
        let registry = PrometheusCollectorRegistry()
        let factory = DescribedPrometheusFactory(registry: registry)
        let server = try await MetricsServer(
            bind: Address(host: "127.0.0.1", port: 0), render: { registry.emitToBuffer() }, logger: logger)
        let runtime = AgentRuntime(
            instance: instance, sink: transport, presetName: "local", logger: logger,
            metrics: AgentMetrics(factory: factory))
        let service = AgentService(
            runtime: runtime, transport: transport, control: nil, metrics: server, seeds: join,
            leaveGrace: .milliseconds(100), logger: logger)
        return Node(
            runtime: runtime, transport: transport, server: server, group: ServiceGroup(services: [service], logger: logger))
    }

    struct Response {
        var status: Int
        var headers: [String: String]
        var body: String
    }

    /// One HTTP/1.1 request over a fresh TCP connection; reads until the server closes.
    static func get(_ path: String, from address: Address, method: String = "GET") async throws -> Response {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: address.host, port: Int(address.port)) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>.closingOnDeinit(channel)
                }
            }
        var received = ByteBuffer()
        try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(
                ByteBuffer(string: "\(method) \(path) HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"))
            for try await var chunk in inbound {
                received.writeBuffer(&chunk)
            }
        }
        let text = String(buffer: received)
        guard let split = text.range(of: "\r\n\r\n") else {
            throw MetricsTestError("no end of headers in the answer: \(text)")
        }
        let lines = text[..<split.lowerBound].components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else {
            throw MetricsTestError("bad status line: \(lines[0])")
        }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Response(status: status, headers: headers, body: String(text[split.upperBound...]))
    }

    static func scrape(_ node: Node) async -> Exposition? {
        guard let response = try? await Self.get("/metrics", from: node.server.localAddress), response.status == 200
        else { return nil }
        return Exposition(response.body)
    }

    @Test func twoAgentsExposeMembersProbesRoundTripsAndDrops() async throws {
        let key = ClusterKey.generate()
        let first = try await Self.makeNode("m1", key: key, join: [])
        let second = try await Self.makeNode("m2", key: key, join: [first.transport.localAddress])
        // A third agent keeps m1 hearing acks after m2 crashes: with m2 as its only peer,
        // m1 would rightly suspect itself (isolated) rather than m2 on a loaded machine.
        let third = try await Self.makeNode("m3", key: key, join: [first.transport.localAddress])
        #expect(first.server.localAddress.port != 0, "the endpoint tells the port it got")
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for node in [first, second, third] {
                tasks.addTask { try await node.group.run() }
            }
            // Both join, probe each other and answer: the scrape shows it.
            var latest: Exposition?
            let joined = await AgentLoopbackTests.eventually {
                guard let exposition = await Self.scrape(first) else { return false }
                latest = exposition
                return exposition["vigil_members{status=\"alive\"}"] == 3
                    && (exposition["vigil_ping_rtt_seconds_count"] ?? 0) > 0
                    && (exposition["vigil_probes_sent_total"] ?? 0) > 0
                    && (exposition["vigil_packets_in_total"] ?? 0) > 0
            }
            #expect(joined, "the scrape never showed three alive members with probes answered: \(latest?.samples ?? [:])")
            let exposition = try #require(latest)
            for description in AgentMetrics.catalog where description.name != "vigil_suspect_phi" {
                #expect(exposition.types[description.name] == description.kind.rawValue, "\(description.name)")
            }
            #expect(exposition["vigil_members{status=\"failed\"}"] == 0)
            #expect((exposition["vigil_bytes_in_total"] ?? 0) > (exposition["vigil_packets_in_total"] ?? 0))
            #expect((exposition["vigil_packets_out_total"] ?? 0) > 0)
            #expect((exposition["vigil_bytes_out_total"] ?? 0) > 0)
            #expect(exposition["vigil_health_score"] != nil)
            #expect(exposition["vigil_isolated"] == 0)
            #expect(exposition["vigil_incarnation_life"] == 1)
            // `vigil info` shows the engine's counters too.
            #expect((await first.runtime.info().counters["probes_sent"] ?? 0) > 0)
            let sent = exposition["vigil_probes_sent_total"] ?? 0
            #expect((exposition["vigil_probes_failed_total"] ?? .infinity) <= sent)

            // Garbage at m1's gossip port is dropped as bad seals, and the scrape says so.
            let before = exposition["vigil_packets_dropped_total{reason=\"bad_seal\"}"] ?? -1
            let garbageCount = 5
            let raw = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .bind(host: "127.0.0.1", port: 0).get()
            let target = try SocketAddress(ipAddress: "127.0.0.1", port: Int(first.transport.localAddress.port))
            for i in 0..<garbageCount {
                let bytes = (0..<(64 + i)).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ i) }
                try await raw.writeAndFlush(AddressedEnvelope(remoteAddress: target, data: ByteBuffer(bytes: bytes)))
                    .get()
            }
            try await raw.close()
            var dropped: Double?
            let counted = await AgentLoopbackTests.eventually {
                dropped = await Self.scrape(first)?["vigil_packets_dropped_total{reason=\"bad_seal\"}"]
                return (dropped ?? 0) >= before + Double(garbageCount)
            }
            #expect(counted, "bad_seal drops went from \(before) to \(String(describing: dropped))")

            // m2 crashes (its sockets go silent): m1 and m3 suspect it, vote, and certify
            // it failed; the scrape counts every step. (The phi series of a suspect is
            // checked on the in-memory network, where the short window is not missed.)
            await second.transport.close()
            var afterCrash: Exposition?
            let certified = await AgentLoopbackTests.eventually {
                afterCrash = await Self.scrape(first)
                return afterCrash?["vigil_members{status=\"failed\"}"] == 1
                    && (afterCrash?["vigil_failures_certified_total"] ?? 0) >= 1
            }
            #expect(certified, "the scrape never showed the crashed agent failed: \(afterCrash?.samples ?? [:])")
            let crash = try #require(afterCrash)
            #expect(crash["vigil_members{status=\"alive\"}"] == 2)
            #expect((crash["vigil_probes_failed_total"] ?? 0) >= 1)
            #expect((crash["vigil_members_suspected_total"] ?? 0) >= 1)
            #expect(crash["vigil_suspect_phi{member=\"m2\"}"] == nil, "no phi series once m2 is failed")
            #expect(crash["vigil_isolated"] == 0)

            await third.group.triggerGracefulShutdown()
            await first.group.triggerGracefulShutdown()
            await second.group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    @Test func onlyGetMetricsIsServed() async throws {
        let node = try await Self.makeNode("p1", key: ClusterKey.generate(), join: [])
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await node.group.run() }
            var answered: Response?
            let up = await AgentLoopbackTests.eventually {
                answered = try? await Self.get("/metrics", from: node.server.localAddress)
                return answered != nil
            }
            #expect(up)
            let ok = try #require(answered)
            #expect(ok.status == 200)
            #expect(ok.headers["content-type"] == MetricsServer.contentType)
            #expect(ok.body.contains("# TYPE vigil_members gauge"))
            #expect(Exposition(ok.body)["vigil_members{status=\"alive\"}"] != nil)

            let notFound = try await Self.get("/", from: node.server.localAddress)
            #expect(notFound.status == 404)
            #expect(notFound.body.contains("/metrics"))
            #expect(try await Self.get("/metrics/extra", from: node.server.localAddress).status == 404)
            #expect(try await Self.get("/v1/members", from: node.server.localAddress).status == 404)
            let wrongMethod = try await Self.get("/metrics", from: node.server.localAddress, method: "POST")
            #expect(wrongMethod.status == 405)
            #expect(wrongMethod.headers["allow"] == "GET, HEAD")
            let head = try await Self.get("/metrics?x=1", from: node.server.localAddress, method: "HEAD")
            #expect(head.status == 200)
            #expect(head.body.isEmpty)

            await node.group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    @Test func aPortInUseIsRefusedWithTheAddressAndWhatToDo() async throws {
        let logger = Logger(label: "test.metrics")
        let first = try await MetricsServer(bind: Address(host: "127.0.0.1", port: 0), render: { [] }, logger: logger)
        defer { _ = first }
        do {
            let second = try await MetricsServer(bind: first.localAddress, render: { [] }, logger: logger)
            await second.close()
            Issue.record("a second server bound \(first.localAddress), which the first holds")
        } catch let error as MetricsServerError {
            #expect(error.description.contains("\(first.localAddress)"))
            #expect(error.description.contains("--metrics"))
            #expect(error.description.contains("(Address already in use)"))
        }
        await first.close()
    }
}

struct MetricsTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

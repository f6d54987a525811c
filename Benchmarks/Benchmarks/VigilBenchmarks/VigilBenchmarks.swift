import Benchmark
import VigilCore
import VigilCrypto

// Micro-benchmarks of Vigil's hot paths: the wire codec, the phi-accrual detector,
// one protocol period of a member in clusters of 100 to 10 000, a push-pull merge,
// failure-certificate checks, and the crypto every packet or vote goes through. Run with `swift package benchmark` from `Benchmarks/`.
//
// Cheap operations run 1000 times per measured iteration (`scalingFactor: .kilo`),
// so the figures shown are per operation and the harness's own cost is amortised.
//
// Names have no spaces: `thresholds update` writes `Thresholds/<target>.<name>.p90.json`
// with spaces turned into `_`, but `thresholds check` (benchmark 1.38.1) looks the file
// up by the name as it is, so a name with a space is never checked.

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        // Tolerances for `baseline compare/check` (p25 to p75) and, at p90, for
        // `thresholds check` against the p90 values checked in under `Thresholds/`.
        thresholds: [
            // Timings on shared 2-core machines are noisy: flag a p50 move over 25 %
            // against a baseline, and only a p90 over twice the checked-in one.
            .wallClock: BenchmarkThresholds(relative: [.p50: 25, .p90: 100]),
            .throughput: BenchmarkThresholds(relative: BenchmarkThresholds.Relative.relaxed),
            // Allocation counts barely move between runs of one build: 5 % is a real
            // change against a baseline; against the checked-in p90, a change of more
            // than 2 % or of more than one allocation is.
            .mallocCountTotal: BenchmarkThresholds(
                relative: [.p25: 5, .p50: 5, .p75: 5, .p90: 2], absolute: [.p90: 1]),
        ]
    )
    let perOperation = Benchmark.Configuration(scalingFactor: .kilo)

    // MARK: Wire codec

    let packet = Fixtures.fullPacket()
    let encoded = packet.encoded()

    Benchmark("Codec.encodeFullPacket", configuration: perOperation) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(packet.encoded())
        }
    }

    Benchmark("Codec.decodeFullPacket", configuration: perOperation) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try Packet(decoding: encoded))
        }
    } setup: {
        precondition(
            (try? Packet(decoding: encoded)) == packet, "the full packet must survive an encode/decode round trip")
        precondition(
            encoded.count <= Configuration.lan.gossip.mtu - Configuration.lan.gossip.sealOverhead,
            "the full packet must fit the MTU once sealed")
    }

    // MARK: Failure detection

    let phi = PhiState()
    Benchmark("Phi.heartbeatThenPhi", configuration: perOperation) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(phi.heartbeatThenPhi())
        }
    }

    for clusterSize in [100, 1_000, 10_000] {
        Benchmark("ProtocolPeriod.members\(clusterSize)") { benchmark, driver in
            for _ in benchmark.scaledIterations {
                blackHole(driver.runPeriod())
            }
        } setup: {
            ProtocolPeriodDriver(clusterSize: clusterSize)
        }
    }

    // MARK: Membership sync (push-pull)

    Benchmark("PushPull.merge1000.emptyView") { benchmark, fixture in
        for _ in benchmark.scaledIterations {
            // A fresh copy of the started instance each time; the copy (of empty
            // tables) and freeing the merged view afterwards are not measured.
            var instance = fixture.empty
            benchmark.startMeasurement()
            blackHole(instance.receive(fixture.reply, from: Fixtures.address(1), now: .zero))
            benchmark.stopMeasurement()
            precondition(instance.members.count == 1_000, "the merge must teach the whole cluster")
        }
    } setup: {
        (empty: Fixtures.startedInstance(), reply: Fixtures.pushPullReply(clusterSize: 1_000))
    }

    Benchmark("PushPull.merge1000.sameView") { benchmark, fixture in
        for _ in benchmark.scaledIterations {
            blackHole(fixture.merge())
        }
    } setup: {
        SteadyMerge(clusterSize: 1_000)
    }

    // MARK: Votes (Ed25519)

    let observer = Fixtures.key(1)
    let voteBytes = Vote.signedBytes(subject: Fixtures.name(2), incarnation: 7, observer: Fixtures.name(1))
    let signature = observer.sign(voteBytes)

    Benchmark("Vote.sign") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(
                observer.sign(Vote.signedBytes(subject: Fixtures.name(2), incarnation: 7, observer: Fixtures.name(1))))
        }
    }

    Benchmark("Vote.verify") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(observer.publicKey.isValidSignature(signature, for: voteBytes))
        }
    } setup: {
        precondition(observer.publicKey.isValidSignature(signature, for: voteBytes), "the vote must verify")
    }

    // MARK: Failure certificates

    let verifier = Fixtures.instanceKnowing(clusterSize: 1_000)
    let certificate = Fixtures.certificate(against: 500, clusterSize: 1_000)

    Benchmark("Certificate.verify3of5") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(verifier.verify(certificate))
        }
    } setup: {
        precondition(
            certificate.votes.count * 2 > Configuration.lan.probe.observers,
            "the certificate must carry a quorum of the observers' votes")
        precondition(verifier.verify(certificate), "the certificate must verify")
    }

    // MARK: Packet sealing (XChaCha20-Poly1305)

    let keyring = Keyring(primary: ClusterKey.generate())
    let plaintext = (0..<1_024).map { UInt8(truncatingIfNeeded: $0 &* 31) }
    let sealed = keyring.seal(plaintext)

    Benchmark("Seal.1KiB", configuration: perOperation) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(keyring.seal(plaintext))
        }
    }

    Benchmark("Open.1KiB", configuration: perOperation) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try keyring.open(sealed))
        }
    } setup: {
        precondition((try? keyring.open(sealed)) == plaintext, "the sealed packet must open")
    }
}

/// A detector fed a heartbeat about every 500 ms with a little jitter, as acks from
/// a healthy subject arrive; virtual time keeps advancing across iterations.
final class PhiState {
    private var detector = PhiAccrualDetector(Configuration.lan.phi, firstHeartbeatEstimate: .milliseconds(500))
    private var nanoseconds: Int64 = 0
    private var beat: Int64 = 0

    /// Records one heartbeat, then asks for phi halfway to the next one.
    func heartbeatThenPhi() -> Double {
        self.beat &+= 1
        // 480-515 ms between heartbeats, so the window has a real spread.
        self.nanoseconds &+= 480_000_000 &+ (self.beat & 7) &* 5_000_000
        self.detector.heartbeat(at: Instant(nanoseconds: self.nanoseconds))
        return self.detector.phi(at: Instant(nanoseconds: self.nanoseconds &+ 250_000_000))
    }
}

/// Member 0 of a healthy cluster, already holding the whole view, and the push-pull
/// reply that repeats it: a periodic sync between two nodes whose views differ in a
/// record or two, where nearly every record merged is one the receiver already holds
/// (here, all of them).
final class SteadyMerge {
    private var instance: Instance
    private let reply: Packet

    init(clusterSize: Int) {
        self.instance = Fixtures.instanceKnowing(clusterSize: clusterSize)
        self.reply = Fixtures.pushPullReply(clusterSize: clusterSize)
    }

    func merge() -> [Directive] {
        self.instance.receive(self.reply, from: Fixtures.address(1), now: .zero)
    }
}

import Benchmark
import VigilCore
import VigilCrypto

// Micro-benchmarks of Vigil's hot paths: the wire codec, the phi-accrual detector,
// one protocol period of a member in a large cluster, and the crypto every packet
// or vote goes through. Run with `swift package benchmark` from `Benchmarks/`.
//
// Cheap operations run 1000 times per measured iteration (`scalingFactor: .kilo`),
// so the figures shown are per operation and the harness's own cost is amortised.

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        thresholds: [
            // Timings on shared 2-core machines are noisy: flag only a p50 move over 25 %.
            .wallClock: BenchmarkThresholds(relative: BenchmarkThresholds.Relative.relaxed),
            .throughput: BenchmarkThresholds(relative: BenchmarkThresholds.Relative.relaxed),
            // Allocation counts barely move between runs of one build: 5 % is a real change.
            .mallocCountTotal: BenchmarkThresholds(relative: BenchmarkThresholds.Relative.default),
        ]
    )
    let perOperation = Benchmark.Configuration(scalingFactor: .kilo)

    // MARK: Wire codec

    let packet = Fixtures.fullPacket()
    let encoded = packet.encoded()

    Benchmark("Codec.encode full packet", configuration: perOperation) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(packet.encoded())
        }
    }

    Benchmark("Codec.decode full packet", configuration: perOperation) { benchmark in
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
    Benchmark("Phi update and phi", configuration: perOperation) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(phi.heartbeatThenPhi())
        }
    }

    Benchmark("Protocol period, 1000-member view") { benchmark, driver in
        for _ in benchmark.scaledIterations {
            blackHole(driver.runPeriod())
        }
    } setup: {
        ProtocolPeriodDriver(clusterSize: 1_000)
    }

    // MARK: Votes (Ed25519)

    let observer = Fixtures.key(1)
    let voteBytes = Vote.signedBytes(subject: Fixtures.name(2), incarnation: 7, observer: Fixtures.name(1))
    let signature = observer.sign(voteBytes)

    Benchmark("Vote sign") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(
                observer.sign(Vote.signedBytes(subject: Fixtures.name(2), incarnation: 7, observer: Fixtures.name(1))))
        }
    }

    Benchmark("Vote verify") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(observer.publicKey.isValidSignature(signature, for: voteBytes))
        }
    } setup: {
        precondition(observer.publicKey.isValidSignature(signature, for: voteBytes), "the vote must verify")
    }

    // MARK: Packet sealing (XChaCha20-Poly1305)

    let keyring = Keyring(primary: ClusterKey.generate())
    let plaintext = (0..<1_024).map { UInt8(truncatingIfNeeded: $0 &* 31) }
    let sealed = keyring.seal(plaintext)

    Benchmark("Seal 1 KiB", configuration: perOperation) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(keyring.seal(plaintext))
        }
    }

    Benchmark("Open 1 KiB", configuration: perOperation) { benchmark in
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

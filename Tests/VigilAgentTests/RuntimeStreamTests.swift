import Logging
import Synchronization
import Testing
import VigilCore
import VigilCrypto

@testable import VigilAgent

/// Keeps every datagram the runtime sends.
final class RecordingSink: PacketSink {
    private let sent = Mutex<[(Packet, Address)]>([])

    var datagrams: [(Packet, Address)] { self.sent.withLock { $0 } }

    func send(_ packet: Packet, to address: Address) {
        self.sent.withLock { $0.append((packet, address)) }
    }

    func stream(_ packet: Packet, to address: Address) async {}
}

@Suite struct RuntimeStreamTests {
    /// The runtime reads the transport's event stream itself (on the actor); every
    /// packet in it is handled, in order, and the loop ends with the stream.
    @Test func runtimeHandlesEveryPacketOfTheStreamInOrderAndEndsWithIt() async throws {
        let instance = Instance(
            name: "solo", address: Address(host: "127.0.0.1", port: 1), identity: SigningKey.generate(),
            incarnation: Incarnation.first(life: 1), configuration: .local, rng: DeterministicRNG(seed: 1))
        let sink = RecordingSink()
        let runtime = AgentRuntime(
            instance: instance, sink: sink, presetName: "local", logger: Logger(label: "vigil.test.runtime"))
        await runtime.start(joining: [])
        let (events, continuation) = AsyncStream.makeStream(of: TransportEvent.self)
        let peer = Address(host: "127.0.0.1", port: 2)
        // More than one run of `yieldEvery`, so the loop lets other callers in midway.
        let count = AgentRuntime.yieldEvery * 3 + 5
        for seq in 1...count {
            let ping = Packet(sender: "peer", message: .ping(seq: UInt32(seq), target: "solo"))
            continuation.yield(.packet(ping, from: peer, reliable: false))
        }
        continuation.finish()
        await runtime.receive(events)
        let acks = sink.datagrams.compactMap { packet, address -> UInt32? in
            guard address == peer, case .ack(let seq) = packet.message else { return nil }
            return seq
        }
        #expect(acks == (1...count).map { UInt32($0) })
        #expect(await runtime.info().counters["packets_handled"] == UInt64(count))
    }
}

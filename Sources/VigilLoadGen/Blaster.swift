import Dispatch
import Foundation
import Synchronization
import VigilAgent
import VigilCore
import VigilCrypto

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The sending side of `vigil-loadgen`: threads with a UDP socket each, sending
/// sealed packets to one address at a share of the rate, and reading what comes back.
enum Blaster {
    struct Plan: Sendable {
        var target: Address
        var packet: Packet
        var keyring: Keyring
        /// Packets per second over all threads; 0: flat out.
        var rate: Int
        var seconds: Double
        var threads: Int
        fileprivate var socketAddress: SocketAddressBytes

        init(
            target: Address, packet: Packet, sender: String, keyring: Keyring, rate: Int, seconds: Double,
            threads: Int
        ) throws(Failure) {
            guard let address = SocketAddressBytes(target) else {
                throw Failure("--target must be an IP address and port like 127.0.0.1:7946, got `\(target)`")
            }
            self.target = target
            self.packet = packet
            self.keyring = keyring
            self.rate = rate
            self.seconds = seconds
            self.threads = threads
            self.socketAddress = address
        }
    }

    struct Result: Sendable {
        var sent = 0
        var sendErrors = 0
        var answers = 0
        var seconds = 0.0
        /// Bytes of one sealed packet.
        var packetBytes = 0
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// Sends for `plan.seconds` (or until the packets sealed ahead run out) and returns
    /// what all threads did. The clock starts once every thread has sealed its packets.
    static func run(_ plan: Plan) throws(Failure) -> Result {
        var senders: [Sender] = []
        for index in 0..<plan.threads {
            let share = plan.rate == 0 ? 0 : (plan.rate / plan.threads + (index < plan.rate % plan.threads ? 1 : 0))
            senders.append(try Sender(plan: plan, rate: share))
        }
        let ready = DispatchSemaphore(value: 0)
        let go = DispatchSemaphore(value: 0)
        let done = DispatchGroup()
        let shared = Shared()
        for sender in senders {
            done.enter()
            let thread = Thread {
                sender.prepare()
                ready.signal()
                go.wait()
                let result = sender.send(from: shared.start.withLock { $0 })
                shared.results.withLock { $0.append(result) }
                done.leave()
            }
            thread.start()
        }
        for _ in senders { ready.wait() }
        let begin = monotonicSeconds()
        shared.start.withLock { $0 = begin }
        for _ in senders { go.signal() }
        done.wait()
        let elapsed = monotonicSeconds() - begin
        var total = Result()
        for result in shared.results.withLock({ $0 }) {
            total.sent += result.sent
            total.sendErrors += result.sendErrors
            total.answers += result.answers
            total.packetBytes = result.packetBytes
        }
        total.seconds = elapsed
        return total
    }
}

/// What the sending threads share: the start time, and their results.
private final class Shared: Sendable {
    let start = Mutex<Double>(0)
    let results = Mutex<[Blaster.Result]>([])
}

/// One thread's socket and packets. Used by one thread at a time: prepared, then sent
/// from; `@unchecked Sendable` only to cross into that thread.
private final class Sender: @unchecked Sendable {
    let plan: Plan
    let rate: Int
    let fd: Int32
    let advertised: Address
    /// Packets sealed ahead (rate mode), `stride` bytes each, back to back.
    var pool: [UInt8] = []
    var stride = 0
    var poolCount = 0

    typealias Plan = Blaster.Plan

    init(plan: Plan, rate: Int) throws(Blaster.Failure) {
        self.plan = plan
        self.rate = rate
        let family = plan.socketAddress.family
        let fd = socket(family, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw Blaster.Failure("cannot open a UDP socket: \(String(cString: strerror(errno)))") }
        self.fd = fd
        // Room for the agent's answers between two reads: a peer that drops its acks
        // would not be a believable peer.
        var size: Int32 = 8 << 20
        if setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        // Bound to the loopback (or the target's own address family's any address)
        // with a port of its own, which is sealed in as the sender's address.
        guard let local = plan.socketAddress.bindLocal(fd) else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw Blaster.Failure("cannot bind a UDP socket: \(reason)")
        }
        self.advertised = local
    }

    deinit { close(self.fd) }

    func plaintext() -> [UInt8] {
        SealedEnvelope(packet: self.plan.packet, advertised: self.advertised, timestamp: wallClockMilliseconds())
            .plaintext()
    }

    /// Seals every packet of this thread's share ahead (rate mode only).
    func prepare() {
        guard self.rate > 0 else {
            self.stride = self.plan.keyring.seal(self.plaintext()).count
            return
        }
        let count = Int((Double(self.rate) * self.plan.seconds).rounded(.up))
        let plaintext = self.plaintext()
        let first = self.plan.keyring.seal(plaintext)
        self.stride = first.count
        self.pool.reserveCapacity(count * self.stride)
        self.pool.append(contentsOf: first)
        for _ in 1..<max(1, count) {
            self.pool.append(contentsOf: self.plan.keyring.seal(plaintext))
        }
        self.poolCount = count
    }

    func send(from start: Double) -> Blaster.Result {
        var result = Blaster.Result()
        result.packetBytes = self.stride
        var answer = [UInt8](repeating: 0, count: 65_536)
        let end = start + self.plan.seconds
        let perSecond = Double(self.rate)
        var plaintext = self.plaintext()
        var sinceRefresh = 0
        let address = self.plan.socketAddress
        // Attempts so far: the next packet sealed ahead to send.
        var attempts = 0
        while true {
            let now = monotonicSeconds()
            if now >= end { break }
            var batch = 32
            if self.rate > 0 {
                if attempts >= self.poolCount { break }
                let due = min(self.poolCount, Int((now - start) * perSecond) + 1)
                if attempts >= due {
                    // Ahead of the rate: wait for the next packet's turn, at most 1 ms.
                    let wait = min(0.001, Double(attempts + 1) / perSecond - (now - start))
                    if wait > 0.000_02 { sleepSeconds(wait) }
                    continue
                }
                batch = min(batch, due - attempts)
            }
            for _ in 0..<batch {
                let ok: Bool
                if self.rate > 0 {
                    let offset = attempts * self.stride
                    ok = self.pool.withUnsafeBytes { pool in
                        address.send(self.fd, UnsafeRawBufferPointer(rebasing: pool[offset..<offset + self.stride]))
                    }
                } else {
                    if sinceRefresh == 1024 {
                        // Keep the timestamp current while sending for longer.
                        plaintext = self.plaintext()
                        sinceRefresh = 0
                    }
                    sinceRefresh += 1
                    let sealed = self.plan.keyring.seal(plaintext)
                    ok = sealed.withUnsafeBytes { address.send(self.fd, $0) }
                }
                attempts += 1
                if ok { result.sent += 1 } else { result.sendErrors += 1 }
            }
            // Read the answers that arrived meanwhile.
            while answer.withUnsafeMutableBytes({ recv(self.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }) >= 0 {
                result.answers += 1
            }
        }
        while answer.withUnsafeMutableBytes({ recv(self.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }) >= 0 {
            result.answers += 1
        }
        return result
    }
}

/// An IPv4 or IPv6 socket address, for `sendto`.
private struct SocketAddressBytes: @unchecked Sendable {  // plain bytes, never shared mutably
    var family: Int32
    var storage: sockaddr_storage
    var length: socklen_t

    init?(_ address: Address) {
        var storage = sockaddr_storage()
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, address.host, &v4) == 1 {
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = address.port.bigEndian
            sin.sin_addr = v4
            withUnsafeBytes(of: &sin) { bytes in
                withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: bytes) }
            }
            self.family = AF_INET
            self.length = socklen_t(MemoryLayout<sockaddr_in>.size)
        } else if inet_pton(AF_INET6, address.host, &v6) == 1 {
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = address.port.bigEndian
            sin6.sin6_addr = v6
            withUnsafeBytes(of: &sin6) { bytes in
                withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: bytes) }
            }
            self.family = AF_INET6
            self.length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        } else {
            return nil
        }
        self.storage = storage
    }

    /// Sends one datagram; `false` if the kernel refused it.
    func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var storage = self.storage
        return withUnsafePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                sendto(fd, bytes.baseAddress, bytes.count, 0, address, self.length) == bytes.count
            }
        }
    }

    /// Binds `fd` to the target's own host (loopback reaches loopback) on a free
    /// port, and returns the address bound.
    func bindLocal(_ fd: Int32) -> Address? {
        var local = self.storage
        if self.family == AF_INET {
            withUnsafeMutableBytes(of: &local) { $0.bindMemory(to: sockaddr_in.self)[0].sin_port = 0 }
        } else {
            withUnsafeMutableBytes(of: &local) { $0.bindMemory(to: sockaddr_in6.self)[0].sin6_port = 0 }
        }
        let bound = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, self.length) }
        }
        guard bound == 0 else { return nil }
        var actual = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { return nil }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let port: UInt16
        if self.family == AF_INET {
            var sin = withUnsafeBytes(of: &actual) { $0.load(as: sockaddr_in.self) }
            inet_ntop(AF_INET, &sin.sin_addr, &text, socklen_t(text.count))
            port = UInt16(bigEndian: sin.sin_port)
        } else {
            var sin6 = withUnsafeBytes(of: &actual) { $0.load(as: sockaddr_in6.self) }
            inet_ntop(AF_INET6, &sin6.sin6_addr, &text, socklen_t(text.count))
            port = UInt16(bigEndian: sin6.sin6_port)
        }
        let host = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return Address(host: host, port: port)
    }
}

private func monotonicSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

private func wallClockMilliseconds() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_REALTIME, &spec)
    return UInt64(spec.tv_sec) * 1000 + UInt64(spec.tv_nsec) / 1_000_000
}

private func sleepSeconds(_ seconds: Double) {
    var spec = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
    nanosleep(&spec, nil)
}

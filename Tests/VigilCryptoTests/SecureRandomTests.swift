import Testing
import VigilCrypto

@Suite struct SecureRandomTests {
    @Test(arguments: [0, 1, 24, 32, 1000])
    func bytesReturnsTheRequestedCount(count: Int) {
        #expect(SecureRandom.bytes(count).count == count)
    }

    @Test func successiveDrawsDiffer() {
        #expect(SecureRandom.bytes(32) != SecureRandom.bytes(32))
        #expect(SecureRandom.uint64() != SecureRandom.uint64())
    }

    @Test func bytesAreNotAllZero() {
        #expect(SecureRandom.bytes(64).contains { $0 != 0 })
    }
}

import CSodium

/// libsodium must be initialised once before use; `sodium_init` is thread-safe and
/// idempotent, so every entry point calls this.
enum Sodium {
    static let ready: Bool = {
        sodium_init() >= 0
    }()

    static func ensureReady() {
        precondition(Self.ready, "libsodium failed to initialise (sodium_init < 0)")
    }
}

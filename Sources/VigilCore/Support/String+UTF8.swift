extension String {
    /// `bytes` as text, or `nil` unless they are valid UTF-8: what
    /// `String(validating:as:)` does, without its cost on the receive path (it is
    /// generic, and looked its types up at run time for every string of every packet).
    /// Decoding repairs invalid UTF-8, so the bytes were valid exactly when the
    /// string's UTF-8 is the same bytes.
    public init?(exactUTF8 bytes: UnsafeRawBufferPointer) {
        var string = String(decoding: bytes, as: UTF8.self)
        guard string.withUTF8({ $0.elementsEqual(bytes) }) else { return nil }
        self = string
    }
}

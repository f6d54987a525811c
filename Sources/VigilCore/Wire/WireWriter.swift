/// Appends big-endian integers and length-prefixed strings to a byte array.
///
/// Create it with the exact size of what will be written (the codec computes it
/// without allocating, see `Packet.encodedSize`) so the array grows once.
struct WireWriter {
    var bytes: [UInt8]

    init(capacity: Int) {
        self.bytes = []
        self.bytes.reserveCapacity(capacity)
    }

    /// A writer that appends to `bytes`.
    init(appendingTo bytes: [UInt8]) {
        self.bytes = bytes
    }

    mutating func writeUInt8(_ value: UInt8) {
        self.bytes.append(value)
    }

    mutating func writeUInt16(_ value: UInt16) {
        self.writeInteger(value)
    }

    mutating func writeUInt32(_ value: UInt32) {
        self.writeInteger(value)
    }

    mutating func writeUInt64(_ value: UInt64) {
        self.writeInteger(value)
    }

    @inline(__always)
    private mutating func writeInteger<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.bigEndian) { self.bytes.append(contentsOf: $0) }
    }

    /// Writes a 1-byte length, then the string's UTF-8.
    ///
    /// A string longer than `WireCodec.maxStringBytes` is cut to the longest prefix
    /// that fits and ends on a Unicode scalar boundary, so the bytes stay valid UTF-8
    /// (see `WireCodec.wireLength(of:)`; `Packet.validateForWire()` reports such
    /// strings before they are sent).
    mutating func writeString(_ string: String) {
        let utf8 = string.utf8
        let length = WireCodec.wireLength(of: utf8)
        self.bytes.append(UInt8(truncatingIfNeeded: length))
        if length == utf8.count {
            self.bytes.append(contentsOf: utf8)
        } else {
            self.bytes.append(contentsOf: utf8.prefix(length))
        }
    }

    /// Writes raw bytes with no length (fixed-size keys and signatures).
    mutating func writeBytes(_ bytes: [UInt8]) {
        self.bytes.append(contentsOf: bytes)
    }
}

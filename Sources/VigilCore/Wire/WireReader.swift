/// A bounds-checked, big-endian cursor over borrowed bytes.
///
/// Every read checks the remaining length first and throws `WireError.truncated`
/// rather than reading past the end, so no input can make decoding trap. Counts are
/// read through `readCount(_:limit:minimumElementSize:)`, which refuses any count the
/// remaining bytes could not hold before the caller allocates for it: decoding
/// allocates at most a constant factor of the input's size.
///
/// The reader borrows its buffer: create it inside `withUnsafeBytes` and do not let
/// it outlive that closure (`Packet(decoding:)` is the only place that makes one).
struct WireReader {
    private let buffer: UnsafeRawBufferPointer
    /// Bytes consumed so far.
    private(set) var offset: Int

    init(_ buffer: UnsafeRawBufferPointer) {
        self.buffer = buffer
        self.offset = 0
    }

    /// Bytes not yet consumed.
    var remaining: Int {
        self.buffer.count - self.offset
    }

    /// Throws `.truncated` unless `count` more bytes are available.
    @inline(__always)
    private func require(_ count: Int) throws(WireError) {
        guard count <= self.remaining else { throw .truncated }
    }

    mutating func readUInt8() throws(WireError) -> UInt8 {
        try self.require(1)
        let value = self.buffer[self.offset]
        self.offset += 1
        return value
    }

    mutating func readUInt16() throws(WireError) -> UInt16 {
        try self.readInteger()
    }

    mutating func readUInt32() throws(WireError) -> UInt32 {
        try self.readInteger()
    }

    mutating func readUInt64() throws(WireError) -> UInt64 {
        try self.readInteger()
    }

    @inline(__always)
    private mutating func readInteger<T: FixedWidthInteger>() throws(WireError) -> T {
        let size = MemoryLayout<T>.size
        try self.require(size)
        let value = T(bigEndian: self.buffer.loadUnaligned(fromByteOffset: self.offset, as: T.self))
        self.offset += size
        return value
    }

    /// Reads a 1-byte length, then that many bytes of UTF-8.
    /// - Throws: `.truncated`, or `.invalidUTF8` if the bytes are not valid UTF-8.
    mutating func readString() throws(WireError) -> String {
        let length = Int(try self.readUInt8())
        guard length > 0 else { return "" }
        try self.require(length)
        let bytes = UnsafeRawBufferPointer(rebasing: self.buffer[self.offset..<self.offset + length])
        guard let string = String(exactUTF8: bytes) else { throw .invalidUTF8 }
        self.offset += length
        return string
    }

    /// Reads exactly `count` raw bytes (keys, signatures).
    mutating func readBytes(_ count: Int) throws(WireError) -> [UInt8] {
        try self.require(count)
        let bytes = [UInt8](UnsafeRawBufferPointer(rebasing: self.buffer[self.offset..<self.offset + count]))
        self.offset += count
        return bytes
    }

    /// Reads an element count of integer type `T` and checks it before anything is
    /// allocated for the elements.
    ///
    /// - Parameters:
    ///   - limit: The largest count the format allows.
    ///   - minimumElementSize: The fewest bytes one element can take on the wire.
    /// - Throws: `.truncated` if the count itself is cut off; `.lengthOutOfBounds` if
    ///   it exceeds `limit` or `count * minimumElementSize` exceeds the remaining bytes.
    mutating func readCount<T: FixedWidthInteger & UnsignedInteger>(
        _: T.Type,
        limit: Int,
        minimumElementSize: Int
    ) throws(WireError) -> Int {
        let raw: T = try self.readInteger()
        // T is at most 32 bits wide here, so the count always fits in Int.
        let count = Int(truncatingIfNeeded: raw)
        guard count >= 0, count <= limit, count <= self.remaining / minimumElementSize else {
            throw .lengthOutOfBounds
        }
        return count
    }

    /// Throws `.trailingBytes` unless every byte has been consumed.
    func expectEnd() throws(WireError) {
        guard self.remaining == 0 else { throw .trailingBytes }
    }
}

import NIOCore

/// Splits a TCP byte stream into frames: a 4-byte big-endian length, then that many
/// bytes (one sealed envelope). A length over `maxFrameBytes` is refused before any
/// of the frame is buffered.
struct StreamFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    /// Bytes of the length prefix.
    static let prefixBytes = 4

    /// A frame longer than the limit was announced; the connection is to be closed.
    struct FrameTooLarge: Error, Equatable {
        var length: UInt32
    }

    /// What the bytes at the front of a buffer hold.
    enum Parse: Equatable {
        /// Not a whole frame yet.
        case needMoreData
        /// A whole frame: the sealed bytes are `length` bytes after the prefix.
        case frame(length: Int)
        /// The prefix announces more than the limit.
        case tooLarge(UInt32)
    }

    /// The connection ended in the middle of a frame.
    struct FrameCutShort: Error, Equatable {
        /// Bytes received of the unfinished frame, prefix included.
        var bytes: Int
    }

    let maxFrameBytes: Int

    /// Reads the frame at the front of `buffer` without consuming anything.
    static func parse(_ buffer: ByteBuffer, maxFrameBytes: Int) -> Parse {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return .needMoreData }
        guard UInt64(length) <= UInt64(max(0, maxFrameBytes)) else { return .tooLarge(length) }
        guard buffer.readableBytes - Self.prefixBytes >= Int(length) else { return .needMoreData }
        return .frame(length: Int(length))
    }

    /// `sealed` with its length prefix, ready to write.
    static func frame(_ sealed: [UInt8], allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: Self.prefixBytes + sealed.count)
        buffer.writeInteger(UInt32(truncatingIfNeeded: sealed.count))
        buffer.writeBytes(sealed)
        return buffer
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        switch Self.parse(buffer, maxFrameBytes: self.maxFrameBytes) {
        case .needMoreData:
            return .needMoreData
        case .tooLarge(let length):
            throw FrameTooLarge(length: length)
        case .frame(let length):
            buffer.moveReaderIndex(forwardBy: Self.prefixBytes)
            let frame = buffer.readSlice(length: length)!
            context.fireChannelRead(Self.wrapInboundOut(frame))
            return .continue
        }
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws
        -> DecodingState
    {
        while try self.decode(context: context, buffer: &buffer) == .continue {}
        if buffer.readableBytes > 0 {
            throw FrameCutShort(bytes: buffer.readableBytes)
        }
        return .needMoreData
    }
}

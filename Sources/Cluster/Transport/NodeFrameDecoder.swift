public import NIOCore
public import Wire

/// Cuts a node connection's byte stream into `Frame`s (`Wire.FrameDecoder` inside a `ByteToMessageDecoder`).
///
/// A frame whose header is bad (length outside 3...`maxFrameBytes - 4`, unknown version or kind) throws a
/// `WireError` as soon as the header arrives, before the payload is buffered; the handler behind it closes the
/// connection. At most one partial frame plus one socket read is buffered.
public struct NodeFrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = Frame

    private var decoder: FrameDecoder

    /// - Parameter maxFrameBytes: largest whole frame accepted; 7...`Frame.absoluteMaxFrameBytes`.
    public init(maxFrameBytes: Int) {
        decoder = FrameDecoder(maxFrameBytes: maxFrameBytes)
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if buffer.readableBytes > 0 {
            decoder.append(buffer.readableBytesView)
            buffer.moveReaderIndex(to: buffer.writerIndex)
        }
        while let frame = try decoder.next() {
            context.fireChannelRead(wrapInboundOut(frame))
        }
        return .needMoreData
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool
    ) throws -> DecodingState {
        // A partial frame at the end of the stream is dropped with the connection.
        try decode(context: context, buffer: &buffer)
    }
}

/// Outgoing frames are encoded by `NodeMessage.encodeFrame` on the sender's thread before they are queued; the
/// event loop only copies a batch of them into one `ByteBuffer` for a single write+flush.
enum NodeFrameBytes {
    static func buffer(_ frames: [[UInt8]], byteCount: Int, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: byteCount)
        for frame in frames { buffer.writeBytes(frame) }
        return buffer
    }
}

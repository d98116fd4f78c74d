/// Every frame kind, node-to-node and client. Raw values are stable wire codes; never renumber.
///
/// Node frames use 0x01-0x1F, client requests 0x20-0x3F, client responses 0x40-0x5F, so a frame sent on the
/// wrong kind of connection is recognised as `unexpectedFrameKind` instead of being misread.
public enum FrameKind: UInt8, Sendable, Hashable, CaseIterable {
    // Node to node.
    case handshake = 0x01
    case handshakeAccept = 0x02
    case handshakeReject = 0x03
    case raft = 0x04

    // Client requests.
    case ping = 0x20
    case newOrder = 0x21
    case cancel = 0x22
    case replace = 0x23
    case orderStatus = 0x24
    case subscribe = 0x25

    // Client responses.
    case pong = 0x40
    case commandResult = 0x41
    case orderStatusResult = 0x42
    case notLeader = 0x43
    case retryLater = 0x44
    case subscribed = 0x45
    case executionReport = 0x46
    case protocolError = 0x47

    public var isNodeFrame: Bool { rawValue < 0x20 }
    public var isClientRequest: Bool { rawValue >= 0x20 && rawValue < 0x40 }
    public var isClientResponse: Bool { rawValue >= 0x40 && rawValue < 0x60 }
}

/// One frame: `[UInt32 length][UInt16 version][UInt8 kind][payload]`, little-endian.
///
/// `length` counts the bytes after the length field (3 + payload bytes), so a frame occupies `4 + length` bytes.
/// The receiver bounds the whole frame (`4 + length`) by its `maxFrameBytes` before buffering the payload.
public struct Frame: Sendable, Hashable {
    /// Bytes before the payload: length (4), version (2), kind (1).
    public static let headerByteCount = 7
    /// The smallest legal value of the length field (version and kind, empty payload).
    public static let minimumLengthField = 3
    /// Hard ceiling on any frame, whatever a receiver configures: 1 GiB.
    public static let absoluteMaxFrameBytes = 1 << 30
    /// Default `maxFrameBytes` for client connections: 64 KiB (the largest client frame is a command result
    /// with `CommandResult.maxFills` fills, under 40 KiB).
    public static let clientMaxFrameBytesDefault = 1 << 16
    /// Default `maxFrameBytes` for node connections: 128 MiB (an append of entries up to
    /// `RaftWire.maxEntryDataBytes`, or a snapshot chunk, plus headers).
    public static let nodeMaxFrameBytesDefault = 128 << 20

    public var version: UInt16
    public var kind: FrameKind
    public var payload: [UInt8]

    public init(version: UInt16 = Wire.version, kind: FrameKind, payload: [UInt8]) {
        self.version = version
        self.kind = kind
        self.payload = payload
    }

    public var encodedByteCount: Int { Frame.headerByteCount + payload.count }

    /// Appends the encoded frame to `bytes`.
    public func encode(into bytes: inout [UInt8]) {
        precondition(encodedByteCount <= Frame.absoluteMaxFrameBytes, "frame exceeds absoluteMaxFrameBytes")
        var writer = ByteWriter(bytes: bytes)
        bytes = []
        let start = writer.count
        writer.write(UInt32(Frame.minimumLengthField + payload.count))
        writer.write(version)
        writer.write(kind.rawValue)
        writer.write(contentsOf: payload)
        assert(writer.count - start == encodedByteCount)
        bytes = writer.bytes
    }

    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(encodedByteCount)
        encode(into: &bytes)
        return bytes
    }

    /// Encodes a frame whose payload `body` writes straight into `bytes` (no intermediate payload array).
    /// The length field is patched afterwards.
    static func encode(
        kind: FrameKind, into bytes: inout [UInt8], body: (inout ByteWriter) -> Void
    ) {
        var writer = ByteWriter(bytes: bytes)
        bytes = []
        let start = writer.count
        writer.write(UInt32(0))
        writer.write(Wire.version)
        writer.write(kind.rawValue)
        body(&writer)
        let frameBytes = writer.count - start
        precondition(frameBytes <= Frame.absoluteMaxFrameBytes, "frame exceeds absoluteMaxFrameBytes")
        writer.patch(UInt32(frameBytes - 4), at: start)
        bytes = writer.bytes
    }

    /// Decodes one complete frame from the start of `bytes`.
    ///
    /// - Returns: the frame and the number of bytes it occupied, or nil when `bytes` holds only part of a frame
    ///   (and nothing wrong has been seen yet).
    /// - Throws: `WireError` for a length outside `minimumLengthField...(maxFrameBytes - 4)`, an unsupported
    ///   version or an unknown kind, as soon as the header shows it (before the payload arrives). `offset` is
    ///   `streamOffset` plus the position of the bad field.
    public static func decode(
        _ bytes: ArraySlice<UInt8>, maxFrameBytes: Int, streamOffset: Int = 0
    ) throws(WireError) -> (frame: Frame, byteCount: Int)? {
        precondition((headerByteCount...absoluteMaxFrameBytes).contains(maxFrameBytes), "maxFrameBytes out of range")
        let base = bytes.startIndex
        guard bytes.count >= 4 else { return nil }
        var length = 0
        for i in 0..<4 { length |= Int(bytes[base + i]) << (8 * i) }
        if length < minimumLengthField {
            throw WireError(.frameTooShort, offset: streamOffset, "frame length \(length) is below 3")
        }
        if length > maxFrameBytes - 4 {
            throw WireError(
                .frameTooLarge, offset: streamOffset,
                "frame of \(length + 4) bytes exceeds maxFrameBytes \(maxFrameBytes)")
        }
        guard bytes.count >= 7 else {
            // Version and kind are checked as soon as the header is complete, before the payload arrives.
            return nil
        }
        let version = UInt16(bytes[base + 4]) | UInt16(bytes[base + 5]) << 8
        guard Wire.supportedVersions.contains(version) else {
            throw WireError(.unsupportedVersion, offset: streamOffset + 4, "frame version \(version) is not supported")
        }
        guard let kind = FrameKind(rawValue: bytes[base + 6]) else {
            throw WireError(.unknownFrameKind, offset: streamOffset + 6, "unknown frame kind \(bytes[base + 6])")
        }
        let total = 4 + length
        guard bytes.count >= total else { return nil }
        let payload = Array(bytes[(base + 7)..<(base + total)])
        return (Frame(version: version, kind: kind, payload: payload), total)
    }
}

/// Cuts a byte stream into frames: feed it any split of the bytes, take complete frames out.
///
/// NIO-free so that it can sit inside a `ByteToMessageDecoder` (copy the readable bytes in with `append`, then
/// call `next()` until it returns nil), in the simulator, or in tests.
///
/// - Important: after it throws, the stream has lost its framing: the decoder keeps throwing the same error and
///   the connection must be closed (client connections first get a `ProtocolError` frame).
public struct FrameDecoder: Sendable {
    /// Largest whole frame (length field included) accepted. Range: 7...`Frame.absoluteMaxFrameBytes`.
    public let maxFrameBytes: Int
    private var buffer: [UInt8] = []
    private var readIndex = 0
    /// Stream offset of `buffer[0]`.
    private var consumedBytes = 0
    private var failure: WireError?

    public init(maxFrameBytes: Int) {
        precondition(
            (Frame.headerByteCount...Frame.absoluteMaxFrameBytes).contains(maxFrameBytes),
            "maxFrameBytes must be in 7...\(Frame.absoluteMaxFrameBytes)")
        self.maxFrameBytes = maxFrameBytes
    }

    /// Bytes received but not yet returned as frames.
    public var bufferedByteCount: Int { buffer.count - readIndex }

    /// Total bytes consumed into returned frames since the start of the stream.
    public var streamOffset: Int { consumedBytes + readIndex }

    public mutating func append(_ bytes: some Sequence<UInt8>) {
        buffer.append(contentsOf: bytes)
    }

    /// The next complete frame, or nil when more bytes are needed.
    public mutating func next() throws(WireError) -> Frame? {
        if let failure { throw failure }
        do {
            guard
                let (frame, count) = try Frame.decode(
                    buffer[readIndex...], maxFrameBytes: maxFrameBytes, streamOffset: streamOffset)
            else {
                compact()
                return nil
            }
            readIndex += count
            if readIndex == buffer.count {
                consumedBytes += readIndex
                buffer.removeAll(keepingCapacity: buffer.capacity <= maxFrameBytes)
                readIndex = 0
            }
            return frame
        } catch {
            failure = error
            throw error
        }
    }

    /// Drops consumed bytes once they are the larger part of the buffer, so the buffer never holds more than
    /// one partial frame plus what the caller appended since.
    private mutating func compact() {
        if readIndex > 0 && readIndex >= buffer.count / 2 {
            consumedBytes += readIndex
            buffer.removeFirst(readIndex)
            readIndex = 0
        }
    }
}

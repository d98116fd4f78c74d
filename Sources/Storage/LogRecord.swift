/// What a log record holds. Raw values are on disk: never renumber.
public enum LogRecordType: UInt8, Sendable, Hashable, CaseIterable {
    /// A Raft entry of kind `normal`; the payload is the entry data.
    case entryNormal = 1
    /// A Raft entry of kind `noop`.
    case entryNoop = 2
    /// A Raft entry of kind `configuration`.
    case entryConfiguration = 3
    /// Hard state (term, vote, commit) written with the batch it accompanies. Every batch ends with
    /// one: recovery keeps a batch only if its hard-state record is intact, so the entries and hard
    /// state of one `Ready` are durable together or not at all.
    case hardState = 4
    /// A snapshot (term, index) replaced the log: every entry before this record is discarded and the
    /// log continues at index + 1. Written after installing a snapshot that the log does not match.
    case snapshotReset = 5
}

/// One record of a write-ahead log segment.
///
/// On-disk layout, little-endian, `headerByteCount` (28) bytes of header followed by the payload:
///
///     offset  size  field
///          0     1  magic (0xA7)
///          1     1  type (`LogRecordType`)
///          2     2  reserved, zero
///          4     4  payload length in bytes (at most `payloadBytesMax`)
///          8     8  term
///         16     8  index
///         24     4  CRC32C over bytes 0..<24 and the payload
public struct LogRecord: Sendable, Hashable {
    public static let magic: UInt8 = 0xA7
    public static let headerByteCount = 28
    /// Largest payload accepted by both `encode` and `decode`; a longer length field is corruption.
    public static let payloadBytesMax = 64 * 1024 * 1024

    public var type: LogRecordType
    public var term: UInt64
    public var index: UInt64
    public var payload: [UInt8]

    public init(type: LogRecordType, term: UInt64, index: UInt64, payload: [UInt8]) {
        self.type = type
        self.term = term
        self.index = index
        self.payload = payload
    }

    /// Header plus payload.
    public var encodedByteCount: Int { LogRecord.headerByteCount + payload.count }

    /// Appends the encoded record to `buffer`.
    public func encode(into buffer: inout [UInt8]) {
        precondition(payload.count <= LogRecord.payloadBytesMax, "record payload exceeds payloadBytesMax")
        let start = buffer.count
        // No reserveCapacity here: reserving exactly per record defeats geometric growth and makes
        // encoding a large batch quadratic. Callers reserve once for the whole batch.
        buffer.append(LogRecord.magic)
        buffer.append(type.rawValue)
        buffer.append(0)
        buffer.append(0)
        appendLittleEndian(UInt32(payload.count), to: &buffer)
        appendLittleEndian(term, to: &buffer)
        appendLittleEndian(index, to: &buffer)
        var crc = CRC32C()
        crc.update(buffer[start..<(start + 24)])
        crc.update(payload)
        appendLittleEndian(crc.value, to: &buffer)
        buffer.append(contentsOf: payload)
        assert(buffer.count - start == encodedByteCount)
    }

    /// The encoded record.
    public func encoded() -> [UInt8] {
        var buffer: [UInt8] = []
        encode(into: &buffer)
        return buffer
    }

    /// Decodes the record starting at `offset` in `bytes`.
    ///
    /// - Returns: the record and the offset just past it.
    /// - Throws: `LogRecordError` naming the record's start offset; nothing is returned unless
    ///   magic, type, reserved bytes, length and checksum all check out.
    public static func decode(
        _ bytes: [UInt8], at offset: Int = 0
    ) throws(LogRecordError) -> (record: LogRecord, next: Int) {
        precondition(offset >= 0 && offset <= bytes.count, "offset outside buffer")
        let available = bytes.count - offset
        if available < headerByteCount {
            throw LogRecordError(.truncated, offset: offset, "header needs \(headerByteCount) bytes, \(available) left")
        }
        if bytes[offset] != magic {
            throw LogRecordError(.badMagic, offset: offset, "magic byte is \(bytes[offset])")
        }
        let length = Int(readLittleEndian(UInt32.self, bytes, offset + 4))
        if length > payloadBytesMax {
            throw LogRecordError(.badLength, offset: offset, "payload length \(length) exceeds \(payloadBytesMax)")
        }
        if available < headerByteCount + length {
            throw LogRecordError(
                .truncated, offset: offset, "record needs \(headerByteCount + length) bytes, \(available) left")
        }
        let payloadStart = offset + headerByteCount
        var crc = CRC32C()
        crc.update(bytes[offset..<(offset + 24)])
        crc.update(bytes[payloadStart..<(payloadStart + length)])
        let stored = readLittleEndian(UInt32.self, bytes, offset + 24)
        if crc.value != stored {
            throw LogRecordError(.badChecksum, offset: offset, "checksum mismatch")
        }
        // Checked after the CRC: with a matching checksum these are writer bugs or foreign data.
        guard let type = LogRecordType(rawValue: bytes[offset + 1]) else {
            throw LogRecordError(.badType, offset: offset, "unknown record type \(bytes[offset + 1])")
        }
        if bytes[offset + 2] != 0 || bytes[offset + 3] != 0 {
            throw LogRecordError(.badReserved, offset: offset, "reserved bytes are not zero")
        }
        let record = LogRecord(
            type: type,
            term: readLittleEndian(UInt64.self, bytes, offset + 8),
            index: readLittleEndian(UInt64.self, bytes, offset + 16),
            payload: Array(bytes[payloadStart..<(payloadStart + length)]))
        return (record, payloadStart + length)
    }
}

/// Why bytes did not decode as a `LogRecord`. An operating error: the bytes came from a disk.
public struct LogRecordError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: Sendable, Hashable {
        /// Fewer bytes than the header or the declared payload need (a torn tail, typically).
        case truncated
        case badMagic
        /// The length field exceeds `LogRecord.payloadBytesMax`.
        case badLength
        case badChecksum
        case badType
        case badReserved
    }

    public var code: Code
    /// Byte offset of the record's first byte within the decoded buffer.
    public var offset: Int
    public var message: String

    public init(_ code: Code, offset: Int, _ message: String) {
        self.code = code
        self.offset = offset
        self.message = message
    }

    public var description: String { "LogRecordError(\(code), offset: \(offset)): \(message)" }
}

@inline(__always)
func appendLittleEndian<T: FixedWidthInteger>(_ value: T, to buffer: inout [UInt8]) {
    var remaining = value.littleEndian
    withUnsafeBytes(of: &remaining) { buffer.append(contentsOf: $0) }
}

@inline(__always)
func readLittleEndian<T: FixedWidthInteger>(_: T.Type, _ bytes: [UInt8], _ offset: Int) -> T {
    var value: T = 0
    for byteIndex in 0..<MemoryLayout<T>.size {
        value |= T(bytes[offset + byteIndex]) << (8 * byteIndex)
    }
    return value
}

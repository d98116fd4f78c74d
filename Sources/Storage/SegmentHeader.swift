/// The first `byteCount` bytes of every write-ahead log segment file.
///
/// On-disk layout, little-endian:
///
///     offset  size  field
///          0     4  magic "XWAL"
///          4     2  format version (`currentVersion`)
///          6     2  reserved, zero
///          8     8  group id (the Raft group whose log this is)
///         16     8  sequence number (also in the file name; consecutive from the first segment)
///         24     8  first index: the log's last index + 1 when the segment was created
///         32     8  preallocated size of the file in bytes
///         40     4  CRC32C over bytes 0..<40
///         44    20  zero
public struct SegmentHeader: Sendable, Hashable {
    public static let magic: [UInt8] = Array("XWAL".utf8)
    public static let currentVersion: UInt16 = 1
    public static let byteCount = 64

    public var version: UInt16
    public var groupID: UInt64
    public var sequence: UInt64
    public var firstIndex: UInt64
    public var preallocatedBytes: UInt64

    public init(
        version: UInt16 = SegmentHeader.currentVersion, groupID: UInt64, sequence: UInt64, firstIndex: UInt64,
        preallocatedBytes: UInt64
    ) {
        self.version = version
        self.groupID = groupID
        self.sequence = sequence
        self.firstIndex = firstIndex
        self.preallocatedBytes = preallocatedBytes
    }

    public func encoded() -> [UInt8] {
        var bytes = SegmentHeader.magic
        bytes.reserveCapacity(SegmentHeader.byteCount)
        appendLittleEndian(version, to: &bytes)
        appendLittleEndian(UInt16(0), to: &bytes)
        appendLittleEndian(groupID, to: &bytes)
        appendLittleEndian(sequence, to: &bytes)
        appendLittleEndian(firstIndex, to: &bytes)
        appendLittleEndian(preallocatedBytes, to: &bytes)
        appendLittleEndian(CRC32C.checksum(bytes), to: &bytes)
        bytes.append(contentsOf: repeatElement(0, count: SegmentHeader.byteCount - bytes.count))
        assert(bytes.count == SegmentHeader.byteCount)
        return bytes
    }

    /// Why a segment header was refused.
    public enum Problem: Sendable, Hashable {
        case tooShort
        case badMagic
        case badChecksum
        case unsupportedVersion(UInt16)
    }

    /// Decodes and checks the header at the start of `bytes`.
    public static func decode(_ bytes: [UInt8]) -> Result<SegmentHeader, ProblemBox> {
        guard bytes.count >= byteCount else { return .failure(ProblemBox(.tooShort)) }
        guard Array(bytes[0..<4]) == magic else { return .failure(ProblemBox(.badMagic)) }
        let stored = readLittleEndian(UInt32.self, bytes, 40)
        guard CRC32C.checksum(bytes[0..<40]) == stored else { return .failure(ProblemBox(.badChecksum)) }
        let version = readLittleEndian(UInt16.self, bytes, 4)
        guard version == currentVersion else { return .failure(ProblemBox(.unsupportedVersion(version))) }
        return .success(
            SegmentHeader(
                version: version, groupID: readLittleEndian(UInt64.self, bytes, 8),
                sequence: readLittleEndian(UInt64.self, bytes, 16),
                firstIndex: readLittleEndian(UInt64.self, bytes, 24),
                preallocatedBytes: readLittleEndian(UInt64.self, bytes, 32)))
    }

    /// `Problem` as an `Error`, so that `decode` can return a `Result`.
    public struct ProblemBox: Error, Sendable, Hashable {
        public var problem: Problem
        init(_ problem: Problem) { self.problem = problem }
    }

    /// The file name of segment `sequence`: `segment-` and 16 hex digits, so names sort by sequence.
    public static func fileName(sequence: UInt64) -> String {
        let digits = String(sequence, radix: 16)
        return "segment-" + String(repeating: "0", count: max(0, 16 - digits.count)) + digits + ".wal"
    }

    /// The sequence number in a segment file name, or nil if `name` is not a segment file name.
    public static func sequence(fromFileName name: String) -> UInt64? {
        guard name.hasPrefix("segment-"), name.hasSuffix(".wal"), name.count == 8 + 16 + 4 else { return nil }
        return UInt64(name.dropFirst(8).dropLast(4), radix: 16)
    }
}

/// Reads the records of one log segment and classifies how the segment ends, for recovery.
///
/// A segment is valid records back to back, then either nothing or zero bytes (preallocated space).
/// A record that fails to decode is acceptable only at the very tail, where a crash may have torn a
/// write that was never acknowledged: the scan reports it and the caller truncates there. If any
/// valid record follows a bad one, the bad bytes were once durable (and possibly acknowledged), so
/// the scan refuses with `SegmentCorruptionError` rather than lose committed data.
public enum SegmentScanner {
    /// Scans `bytes`, the whole contents of the segment at `path` (used only to name it in errors).
    public static func scan(_ bytes: [UInt8], path: String) throws(SegmentCorruptionError) -> SegmentScan {
        var records: [SegmentScan.Located] = []
        var offset = 0
        while offset < bytes.count {
            if bytes[offset...].allSatisfy({ $0 == 0 }) { break }
            do {
                let (record, next) = try LogRecord.decode(bytes, at: offset)
                records.append(SegmentScan.Located(offset: offset, record: record))
                offset = next
            } catch {
                if let validOffset = firstValidRecord(in: bytes, after: offset) {
                    throw SegmentCorruptionError(
                        path: path, offset: offset, cause: error, nextValidRecordOffset: validOffset)
                }
                return SegmentScan(records: records, validByteCount: offset, tail: .torn(error))
            }
        }
        return SegmentScan(records: records, validByteCount: offset, tail: .clean)
    }

    /// The first offset after `offset` at which a record decodes. Quadratic in the worst case, but
    /// only runs once per recovery, on a damaged segment.
    static func firstValidRecord(in bytes: [UInt8], after offset: Int) -> Int? {
        var candidate = offset + 1
        while candidate + LogRecord.headerByteCount <= bytes.count {
            if bytes[candidate] == LogRecord.magic, (try? LogRecord.decode(bytes, at: candidate)) != nil {
                return candidate
            }
            candidate += 1
        }
        return nil
    }
}

/// The outcome of `SegmentScanner.scan` for a segment that may be used.
public struct SegmentScan: Sendable, Hashable {
    /// A decoded record and the offset of its first byte in the segment.
    public struct Located: Sendable, Hashable {
        public var offset: Int
        public var record: LogRecord
    }

    /// How the segment ends after its last valid record.
    public enum Tail: Sendable, Hashable {
        /// End of file, or only zero bytes (preallocated space) after the last record.
        case clean
        /// A record at `validByteCount` failed to decode and nothing valid follows it: a torn,
        /// never-acknowledged write. The caller truncates the segment to `validByteCount` and
        /// reports it.
        case torn(LogRecordError)
    }

    public var records: [Located]
    /// Offset just past the last valid record: where the next append goes.
    public var validByteCount: Int
    public var tail: Tail
}

/// A segment holds a bad record followed by valid ones: data once durable has been damaged.
/// Recovery must refuse to start rather than truncate it away.
public struct SegmentCorruptionError: Error, Sendable, Hashable, CustomStringConvertible {
    public var path: String
    /// Offset of the first record that failed to decode.
    public var offset: Int
    public var cause: LogRecordError
    /// Offset of the first valid record found after the bad one.
    public var nextValidRecordOffset: Int

    public var description: String {
        "SegmentCorruptionError(path: \(path), offset: \(offset), "
            + "next valid record at: \(nextValidRecordOffset)): \(cause)"
    }
}

/// An operating error of the write-ahead log or the snapshot store: the disk failed, or what is on it
/// cannot be trusted. Recovery errors mean the node must not start: nothing has been overwritten.
public struct WALError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: Sendable, Hashable {
        /// A file-system call failed; see `storageError`.
        case storage
        /// A record that fails its checks is followed by valid data: once-durable data is damaged.
        case corruptRecord
        /// A segment or snapshot file does not start with the expected magic, or its header checksum fails.
        case badHeader
        /// A segment or snapshot of a format version this build does not read.
        case unsupportedVersion
        /// A segment belongs to another Raft group.
        case wrongGroup
        /// Segment sequence numbers are not consecutive, or the log does not reach back to the snapshot.
        case missingSegment
        /// An entry record's index skips ahead of the log's last index.
        case indexGap
        /// The durable hard state commits an index the log and snapshot do not hold.
        case commitBeyondLog
        /// A snapshot file fails its checks.
        case badSnapshot
        /// A sync failed earlier: nothing written since may be assumed durable. Crash-stop and recover.
        case failedEarlier
        /// The entries asked for were compacted away or replaced by a snapshot.
        case compacted
        /// An option is out of its range.
        case invalidOptions
        /// A non-final segment ends with an incomplete batch or a torn record (it was synced when
        /// the next segment was created).
        case tornBeforeLastSegment
    }

    public var code: Code
    public var message: String
    public var path: String?
    public var offset: UInt64?
    public var storageError: StorageError?
    public var recordError: LogRecordError?

    public init(
        _ code: Code, _ message: String, path: String? = nil, offset: UInt64? = nil,
        storageError: StorageError? = nil, recordError: LogRecordError? = nil
    ) {
        self.code = code
        self.message = message
        self.path = path
        self.offset = offset
        self.storageError = storageError
        self.recordError = recordError
    }

    init(_ error: StorageError) {
        self.init(.storage, error.message, path: error.path, offset: error.offset, storageError: error)
    }

    public var description: String {
        var text = "WALError(\(code)): \(message)"
        if let path { text += " path=\(path)" }
        if let offset { text += " offset=\(offset)" }
        if let storageError { text += " cause=\(storageError)" }
        if let recordError { text += " record=\(recordError)" }
        return text
    }
}

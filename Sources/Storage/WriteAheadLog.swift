public import Raft

/// Options of one `WriteAheadLog`.
public struct WriteAheadLogOptions: Sendable, Hashable {
    /// The Raft group whose log this is; written into every segment header and checked on open.
    public var groupID: UInt64
    /// Size every segment file is preallocated to (zero-filled, so that an append inside it changes
    /// no file metadata and `fdatasync` flushes data only). A batch larger than this still goes into
    /// one segment, which then grows past it. Default: 64 MiB. Range: 4 KiB ... 1 GiB.
    public var segmentBytes: UInt64

    public static let segmentBytesRange: ClosedRange<UInt64> = 4096...(1 << 30)

    public init(groupID: UInt64, segmentBytes: UInt64 = 64 << 20) {
        self.groupID = groupID
        self.segmentBytes = segmentBytes
    }

    public func validate() throws(WALError) {
        guard WriteAheadLogOptions.segmentBytesRange.contains(segmentBytes) else {
            throw WALError(
                .invalidOptions, "segmentBytes \(segmentBytes) outside \(WriteAheadLogOptions.segmentBytesRange)")
        }
    }
}

/// What recovery cut off the end of the log: a batch that was never completely written, so never
/// synced and never acknowledged.
public struct TailTruncation: Sendable, Hashable, CustomStringConvertible {
    public var path: String
    /// Where the kept data ends in that segment; everything from here on was zeroed.
    public var offset: UInt64
    /// Complete entry records dropped with their batch (their batch's hard-state record was missing).
    public var droppedEntries: Int
    /// Why: the record error at the tear, or "incomplete batch".
    public var reason: String

    public var description: String {
        "truncated \(path) at offset \(offset): \(droppedEntries) entries of an incomplete batch dropped (\(reason))"
    }
}

/// The log as recovery found it.
public struct RecoveredLog: Sendable {
    public var hardState: HardState
    /// Entries after the snapshot (or from index 1), contiguous.
    public var entries: [Entry]
    /// Set when a torn or incomplete batch at the very end was cut off.
    public var truncation: TailTruncation?
    public var segmentCount: Int
    public var recordCount: Int
    public var bytesRead: UInt64
}

/// The write-ahead log of one Raft group: segment files of records (`LogRecord`), each batch of one
/// `Ready` (entries, then the hard state) written with one `pwrite` and made durable by one
/// `fdatasync` (`sync`).
///
/// Raft overwrites uncommitted entries by writing entries at lower indices: the log is append-only
/// on disk and recovery replays records in order, a record at index i discarding every entry from i
/// on. Segments are deleted only as a whole, from the oldest, once a durable snapshot covers them and
/// every registered reader has consumed them.
///
/// - Important: not thread-safe; one storage thread drives it (the simulator: its only thread).
///   After any sync fails the log is broken: every later call throws `failedEarlier` and the
///   process must crash-stop and recover from what is really on disk.
public final class WriteAheadLog {
    public let fileSystem: any FileSystem
    public let directory: String
    public let options: WriteAheadLogOptions

    struct Segment {
        var sequence: UInt64
        var path: String
        /// Highest entry or reset index in the segment, 0 if none.
        var maxIndex: UInt64
    }

    private var segments: [Segment] = []
    private var handle: FileHandle?
    private var writeOffset: UInt64 = 0
    private var capacity: UInt64 = 0
    private var batchesInActiveSegment = 0
    private var buffer: [UInt8] = []
    private var broken: WALError?
    private var readers: [String: UInt64] = [:]

    public private(set) var hardState: HardState
    /// Index of the last entry written (or of the snapshot the log was reset to).
    public private(set) var lastIndex: UInt64
    /// Whether writes since the last `sync` are pending.
    public private(set) var needsSync = false
    /// Syncs issued and bytes written, for metrics and benchmarks.
    public private(set) var syncCount = 0
    public private(set) var bytesWritten: UInt64 = 0

    private init(fileSystem: any FileSystem, directory: String, options: WriteAheadLogOptions, hardState: HardState,
                 lastIndex: UInt64) {
        self.fileSystem = fileSystem
        self.directory = directory
        self.options = options
        self.hardState = hardState
        self.lastIndex = lastIndex
    }

    deinit {
        if let handle { fileSystem.close(handle) }
    }

    /// Number of segment files the log spans.
    public var segmentCount: Int { segments.count }
    /// Paths of the segment files, oldest first.
    public var segmentPaths: [String] { segments.map(\.path) }

    // MARK: Opening and recovery

    /// Opens the log in `directory` (created by the caller), recovering it, or starts an empty one.
    ///
    /// - Parameter snapshot: metadata of the newest durable snapshot, if any. Records it covers are
    ///   skipped; the log must reach back to it (`missingSegment` otherwise); entries after it are
    ///   kept only if the log holds the snapshot's own entry with the same term (else they were
    ///   replaced by the snapshot and are dropped, and a reset record is written).
    /// - Returns: the log, positioned to append, and what was recovered.
    /// - Throws: `WALError`; on any error other than `.storage` during the final repair nothing on
    ///   disk has been changed.
    public static func open(
        fileSystem: any FileSystem, directory: String, options: WriteAheadLogOptions, snapshot: SnapshotMetadata?
    ) throws(WALError) -> (log: WriteAheadLog, recovered: RecoveredLog) {
        try options.validate()
        let names: [String]
        do { names = try fileSystem.listDirectory(directory) } catch { throw WALError(error) }
        var sequences: [UInt64] = []
        var leftovers: [String] = []
        for name in names {
            if let sequence = SegmentHeader.sequence(fromFileName: name) {
                sequences.append(sequence)
            } else if name.hasSuffix(".wal.tmp") {
                leftovers.append(name)
            }
        }
        sequences.sort()
        for (position, sequence) in sequences.enumerated().dropFirst() where sequence != sequences[position - 1] + 1 {
            throw WALError(
                .missingSegment,
                "segment \(sequences[position - 1] + 1) is missing between \(sequences[position - 1]) and \(sequence)",
                path: directory + "/" + SegmentHeader.fileName(sequence: sequences[position - 1] + 1))
        }

        var replay = Replay(snapshot: snapshot)
        // Size the entry array once (growing a 10-million-entry array by doubling costs a third of
        // the replay): the last segment's header says where it started.
        if let lastSequence = sequences.last,
            let lastHeader = try? Self.readHeader(
                fileSystem, directory + "/" + SegmentHeader.fileName(sequence: lastSequence))
        {
            let before = lastHeader.header.firstIndex > (snapshot?.index ?? 0)
                ? lastHeader.header.firstIndex - (snapshot?.index ?? 0) : 0
            let estimate = before + lastHeader.fileSize / UInt64(2 * LogRecord.headerByteCount)
            replay.entries.reserveCapacity(Int(min(estimate, 1 << 31)))
        }
        var segments: [Segment] = []
        var bytesRead: UInt64 = 0
        var lastSegmentState: (header: SegmentHeader, validEnd: UInt64, fileSize: UInt64)?
        for (position, sequence) in sequences.enumerated() {
            let path = directory + "/" + SegmentHeader.fileName(sequence: sequence)
            let bytes: [UInt8]
            do {
                let handle = try fileSystem.open(path, mode: .existing)
                defer { fileSystem.close(handle) }
                bytes = try fileSystem.read(handle, at: 0, count: Int(try fileSystem.size(handle)))
            } catch {
                throw WALError(error)
            }
            bytesRead += UInt64(bytes.count)
            let header: SegmentHeader
            switch SegmentHeader.decode(bytes) {
            case .success(let decoded): header = decoded
            case .failure(let box):
                switch box.problem {
                case .unsupportedVersion(let version):
                    throw WALError(.unsupportedVersion, "segment format version \(version)", path: path, offset: 4)
                default:
                    throw WALError(.badHeader, "segment header: \(box.problem)", path: path, offset: 0)
                }
            }
            guard header.groupID == options.groupID else {
                throw WALError(
                    .wrongGroup, "segment of group \(header.groupID), expected \(options.groupID)", path: path, offset: 8)
            }
            guard header.sequence == sequence else {
                throw WALError(.badHeader, "header sequence \(header.sequence) differs from file name", path: path)
            }
            let isLast = position == sequences.count - 1
            let validEnd = try replay.scan(bytes, path: path, isLastSegment: isLast)
            segments.append(Segment(sequence: sequence, path: path, maxIndex: replay.segmentMaxIndex))
            if isLast { lastSegmentState = (header, validEnd, UInt64(bytes.count)) }
        }
        var recovered = try replay.finish()

        let log = WriteAheadLog(
            fileSystem: fileSystem, directory: directory, options: options, hardState: recovered.hardState,
            lastIndex: replay.finalLastIndex)
        log.segments = segments
        recovered.segmentCount = segments.count
        recovered.bytesRead = bytesRead
        do {
            for name in leftovers { try fileSystem.remove(directory + "/" + name) }
            if let state = lastSegmentState {
                let handle = try fileSystem.open(segments.last!.path, mode: .existing)
                log.handle = handle
                log.writeOffset = state.validEnd
                log.capacity = max(state.header.preallocatedBytes, state.fileSize)
                log.batchesInActiveSegment = replay.batchesInLastSegment
                // What recovery read may have come from the page cache of a process that crashed
                // before syncing: make it durable before anyone acts on it (and acknowledges it).
                for segment in segments.dropLast() {
                    let sealed = try fileSystem.open(segment.path, mode: .existing)
                    defer { fileSystem.close(sealed) }
                    try fileSystem.syncData(sealed)
                }
                if let truncation = recovered.truncation {
                    // Zero the discarded bytes so that a later, shorter batch cannot leave stale
                    // records behind it; durable before anything is appended after them.
                    let end = state.fileSize
                    var offset = truncation.offset
                    while offset < end {
                        let count = Int(min(end - offset, 1 << 20))
                        try fileSystem.write(handle, [UInt8](repeating: 0, count: count), at: offset)
                        offset += UInt64(count)
                    }
                }
                try fileSystem.syncData(handle)
            } else {
                try log.createSegment(sequence: 1, firstIndex: replay.finalLastIndex + 1)
            }
            if !leftovers.isEmpty { try fileSystem.syncDirectory(directory) }
        } catch {
            throw WALError(error)
        }
        if replay.needsReset, let snapshot {
            try log.writeReset(term: snapshot.term, index: snapshot.index)
            try log.sync()
        }
        return (log, recovered)
    }

    /// The header and size of a segment file, or nil when it cannot be read or decoded (the full
    /// scan then reports why).
    private static func readHeader(_ fileSystem: any FileSystem, _ path: String) throws(StorageError)
        -> (header: SegmentHeader, fileSize: UInt64)?
    {
        let handle = try fileSystem.open(path, mode: .existing)
        defer { fileSystem.close(handle) }
        let size = try fileSystem.size(handle)
        guard case .success(let header) = SegmentHeader.decode(
            try fileSystem.read(handle, at: 0, count: SegmentHeader.byteCount))
        else { return nil }
        return (header, size)
    }

    // MARK: Writing

    /// Writes one batch: `entries` (contiguous, starting at most one past the last index; entries at
    /// or after the first one's index are replaced), then the hard state record. Not durable until
    /// `sync`.
    ///
    /// - Important: messages that depend on this batch may be sent only after `sync` returns.
    public func append(entries: [Entry], hardState newHardState: HardState?) throws(WALError) {
        try checkUsable()
        if let first = entries.first {
            precondition(first.index <= lastIndex + 1, "append leaves a gap: \(first.index) after \(lastIndex)")
            precondition(first.index > 0, "entry index 0")
        }
        buffer.removeAll(keepingCapacity: true)
        var batchBytes = LogRecord.headerByteCount + 24
        for entry in entries { batchBytes += LogRecord.headerByteCount + entry.data.count }
        buffer.reserveCapacity(batchBytes)
        var maxIndex: UInt64 = 0
        for entry in entries {
            let type: LogRecordType =
                switch entry.kind {
                case .normal: .entryNormal
                case .noop: .entryNoop
                case .configuration: .entryConfiguration
                }
            LogRecord(type: type, term: entry.term, index: entry.index, payload: entry.data).encode(into: &buffer)
            maxIndex = max(maxIndex, entry.index)
        }
        let state = newHardState ?? hardState
        precondition(
            state.commit <= max(entries.last?.index ?? lastIndex, hardState.commit),
            "hard state commits \(state.commit) beyond the log")
        Self.hardStateRecord(state).encode(into: &buffer)
        try writeBatch(maxIndex: maxIndex)
        if let last = entries.last { lastIndex = last.index }
        hardState = state
    }

    /// Records that a snapshot at (`term`, `index`) replaced the log: on recovery every entry before
    /// this record is discarded. Not durable until `sync`.
    ///
    /// - Important: the snapshot file must be durable before this is synced.
    public func writeReset(term: UInt64, index: UInt64) throws(WALError) {
        try checkUsable()
        buffer.removeAll(keepingCapacity: true)
        LogRecord(type: .snapshotReset, term: term, index: index, payload: []).encode(into: &buffer)
        if hardState.commit < index { hardState.commit = index }
        Self.hardStateRecord(hardState).encode(into: &buffer)
        try writeBatch(maxIndex: index)
        lastIndex = index
    }

    /// Makes every batch written so far durable with one `fdatasync`. After a failure the log is
    /// broken for good (see the type's documentation).
    public func sync() throws(WALError) {
        try checkUsable()
        guard needsSync, let handle else { return }
        do {
            try fileSystem.syncData(handle)
        } catch {
            broken = WALError(error)
            throw broken!
        }
        syncCount += 1
        needsSync = false
    }

    /// Syncs several logs (the Raft groups of one node) in one round: all their batches are durable
    /// when this returns. On the real file system the `fdatasync`s of the different segment files
    /// are issued concurrently, one thread each, so that the round costs about one device flush
    /// rather than one per group. Every log whose sync failed is broken; the first failure is thrown.
    public static func syncAll(_ logs: [WriteAheadLog]) throws(WALError) {
        let pending = logs.filter { $0.needsSync && $0.handle != nil && $0.broken == nil }
        for log in logs { try log.checkUsable() }
        guard pending.count > 1, let posix = pending[0].fileSystem as? POSIXFileSystem,
            pending.allSatisfy({ $0.fileSystem === posix })
        else {
            for log in pending { try log.sync() }
            return
        }
        let descriptors = pending.map { $0.handle! }
        let failures = ConcurrentSync.run(descriptors, on: posix)
        var first: WALError?
        for (log, failure) in zip(pending, failures) {
            if let failure {
                log.broken = WALError(failure)
                first = first ?? log.broken
            } else {
                log.syncCount += 1
                log.needsSync = false
            }
        }
        if let first { throw first }
    }

    private func writeBatch(maxIndex: UInt64) throws(WALError) {
        if writeOffset + UInt64(buffer.count) > capacity, batchesInActiveSegment > 0 {
            try rotate()
        }
        guard let handle else { preconditionFailure("no active segment") }
        do {
            try fileSystem.write(handle, buffer, at: writeOffset)
        } catch {
            // A partial write may have left bytes behind: zero them (inside the preallocated space
            // this allocates nothing), or give up on this log.
            do {
                let end = min(capacity, writeOffset + UInt64(buffer.count))
                if end > writeOffset {
                    try fileSystem.write(handle, [UInt8](repeating: 0, count: Int(end - writeOffset)), at: writeOffset)
                }
            } catch {
                broken = WALError(error)
            }
            throw WALError(error)
        }
        writeOffset += UInt64(buffer.count)
        capacity = max(capacity, writeOffset)
        bytesWritten += UInt64(buffer.count)
        batchesInActiveSegment += 1
        segments[segments.count - 1].maxIndex = max(segments[segments.count - 1].maxIndex, maxIndex)
        needsSync = true
    }

    /// Seals the active segment (synced, so that only the last segment can ever end torn) and
    /// starts the next.
    private func rotate() throws(WALError) {
        if let handle {
            // Unconditionally: the segment may hold batches of an earlier incarnation still unsynced.
            do { try fileSystem.syncData(handle) } catch {
                broken = WALError(error)
                throw broken!
            }
            needsSync = false
        }
        let next = segments[segments.count - 1].sequence + 1
        do {
            try createSegment(sequence: next, firstIndex: lastIndex + 1)
        } catch {
            throw WALError(error)
        }
    }

    /// Creates segment `sequence`: written and zero-filled under a temporary name, synced, renamed,
    /// directory synced; then it becomes the active segment. A failure (a full disk) leaves the
    /// current segment active and removes the temporary file.
    private func createSegment(sequence: UInt64, firstIndex: UInt64) throws(StorageError) {
        let name = SegmentHeader.fileName(sequence: sequence)
        let path = directory + "/" + name
        let temporary = path + ".tmp"
        let header = SegmentHeader(
            groupID: options.groupID, sequence: sequence, firstIndex: firstIndex,
            preallocatedBytes: options.segmentBytes)
        if (try? fileSystem.listDirectory(directory).contains(name + ".tmp")) == true {
            try fileSystem.remove(temporary)
        }
        let newHandle = try fileSystem.open(temporary, mode: .createNew)
        do {
            try fileSystem.write(newHandle, header.encoded(), at: 0)
            var offset = UInt64(SegmentHeader.byteCount)
            let zeros = [UInt8](repeating: 0, count: 1 << 20)
            while offset < options.segmentBytes {
                let count = Int(min(options.segmentBytes - offset, UInt64(zeros.count)))
                try fileSystem.write(newHandle, count == zeros.count ? zeros : Array(zeros[0..<count]), at: offset)
                offset += UInt64(count)
            }
            try fileSystem.sync(newHandle)
            try fileSystem.rename(temporary, to: path)
            try fileSystem.syncDirectory(directory)
        } catch {
            fileSystem.close(newHandle)
            try? fileSystem.remove(temporary)
            throw error
        }
        if let handle { fileSystem.close(handle) }
        handle = newHandle
        writeOffset = UInt64(SegmentHeader.byteCount)
        capacity = max(options.segmentBytes, writeOffset)
        batchesInActiveSegment = 0
        segments.append(Segment(sequence: sequence, path: path, maxIndex: 0))
    }

    private func checkUsable() throws(WALError) {
        if let broken {
            throw WALError(
                .failedEarlier, "the log is broken since an earlier failure; restart and recover",
                storageError: broken.storageError)
        }
    }

    static func hardStateRecord(_ state: HardState) -> LogRecord {
        var payload: [UInt8] = []
        payload.reserveCapacity(24)
        appendLittleEndian(state.term, to: &payload)
        appendLittleEndian(state.vote, to: &payload)
        appendLittleEndian(state.commit, to: &payload)
        return LogRecord(type: .hardState, term: state.term, index: state.commit, payload: payload)
    }

    // MARK: Compaction and readers

    /// Registers a reader (the Kafka publisher) that has consumed entries through `consumedThrough`:
    /// compaction keeps every segment holding a later entry until the reader moves on.
    public func registerReader(_ name: String, consumedThrough: UInt64) {
        readers[name] = consumedThrough
    }

    /// Moves a registered reader forward.
    public func advanceReader(_ name: String, consumedThrough: UInt64) {
        precondition(readers[name] != nil, "unknown reader \(name)")
        readers[name] = max(readers[name]!, consumedThrough)
    }

    public func removeReader(_ name: String) { readers[name] = nil }

    /// The index compaction may delete through: `index`, lowered to what every reader consumed.
    public func compactionBound(_ index: UInt64) -> UInt64 {
        readers.values.reduce(index) { min($0, $1) }
    }

    /// Deletes the oldest segments whose every record is at or before `index` (lowered to what every
    /// registered reader has consumed); never the active segment. Returns how many were deleted.
    ///
    /// - Important: a snapshot covering `index` must already be durable.
    @discardableResult
    public func compact(through index: UInt64) throws(WALError) -> Int {
        try checkUsable()
        let bound = compactionBound(index)
        guard segments.count > 1, segments[0].maxIndex <= bound else { return 0 }
        // The latest hard state (term, vote, commit) must survive in a segment that stays: the
        // active one, durably. Without this a crash that lost the active segment's unsynced batches
        // would recover the hard state of nothing at all (a forgotten vote).
        if batchesInActiveSegment == 0 { try append(entries: [], hardState: nil) }
        try sync()
        var deleted = 0
        while segments.count > 1, segments[0].maxIndex <= bound {
            do { try fileSystem.remove(segments[0].path) } catch { throw WALError(error) }
            segments.removeFirst()
            deleted += 1
        }
        if deleted > 0 {
            do { try fileSystem.syncDirectory(directory) } catch {
                broken = WALError(error)
                throw broken!
            }
        }
        return deleted
    }

    /// Reads committed entries `from...through` back from the segments (for readers such as the
    /// publisher, after the in-memory log was compacted). Throws `compacted` if the log no longer
    /// holds all of them.
    ///
    /// - Important: only for committed entries: for an uncommitted index the answer may be stale.
    public func readEntries(from: UInt64, through: UInt64) throws(WALError) -> [Entry] {
        try checkUsable()
        guard from <= through else { return [] }
        guard through <= lastIndex else {
            throw WALError(.compacted, "entries through \(through) asked, log ends at \(lastIndex)")
        }
        guard let start = segments.firstIndex(where: { $0.maxIndex >= from }) else {
            throw WALError(.compacted, "no segment holds index \(from)")
        }
        var collected: [Entry] = []
        var lowestAvailable: UInt64?
        for segment in segments[start...] {
            let bytes: [UInt8]
            do {
                let readHandle = try fileSystem.open(segment.path, mode: .existing)
                defer { fileSystem.close(readHandle) }
                bytes = try fileSystem.read(readHandle, at: 0, count: Int(try fileSystem.size(readHandle)))
            } catch {
                throw WALError(error)
            }
            var offset = SegmentHeader.byteCount
            while offset < bytes.count, bytes[offset] != 0 {
                let record: LogRecord
                do { (record, offset) = try LogRecord.decode(bytes, at: offset) } catch {
                    throw WALError(
                        .corruptRecord, "record unreadable", path: segment.path, offset: UInt64(error.offset),
                        recordError: error)
                }
                switch record.type {
                case .hardState: continue
                case .snapshotReset:
                    collected.removeAll()
                    lowestAvailable = record.index + 1
                case .entryNormal, .entryNoop, .entryConfiguration:
                    while let last = collected.last, last.index >= record.index { collected.removeLast() }
                    if lowestAvailable == nil || record.index < lowestAvailable! { lowestAvailable = record.index }
                    if record.index >= from, record.index <= through {
                        collected.append(Self.entry(from: record))
                    }
                }
            }
        }
        guard let first = collected.first, first.index == from, collected.count == Int(through - from + 1) else {
            throw WALError(
                .compacted, "entries \(from)...\(through) not all in the log (lowest available \(lowestAvailable ?? 0))")
        }
        return collected
    }

    static func entry(from record: LogRecord) -> Entry {
        let kind: EntryKind =
            switch record.type {
            case .entryNoop: .noop
            case .entryConfiguration: .configuration
            default: .normal
            }
        return Entry(term: record.term, index: record.index, kind: kind, data: record.payload)
    }
}

/// Replays records in order during recovery, batch by batch.
private struct Replay {
    let snapshotIndex: UInt64
    let snapshotTerm: UInt64
    var hardState = HardState()
    /// Entries after the snapshot index.
    var entries: [Entry] = []
    /// Last index of the replayed log (including entries at or below the snapshot index).
    var logLast: UInt64?
    /// Term of the log's entry at the snapshot index, if the replayed log holds it.
    var termAtSnapshotIndex: UInt64?
    /// The records of the batch being read, applied when its hard-state record arrives.
    var pending: [LogRecord] = []
    var pendingStart: Int?
    var recordCount = 0
    var segmentMaxIndex: UInt64 = 0
    var batchesInLastSegment = 0
    var truncation: TailTruncation?
    var needsReset = false
    var finalLastIndex: UInt64 = 0

    init(snapshot: SnapshotMetadata?) {
        snapshotIndex = snapshot?.index ?? 0
        snapshotTerm = snapshot?.term ?? 0
        if snapshot == nil { termAtSnapshotIndex = 0 }
    }

    /// Scans one segment; returns the offset where appends continue.
    mutating func scan(_ bytes: [UInt8], path: String, isLastSegment: Bool) throws(WALError) -> UInt64 {
        segmentMaxIndex = 0
        batchesInLastSegment = 0
        pending.removeAll()
        pendingStart = nil
        var offset = SegmentHeader.byteCount
        var tear: LogRecordError?
        while offset < bytes.count {
            if bytes[offset] == 0, Self.isZero(bytes, from: offset) { break }
            let record: LogRecord
            let next: Int
            do throws(LogRecordError) {
                (record, next) = try LogRecord.decode(bytes, at: offset)
            } catch {
                if let valid = SegmentScanner.firstValidRecord(in: bytes, after: offset) {
                    throw WALError(
                        .corruptRecord,
                        "record at \(offset) is damaged and a valid record follows at \(valid): durable data is lost",
                        path: path, offset: UInt64(offset), recordError: error)
                }
                tear = error
                break
            }
            recordCount += 1
            if pending.isEmpty { pendingStart = offset }
            pending.append(record)
            if record.type == .hardState {
                try commitBatch(path: path, offset: offset)
                batchesInLastSegment += 1
            }
            offset = next
        }
        if tear != nil || !pending.isEmpty {
            let cut = pendingStart ?? offset
            guard isLastSegment else {
                throw WALError(
                    .tornBeforeLastSegment, "segment ends with an incomplete batch but a later segment exists",
                    path: path, offset: UInt64(cut), recordError: tear)
            }
            let dropped = pending.filter { $0.type != .hardState && $0.type != .snapshotReset }.count
            truncation = TailTruncation(
                path: path, offset: UInt64(cut), droppedEntries: dropped,
                reason: tear.map { "\($0)" } ?? "incomplete batch: no hard-state record")
            pending.removeAll()
            return UInt64(cut)
        }
        return UInt64(offset)
    }

    mutating func commitBatch(path: String, offset: Int) throws(WALError) {
        for record in pending {
            switch record.type {
            case .hardState:
                let payload = record.payload
                guard payload.count == 24 else {
                    throw WALError(.corruptRecord, "hard-state record of \(payload.count) bytes", path: path,
                                   offset: UInt64(offset))
                }
                hardState = HardState(
                    term: readLittleEndian(UInt64.self, payload, 0), vote: readLittleEndian(UInt64.self, payload, 8),
                    commit: readLittleEndian(UInt64.self, payload, 16))
            case .snapshotReset:
                guard record.index <= snapshotIndex else {
                    throw WALError(
                        .badSnapshot,
                        "the log was reset to a snapshot at \(record.index), newer than the newest snapshot "
                            + "(\(snapshotIndex)): that snapshot is missing",
                        path: path, offset: UInt64(offset))
                }
                entries.removeAll(keepingCapacity: true)
                logLast = record.index
                segmentMaxIndex = max(segmentMaxIndex, record.index)
                termAtSnapshotIndex = record.index == snapshotIndex ? record.term : nil
            case .entryNormal, .entryNoop, .entryConfiguration:
                let index = record.index
                segmentMaxIndex = max(segmentMaxIndex, index)
                if let last = logLast {
                    guard index <= last + 1 else {
                        throw WALError(
                            .indexGap, "entry \(index) follows \(last)", path: path, offset: UInt64(offset))
                    }
                } else if index > snapshotIndex + 1 {
                    throw WALError(
                        .missingSegment,
                        "the log starts at \(index) but the snapshot covers only through \(snapshotIndex)",
                        path: path, offset: UInt64(offset))
                }
                logLast = index
                if index <= snapshotIndex {
                    entries.removeAll(keepingCapacity: true)
                    termAtSnapshotIndex = index == snapshotIndex ? record.term : nil
                } else {
                    if let first = entries.first, index >= first.index {
                        entries.removeSubrange(Int(index - first.index)...)
                    } else if entries.first != nil {
                        entries.removeAll(keepingCapacity: true)
                    }
                    entries.append(WriteAheadLog.entry(from: record))
                }
            }
        }
        pending.removeAll(keepingCapacity: true)
        pendingStart = nil
    }

    mutating func finish() throws(WALError) -> RecoveredLog {
        let last = logLast ?? snapshotIndex
        if last < snapshotIndex {
            // The log ends before the snapshot (installed from the leader): nothing after it.
            entries.removeAll()
            needsReset = true
        } else if termAtSnapshotIndex != nil, termAtSnapshotIndex != snapshotTerm {
            // The log's entry at the snapshot index is another one: the snapshot replaced this log.
            entries.removeAll()
            needsReset = true
        }
        if let first = entries.first, first.index != snapshotIndex + 1 {
            entries.removeAll()
            needsReset = true
        }
        finalLastIndex = entries.last?.index ?? snapshotIndex
        if hardState.commit > finalLastIndex {
            throw WALError(
                .commitBeyondLog,
                "hard state commits \(hardState.commit) but the log and snapshot end at \(finalLastIndex)")
        }
        return RecoveredLog(
            hardState: hardState, entries: entries, truncation: truncation, segmentCount: 0,
            recordCount: recordCount, bytesRead: 0)
    }

    /// Whether every byte from `offset` on is zero (the preallocated tail), eight bytes at a time:
    /// a 64 MiB segment is checked on every start.
    static func isZero(_ bytes: [UInt8], from offset: Int) -> Bool {
        bytes.withUnsafeBytes { raw in
            var position = offset
            let count = raw.count
            while position < count, position % 8 != 0 {
                if raw[position] != 0 { return false }
                position += 1
            }
            while position + 8 <= count {
                if raw.loadUnaligned(fromByteOffset: position, as: UInt64.self) != 0 { return false }
                position += 8
            }
            while position < count {
                if raw[position] != 0 { return false }
                position += 1
            }
            return true
        }
    }
}

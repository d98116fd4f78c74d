public import Raft

/// What recovery found when a replica's storage was opened.
public struct RecoveryReport: Sendable, CustomStringConvertible {
    public var snapshotIndex: UInt64?
    public var entryCount: Int
    public var firstIndex: UInt64
    public var lastIndex: UInt64
    public var hardState: HardState
    /// Set when a torn or incomplete batch at the end of the log was cut off (never acknowledged).
    public var truncation: TailTruncation?
    public var segmentCount: Int
    public var recordCount: Int
    public var bytesRead: UInt64

    public var description: String {
        var text = "recovered \(entryCount) entries \(firstIndex)...\(lastIndex) from \(segmentCount) segments"
        if let snapshotIndex { text += ", snapshot at \(snapshotIndex)" }
        text += ", term \(hardState.term) commit \(hardState.commit)"
        if let truncation { text += "; \(truncation)" }
        return text
    }
}

/// The durable state of one replica of one Raft group: its write-ahead log (`directory/wal`) and its
/// snapshots (`directory/snapshots`). Persists `Ready`s in the order the Raft contract requires.
///
/// Use: `open` → restore a `RaftNode` from the returned state; for every `Ready`: `write(ready)`,
/// then one `sync` (or `WriteAheadLog.syncAll` across the node's groups), then send its messages,
/// apply its committed entries, `advance`. `saveSnapshot` after the application took one.
///
/// - Important: not thread-safe; one storage thread drives it. After any `WALError` from `write`,
///   `sync` or `saveSnapshot`, stop the replica and recover it by opening the storage again.
public final class ReplicaStorage {
    public let fileSystem: any FileSystem
    public let directory: String
    public let log: WriteAheadLog
    public let snapshots: SnapshotStore
    public private(set) var snapshotMetadata: SnapshotMetadata?

    private init(
        fileSystem: any FileSystem, directory: String, log: WriteAheadLog, snapshots: SnapshotStore,
        snapshotMetadata: SnapshotMetadata?
    ) {
        self.fileSystem = fileSystem
        self.directory = directory
        self.log = log
        self.snapshots = snapshots
        self.snapshotMetadata = snapshotMetadata
    }

    /// Opens (creating if needed) and recovers the storage in `directory`.
    ///
    /// - Returns: the storage, the state to restore a `RaftNode` from (`appliedIndex` is left nil:
    ///   the application knows what it made durable), and a report of what recovery did.
    /// - Throws: `WALError` when the data cannot be trusted (corruption before the tail, missing
    ///   segment, unreadable snapshot, wrong group or version...): the replica must not start.
    public static func open(
        fileSystem: any FileSystem, directory: String, options: WriteAheadLogOptions
    ) throws(WALError) -> (storage: ReplicaStorage, state: RaftPersistentState, report: RecoveryReport) {
        let walDirectory = directory + "/wal"
        let snapshotDirectory = directory + "/snapshots"
        do {
            try fileSystem.createDirectory(directory)
            try fileSystem.createDirectory(walDirectory)
            try fileSystem.createDirectory(snapshotDirectory)
        } catch {
            throw WALError(error)
        }
        let snapshots = SnapshotStore(fileSystem: fileSystem, directory: snapshotDirectory)
        let snapshot = try snapshots.loadLatest()
        let (log, recovered) = try WriteAheadLog.open(
            fileSystem: fileSystem, directory: walDirectory, options: options, snapshot: snapshot?.metadata)
        try snapshots.removeLeftovers()
        let storage = ReplicaStorage(
            fileSystem: fileSystem, directory: directory, log: log, snapshots: snapshots,
            snapshotMetadata: snapshot?.metadata)
        let state = RaftPersistentState(hardState: recovered.hardState, snapshot: snapshot, entries: recovered.entries)
        let snapshotIndex = snapshot?.metadata.index ?? 0
        let report = RecoveryReport(
            snapshotIndex: snapshot?.metadata.index, entryCount: recovered.entries.count,
            firstIndex: snapshotIndex + 1, lastIndex: recovered.entries.last?.index ?? snapshotIndex,
            hardState: recovered.hardState, truncation: recovered.truncation, segmentCount: recovered.segmentCount,
            recordCount: recovered.recordCount, bytesRead: recovered.bytesRead)
        return (storage, state, report)
    }

    /// Writes what `ready` asks to persist: an installed snapshot (made durable at once, then the log
    /// reset to it), then its entries and hard state as one batch. The batch is durable after `sync`.
    public func write(_ ready: Ready) throws(WALError) {
        if let snapshot = ready.snapshot {
            try installSnapshot(snapshot)
        }
        if !ready.entries.isEmpty || ready.hardState != nil {
            try log.append(entries: ready.entries, hardState: ready.hardState)
        }
    }

    /// Makes everything written durable (one `fdatasync`).
    public func sync() throws(WALError) { try log.sync() }

    /// Writes and syncs `ready` in one call.
    public func persist(_ ready: Ready) throws(WALError) {
        try write(ready)
        try sync()
    }

    /// Stores a snapshot received from the leader: durable first, then the log is reset to it, and
    /// segments it covers are deleted.
    private func installSnapshot(_ snapshot: Snapshot) throws(WALError) {
        try snapshots.save(snapshot)
        snapshotMetadata = snapshot.metadata
        try log.writeReset(term: snapshot.metadata.term, index: snapshot.metadata.index)
        try log.sync()
        try log.compact(through: snapshot.metadata.index)
    }

    /// Stores a snapshot the application took of its own state (at an applied, hence committed,
    /// index) and deletes the log segments it covers, except what registered readers still need.
    public func saveSnapshot(_ snapshot: Snapshot) throws(WALError) {
        if let current = snapshotMetadata, current.index >= snapshot.metadata.index { return }
        try snapshots.save(snapshot)
        snapshotMetadata = snapshot.metadata
        try log.compact(through: snapshot.metadata.index)
    }
}

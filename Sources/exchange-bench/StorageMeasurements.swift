@preconcurrency import Glibc
import Raft
import Storage

/// The disk measurements of `exchange-bench storage`: appends through the real `WriteAheadLog` on
/// `POSIXFileSystem`, and the bare-`fdatasync` baseline they are compared with. Every function works
/// in a directory of its own under the caller's scratch directory and removes it before returning.
enum StorageMeasurements {
    /// Raft group id written into the segments of every benchmark log.
    static let groupID: UInt64 = 1
    /// Payload of every appended entry (`Entry.data`): 128 bytes.
    static let payloadBytes = 128
    /// Batches appended (and synced) before timing starts, so that the first timed sync does not pay
    /// for cold paths.
    static let warmUpBatches = 8

    /// One timed run of appends of `batch` entries followed by one `sync` each.
    struct AppendRun {
        var batch: Int
        var records: Int
        var syncs: Int
        var seconds: Double
        /// Bytes the log wrote (records, their headers, and one hard-state record per batch).
        var bytes: UInt64

        var recordsPerSecond: Double { Double(records) / seconds }
        /// Megabytes (10^6 bytes) of log written per second.
        var megabytesPerSecond: Double { Double(bytes) / seconds / 1e6 }
    }

    /// `payloadBytes` deterministic pseudo-random bytes (a 64-bit LCG seeded with `seed`).
    static func payload(seed: UInt64) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: payloadBytes)
        var state = seed
        for position in bytes.indices {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            bytes[position] = UInt8(truncatingIfNeeded: state >> 56)
        }
        return bytes
    }

    /// Opens a fresh `WriteAheadLog` in `directory` (created here; the first segment, preallocated
    /// and synced, is created by `open`, outside any timing).
    static func openFreshLog(_ directory: String, fileSystem: POSIXFileSystem) throws -> WriteAheadLog {
        try fileSystem.createDirectory(directory)
        let (log, recovered) = try WriteAheadLog.open(
            fileSystem: fileSystem, directory: directory, options: WriteAheadLogOptions(groupID: groupID),
            snapshot: nil)
        precondition(recovered.entries.isEmpty, "a fresh log directory held entries")
        return log
    }

    /// Appends `records` entries of `payloadBytes` bytes in batches of `batch`, one `sync` per batch,
    /// through a fresh log in `directory`; the loop is timed as a whole.
    static func appendRun(directory: String, batch: Int, records: Int) throws -> AppendRun {
        let fileSystem = POSIXFileSystem()
        defer { ScratchDirectory.removeTree(directory) }
        let log = try openFreshLog(directory, fileSystem: fileSystem)
        let payload = Self.payload(seed: UInt64(batch))
        var entries: [Entry] = []
        entries.reserveCapacity(batch)
        var index: UInt64 = 0

        func nextBatch() {
            entries.removeAll(keepingCapacity: true)
            for _ in 0..<batch {
                index += 1
                entries.append(Entry(term: 1, index: index, kind: .normal, data: payload))
            }
        }

        for _ in 0..<warmUpBatches {
            nextBatch()
            try log.append(entries: entries, hardState: HardState(term: 1, vote: 1, commit: index))
            try log.sync()
        }
        let batches = (records + batch - 1) / batch
        let bytesBefore = log.bytesWritten
        let syncsBefore = log.syncCount
        let start = MonotonicClock.nanoseconds()
        for _ in 0..<batches {
            try Interruption.check()
            nextBatch()
            try log.append(entries: entries, hardState: HardState(term: 1, vote: 1, commit: index))
            try log.sync()
        }
        let end = MonotonicClock.nanoseconds()
        return AppendRun(
            batch: batch, records: batches * batch, syncs: log.syncCount - syncsBefore,
            seconds: Double(end - start) / 1e9, bytes: log.bytesWritten - bytesBefore)
    }

    /// Latency samples of the three single-sync operations, measured in turns so that all three see
    /// the same disk conditions (the disk is shared with other processes and its latency drifts).
    struct SingleSyncSamples {
        /// The physical baseline of WORKLOADS.md: `pwrite` of 4 KiB at the end of a scratch file, then
        /// `fdatasync`. Appending changes the file size, so each `fdatasync` also commits metadata.
        var fsyncAppend: [UInt64] = []
        /// `pwrite` of 4 KiB into a preallocated (written and synced) scratch file, then `fdatasync`:
        /// data only, like the WAL's appends into its preallocated segments.
        var fsyncOverwrite: [UInt64] = []
        /// One batch of one entry through `WriteAheadLog`: `append`, then `sync`.
        var walBatchOfOne: [UInt64] = []
        /// Rounds over several logs (the Raft groups of one node): each appends one entry (a batch of
        /// one), then one `WriteAheadLog.syncAll`. Taken every `groupRoundEvery`-th round only.
        var groupRounds: [UInt64] = []
    }

    /// A multi-group round is timed in one round of `singleSyncSamples` out of this many.
    static let groupRoundEvery = 4

    /// `samples` rounds; each round times one of each operation of `SingleSyncSamples` (a multi-group
    /// round of `groups` logs only every `groupRoundEvery`-th round), in an order that rotates from
    /// round to round. Scratch files and the logs live in `directory`.
    static func singleSyncSamples(directory: String, samples: Int, groups: Int) throws -> SingleSyncSamples {
        let fileSystem = POSIXFileSystem()
        try fileSystem.createDirectory(directory)
        defer { ScratchDirectory.removeTree(directory) }
        let log = try openFreshLog(directory + "/wal", fileSystem: fileSystem)
        var groupLogs: [WriteAheadLog] = []
        for group in 0..<groups {
            groupLogs.append(try openFreshLog(directory + "/group-\(group)", fileSystem: fileSystem))
        }
        let rounds = warmUpBatches + samples
        let block = [UInt8](repeating: 0x5A, count: 4096)

        func openScratch(_ name: String) throws -> Int32 {
            let path = directory + "/" + name
            let descriptor = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else {
                throw ExitCodeError(message: "open \(path): \(String(cString: strerror(errno)))")
            }
            return descriptor
        }
        func writeAndSync(_ descriptor: Int32, at offset: off_t) throws {
            let written = block.withUnsafeBytes { pwrite(descriptor, $0.baseAddress!, $0.count, offset) }
            guard written == block.count else {
                throw ExitCodeError(message: "pwrite: \(String(cString: strerror(errno)))")
            }
            guard fdatasync(descriptor) == 0 else {
                throw ExitCodeError(message: "fdatasync: \(String(cString: strerror(errno)))")
            }
        }

        let appendFile = try openScratch("fsync-append")
        defer { close(appendFile) }
        let overwriteFile = try openScratch("fsync-overwrite")
        defer { close(overwriteFile) }
        // Preallocate the overwrite file as the WAL does its segments: zeros written, then fsync.
        let zeros = [UInt8](repeating: 0, count: rounds * block.count)
        let preallocated = zeros.withUnsafeBytes { pwrite(overwriteFile, $0.baseAddress!, $0.count, 0) }
        guard preallocated == zeros.count, fsync(overwriteFile) == 0 else {
            throw ExitCodeError(message: "preallocating the overwrite file failed: \(String(cString: strerror(errno)))")
        }

        let payload = Self.payload(seed: 1)
        var entries = [Entry(term: 1, index: 0, kind: .normal, data: payload)]
        var result = SingleSyncSamples()
        result.fsyncAppend.reserveCapacity(samples)
        result.fsyncOverwrite.reserveCapacity(samples)
        result.walBatchOfOne.reserveCapacity(samples)
        var groupIndex: UInt64 = 0
        for round in 0..<rounds {
            try Interruption.check()
            let offset = off_t(round * block.count)
            let hardState = HardState(term: 1, vote: 1, commit: UInt64(round + 1))
            entries[0].index = UInt64(round + 1)
            let operations = round % groupRoundEvery == 0 && !groupLogs.isEmpty ? 4 : 3
            for turn in 0..<operations {
                let operation = (round / groupRoundEvery + turn) % operations
                let before = MonotonicClock.nanoseconds()
                switch operation {
                case 0: try writeAndSync(appendFile, at: offset)
                case 1: try writeAndSync(overwriteFile, at: offset)
                case 2:
                    try log.append(entries: entries, hardState: hardState)
                    try log.sync()
                default:
                    groupIndex += 1
                    var groupEntries = entries
                    groupEntries[0].index = groupIndex
                    for groupLog in groupLogs {
                        try groupLog.append(
                            entries: groupEntries, hardState: HardState(term: 1, vote: 1, commit: groupIndex))
                    }
                    try WriteAheadLog.syncAll(groupLogs)
                }
                let elapsed = MonotonicClock.nanoseconds() - before
                guard round >= warmUpBatches else { continue }
                switch operation {
                case 0: result.fsyncAppend.append(elapsed)
                case 1: result.fsyncOverwrite.append(elapsed)
                case 2: result.walBatchOfOne.append(elapsed)
                default: result.groupRounds.append(elapsed)
                }
            }
        }
        return result
    }
}

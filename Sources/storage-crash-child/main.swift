// The child process of the SIGKILL crash test (Tests/StorageTests/ProcessCrashTests.swift).
//
//     storage-crash-child <directory> <seed> [--segment-bytes N] [--large-batches]
//
// Opens (recovering) a `ReplicaStorage` in <directory>, prints what it recovered, then appends and
// syncs batches forever (1...50 entries; 500...2000 with --large-batches). A line goes to stdout
// only after what it reports is durable:
//
//     recovered <lastIndex> <commit> <snapshotIndex>   once, after recovery
//     writing <first> <last>                           before a batch is written (not durable yet: lets
//                                                      the parent aim a kill at a large write)
//     synced <index>                                   after the batch ending at <index> was synced
//     snapshot <index>                                 after a snapshot at <index> was saved (and the
//                                                      log compacted)
//
// Every entry's term and payload are functions of its index only (`CrashChildContent`), so the
// parent can check each recovered entry is intact without being told what was written. The seed
// only chooses batch sizes and when to snapshot. Every synced index is committed (the hard state
// commits the last index of each batch): the parent checks every reported index survives.
//
// Any error goes to stderr and the process exits with status 1. The parent kills it with SIGKILL.

import Glibc
import Raft
import Storage

/// Deterministic content of the crash test's log, as a function of the index.
///
/// - Important: `ProcessCrashTests` holds a copy of these functions (a test cannot import an
///   executable module portably); the test fails loudly if the two ever differ.
enum CrashChildContent {
    /// SplitMix64's finaliser: a well-mixed hash of `value`.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Nondecreasing in `index`, so the log is a valid Raft log.
    static func term(ofIndex index: UInt64) -> UInt64 { 1 + index / 1000 }

    /// 0...300 bytes derived from `index`.
    static func payload(ofIndex index: UInt64) -> [UInt8] {
        let count = Int(mix(index ^ 0x5041_594C_4F41_4400) % 301)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        var state = index
        while bytes.count < count {
            state = mix(state)
            withUnsafeBytes(of: state.littleEndian) { word in
                bytes.append(contentsOf: word.prefix(count - bytes.count))
            }
        }
        return bytes
    }

    static func entry(atIndex index: UInt64) -> Entry {
        Entry(term: term(ofIndex: index), index: index, kind: .normal, data: payload(ofIndex: index))
    }

    /// 0...1000 bytes of application state "at" `index`.
    static func snapshotData(atIndex index: UInt64) -> [UInt8] {
        let count = Int(mix(index ^ 0x534E_4150_0000_0000) % 1001)
        return (0..<count).map { UInt8(truncatingIfNeeded: mix(index &+ UInt64($0) << 40)) }
    }

    static func snapshot(atIndex index: UInt64) -> Snapshot {
        Snapshot(
            metadata: SnapshotMetadata(index: index, term: term(ofIndex: index), membership: Membership(voters: [1])),
            data: snapshotData(atIndex: index))
    }

    static func hardState(commit: UInt64) -> HardState {
        HardState(term: term(ofIndex: commit), vote: 1, commit: commit)
    }
}

/// The child's own choices (batch sizes, snapshots): SplitMix64 from the seed on the command line.
struct ChildGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return CrashChildContent.mix(state &- 0x9E37_79B9_7F4A_7C15)
    }
}

enum CrashChild {
    /// Entries per ordinary batch.
    static let batchEntriesMax = 50
    /// Entries per batch with `--large-batches` (about 90...360 KiB in one `pwrite`): SIGKILL can
    /// only cut a `pwrite` short between pages, and a small one is over in microseconds, so large
    /// writes are what give the parent torn batches to recover from. They also outgrow a segment,
    /// which lets the parent see the write in progress (the file grows).
    static let largeBatchEntries: ClosedRange<UInt64> = 500...2000
    /// A snapshot is taken after a batch with probability 1 / `snapshotEveryBatches`.
    static let snapshotEveryBatches: UInt64 = 8
    /// How far behind the last synced index a snapshot may be taken (the application lags).
    static let snapshotLagEntriesMax: UInt64 = 200

    /// Writes all of `text` to `descriptor` with write(2): no buffering, so a line is out of the
    /// process as soon as this returns. Lines are shorter than PIPE_BUF, hence atomic on a pipe.
    static func emit(_ text: String, to descriptor: Int32 = 1) {
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { buffer in
                Glibc.write(descriptor, buffer.baseAddress! + written, buffer.count - written)
            }
            if result < 0 {
                if errno == EINTR { continue }
                if descriptor != 2 { fail("write to fd \(descriptor) failed: errno \(errno)") }
                exit(1)
            }
            written += result
        }
    }

    static func fail(_ message: String) -> Never {
        emit("storage-crash-child: \(message)\n", to: 2)
        exit(1)
    }

    static func run(_ arguments: [String]) -> Never {
        var positional: [String] = []
        var segmentBytes: UInt64 = 64 << 10
        var largeBatches = false
        var position = 1
        while position < arguments.count {
            if arguments[position] == "--large-batches" {
                largeBatches = true
                position += 1
            } else if arguments[position] == "--segment-bytes" {
                guard position + 1 < arguments.count, let value = UInt64(arguments[position + 1]) else {
                    fail("--segment-bytes needs a number")
                }
                segmentBytes = value
                position += 2
            } else {
                positional.append(arguments[position])
                position += 1
            }
        }
        guard positional.count == 2, let seed = UInt64(positional[1]) else {
            fail("usage: storage-crash-child <directory> <seed> [--segment-bytes N] [--large-batches]")
        }
        do {
            try loop(directory: positional[0], seed: seed, segmentBytes: segmentBytes, largeBatches: largeBatches)
        } catch {
            fail("\(error)")
        }
    }

    static func loop(directory: String, seed: UInt64, segmentBytes: UInt64, largeBatches: Bool) throws(WALError)
        -> Never
    {
        var random = ChildGenerator(state: seed)
        let (storage, state, report) = try ReplicaStorage.open(
            fileSystem: POSIXFileSystem(), directory: directory,
            options: WriteAheadLogOptions(groupID: 7, segmentBytes: segmentBytes))
        var lastIndex = report.lastIndex
        var snapshotIndex = report.snapshotIndex ?? 0
        emit("recovered \(lastIndex) \(state.hardState.commit) \(snapshotIndex)\n")

        // Sometimes the application snapshots at once after restarting, before writing anything
        // (a restart that applied the committed log and checkpoints it).
        let commit = state.hardState.commit
        if commit > snapshotIndex, random.next() % 4 == 0 {
            try storage.saveSnapshot(CrashChildContent.snapshot(atIndex: commit))
            snapshotIndex = commit
            emit("snapshot \(commit)\n")
        }

        while true {
            let count = UInt64.random(
                in: largeBatches ? largeBatchEntries : 1...UInt64(batchEntriesMax), using: &random)
            let entries = (lastIndex + 1...lastIndex + count).map(CrashChildContent.entry(atIndex:))
            emit("writing \(lastIndex + 1) \(lastIndex + count)\n")
            try storage.log.append(entries: entries, hardState: CrashChildContent.hardState(commit: lastIndex + count))
            try storage.sync()
            lastIndex += count
            emit("synced \(lastIndex)\n")

            if random.next() % snapshotEveryBatches == 0 {
                let lag = UInt64.random(in: 0...snapshotLagEntriesMax, using: &random)
                let index = max(snapshotIndex + 1, lastIndex > lag ? lastIndex - lag : 1)
                try storage.saveSnapshot(CrashChildContent.snapshot(atIndex: index))
                snapshotIndex = index
                emit("snapshot \(index)\n")
            }
        }
    }
}

CrashChild.run(CommandLine.arguments)

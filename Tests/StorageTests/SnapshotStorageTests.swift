import Raft
import Testing

@testable import Storage

/// Snapshots, compaction, registered readers and installed snapshots, through the real recovery.
@Suite struct SnapshotStorageTests {
    typealias W = WriteAheadLogTests
    static let snapshotDirectory = "/replica/snapshots"

    static func snapshot(_ index: UInt64, term: UInt64 = 1, size: Int = 300) -> Snapshot {
        Snapshot(
            metadata: SnapshotMetadata(index: index, term: term, membership: Membership(voters: [1, 2, 3], learners: [4])),
            data: (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(index)) })
    }

    /// A log of `batches` batches of five 100-byte entries, committed, over many 4 KiB segments.
    static func filledLog(_ fileSystem: SimulatedFileSystem, batches: Int = 30) throws -> ReplicaStorage {
        let (storage, _, _) = try W.open(fileSystem)
        for batch in 0..<batches {
            let first = UInt64(batch * 5 + 1)
            try storage.persist(W.ready(W.entries(first...(first + 4), size: 100), commit: first + 4))
        }
        return storage
    }

    @Test func snapshotRoundTripsAndRejectsEveryDamage() throws {
        let snapshot = Self.snapshot(42, term: 3)
        let bytes = SnapshotStore.encode(snapshot)
        #expect(try SnapshotStore.decode(bytes, path: "s") == snapshot)
        for position in stride(from: 0, to: bytes.count, by: 7) {
            var damaged = bytes
            damaged[position] ^= 0x10
            #expect(throws: WALError.self, "flip at \(position)") { _ = try SnapshotStore.decode(damaged, path: "s") }
        }
        for length in [0, 10, SnapshotStore.headerByteCount, bytes.count - 1] {
            #expect(throws: WALError.self) { _ = try SnapshotStore.decode(Array(bytes.prefix(length)), path: "s") }
        }
    }

    @Test func localSnapshotCompactsCoveredSegmentsAndRecoveryUsesIt() throws {
        let fileSystem = SimulatedFileSystem()
        do {
            let storage = try Self.filledLog(fileSystem)
            let before = storage.log.segmentCount
            try storage.saveSnapshot(Self.snapshot(100))
            #expect(storage.log.segmentCount < before)
            #expect(try fileSystem.listDirectory(Self.snapshotDirectory) == [SnapshotStore.fileName(index: 100, term: 1)])
            try storage.saveSnapshot(Self.snapshot(140))
            // The older snapshot goes once the newer one is durable.
            #expect(try fileSystem.listDirectory(Self.snapshotDirectory) == [SnapshotStore.fileName(index: 140, term: 1)])
        }
        let (_, state, report) = try W.open(fileSystem)
        #expect(state.snapshot == Self.snapshot(140))
        #expect(state.entries == W.entries(141...150, size: 100))
        #expect(report.snapshotIndex == 140)
        #expect(state.hardState.commit == 150)
    }

    @Test func registeredReaderHoldsBackCompaction() throws {
        let fileSystem = SimulatedFileSystem()
        let storage = try Self.filledLog(fileSystem)
        storage.log.registerReader("publisher", consumedThrough: 60)
        let before = storage.log.segmentCount
        try storage.saveSnapshot(Self.snapshot(140))
        // Only segments wholly at or before index 60 may go.
        #expect(try storage.log.readEntries(from: 61, through: 150) == W.entries(61...150, size: 100))
        let kept = storage.log.segmentCount
        #expect(kept < before)
        storage.log.advanceReader("publisher", consumedThrough: 150)
        try storage.log.compact(through: 140)
        #expect(storage.log.segmentCount < kept)
        #expect(throws: WALError.self) { _ = try storage.log.readEntries(from: 61, through: 70) }
        let (_, state, _) = try W.open(fileSystem)
        #expect(state.entries == W.entries(141...150, size: 100))
    }

    @Test func installedSnapshotReplacesTheLog() throws {
        let fileSystem = SimulatedFileSystem()
        do {
            let (storage, _, _) = try W.open(fileSystem)
            try storage.persist(W.ready(W.entries(1...10), commit: 5))
            // The leader's snapshot at 20 (term 2) replaces everything, including the uncommitted 6...10.
            try storage.persist(
                Ready(hardState: HardState(term: 2, vote: 0, commit: 20), snapshot: Self.snapshot(20, term: 2)))
            try storage.persist(W.ready(W.entries(21...22, term: 2), commit: 22, term: 2))
        }
        let (_, state, _) = try W.open(fileSystem)
        #expect(state.snapshot?.metadata.index == 20)
        #expect(state.entries == W.entries(21...22, term: 2))
        #expect(state.hardState == HardState(term: 2, vote: 1, commit: 22))
    }

    @Test func crashBetweenSnapshotAndLogResetIsRepaired() throws {
        let fileSystem = SimulatedFileSystem()
        do {
            let (storage, _, _) = try W.open(fileSystem)
            try storage.persist(W.ready(W.entries(1...10), commit: 5))
        }
        // The snapshot file is durable but the reset record never reached the log.
        let store = SnapshotStore(fileSystem: fileSystem, directory: Self.snapshotDirectory)
        try store.save(Self.snapshot(8, term: 2))
        do {
            let (storage, state, _) = try W.open(fileSystem)
            // Entry 8 has term 1 here, the snapshot says 2: the log after it is not ours to keep.
            #expect(state.entries.isEmpty)
            #expect(state.snapshot?.metadata.index == 8)
            try storage.persist(W.ready(W.entries(9...9, term: 2), commit: 9, term: 2))
        }
        let (_, state, _) = try W.open(fileSystem)
        #expect(state.entries == W.entries(9...9, term: 2))
    }

    @Test func snapshotMatchingTheLogKeepsTheEntriesAfterIt() throws {
        let fileSystem = SimulatedFileSystem()
        do {
            let (storage, _, _) = try W.open(fileSystem)
            try storage.persist(W.ready(W.entries(1...10), commit: 10))
        }
        let store = SnapshotStore(fileSystem: fileSystem, directory: Self.snapshotDirectory)
        try store.save(Self.snapshot(6))
        let (_, state, _) = try W.open(fileSystem)
        #expect(state.entries == W.entries(7...10))
    }

    @Test func unreadableSnapshotRefusesToStartAndChangesNothing() throws {
        let fileSystem = SimulatedFileSystem()
        do {
            let storage = try Self.filledLog(fileSystem)
            try storage.saveSnapshot(Self.snapshot(100))
        }
        let path = Self.snapshotDirectory + "/" + SnapshotStore.fileName(index: 100, term: 1)
        fileSystem.flipBit(path: path, byteOffset: SnapshotStore.headerByteCount + 100, bit: 2)
        let before = try W.image(fileSystem)
        let error = W.expectError(.badSnapshot) { _ = try W.open(fileSystem) }
        #expect(error?.path == path)
        #expect(try W.image(fileSystem) == before)
    }

    @Test func snapshotNewerThanTheLogResetIsAMissingSnapshot() throws {
        let fileSystem = SimulatedFileSystem()
        do {
            let (storage, _, _) = try W.open(fileSystem)
            try storage.persist(W.ready(W.entries(1...3), commit: 3))
            try storage.persist(Ready(hardState: HardState(term: 2, vote: 0, commit: 20), snapshot: Self.snapshot(20, term: 2)))
        }
        // The snapshot file the reset record refers to disappears.
        try fileSystem.remove(Self.snapshotDirectory + "/" + SnapshotStore.fileName(index: 20, term: 2))
        try fileSystem.syncDirectory(Self.snapshotDirectory)
        _ = W.expectError(.badSnapshot) { _ = try W.open(fileSystem) }
    }

    @Test func leftoverTemporaryFilesAreRemoved() throws {
        let fileSystem = SimulatedFileSystem()
        _ = try W.open(fileSystem)
        let leftover = try fileSystem.open(Self.snapshotDirectory + "/snapshot-x.snap.tmp", mode: .createNew)
        try fileSystem.write(leftover, [1, 2, 3], at: 0)
        fileSystem.close(leftover)
        try fileSystem.syncDirectory(Self.snapshotDirectory)
        _ = try W.open(fileSystem)
        #expect(try fileSystem.listDirectory(Self.snapshotDirectory).isEmpty)
    }
}

import Glibc
import Raft
import Testing

@testable import Storage

/// Recovery transcripts: each writes a log, damages or crashes it in one precise way, and checks
/// what `ReplicaStorage.open` (the real recovery) returns or refuses.
@Suite struct WriteAheadLogTests {
    static let directory = "/replica"
    static let walDirectory = "/replica/wal"
    static let options = WriteAheadLogOptions(groupID: 7, segmentBytes: 4096)

    static func entry(_ index: UInt64, term: UInt64 = 1, size: Int = 40) -> Entry {
        Entry(
            term: term, index: index, kind: .normal,
            data: (0..<size).map { UInt8(truncatingIfNeeded: Int(index) &* 7 &+ Int(term) &* 13 &+ $0) })
    }

    static func entries(_ range: ClosedRange<UInt64>, term: UInt64 = 1, size: Int = 40) -> [Entry] {
        range.map { entry($0, term: term, size: size) }
    }

    static func open(_ fileSystem: SimulatedFileSystem, options: WriteAheadLogOptions = options) throws
        -> (storage: ReplicaStorage, state: RaftPersistentState, report: RecoveryReport)
    {
        try ReplicaStorage.open(fileSystem: fileSystem, directory: directory, options: options)
    }

    static func ready(_ entries: [Entry], commit: UInt64, term: UInt64 = 1) -> Ready {
        Ready(hardState: HardState(term: term, vote: 1, commit: commit), entries: entries)
    }

    static func expectError(_ code: WALError.Code, _ body: () throws -> Void) -> WALError? {
        do {
            try body()
            Issue.record("expected WALError(\(code)), got success")
            return nil
        } catch let error as WALError {
            #expect(error.code == code, "\(error)")
            return error
        } catch {
            Issue.record("expected WALError(\(code)), got \(error)")
            return nil
        }
    }

    /// Every file's bytes, to prove a refused recovery changed nothing.
    static func image(_ fileSystem: SimulatedFileSystem) throws -> [String: [UInt8]] {
        var files: [String: [UInt8]] = [:]
        for sub in [walDirectory, directory + "/snapshots"] {
            for name in try fileSystem.listDirectory(sub) {
                let handle = try fileSystem.open(sub + "/" + name, mode: .existing)
                files[sub + "/" + name] = try fileSystem.read(handle, at: 0, count: Int(try fileSystem.size(handle)))
                fileSystem.close(handle)
            }
        }
        return files
    }

    @Test func freshLogIsEmptyAndBatchesSurviveAReopen() throws {
        let fileSystem = SimulatedFileSystem()
        do {
            let (storage, state, report) = try Self.open(fileSystem)
            #expect(state.entries.isEmpty)
            #expect(state.hardState == HardState())
            #expect(report.truncation == nil)
            #expect(try fileSystem.listDirectory(Self.walDirectory) == ["segment-0000000000000001.wal"])
            try storage.persist(Self.ready(Self.entries(1...3), commit: 2))
            try storage.persist(Self.ready(Self.entries(4...5), commit: 5))
        }
        let (_, state, report) = try Self.open(fileSystem)
        #expect(state.entries == Self.entries(1...5))
        #expect(state.hardState == HardState(term: 1, vote: 1, commit: 5))
        #expect(report.truncation == nil)
        #expect(report.recordCount == 7)
    }

    @Test func laterRecordsReplaceTheUncommittedTail() throws {
        let fileSystem = SimulatedFileSystem()
        do {
            let (storage, _, _) = try Self.open(fileSystem)
            try storage.persist(Self.ready(Self.entries(1...5), commit: 3))
            try storage.persist(Self.ready(Self.entries(4...6, term: 2), commit: 3, term: 2))
        }
        let (_, state, _) = try Self.open(fileSystem)
        #expect(state.entries == Self.entries(1...3) + Self.entries(4...6, term: 2))
        #expect(state.hardState.term == 2)
    }

    @Test func segmentsRotateAndRecoveryReadsThemAll() throws {
        let fileSystem = SimulatedFileSystem()
        var written: [Entry] = []
        do {
            let (storage, _, _) = try Self.open(fileSystem)
            for batch in 0..<40 {
                let first = UInt64(batch * 5 + 1)
                let batchEntries = Self.entries(first...(first + 4), size: 100)
                written += batchEntries
                try storage.persist(Self.ready(batchEntries, commit: first + 4))
            }
            #expect(storage.log.segmentCount > 5)
        }
        let (_, state, report) = try Self.open(fileSystem)
        #expect(state.entries == written)
        #expect(report.segmentCount > 5)
    }

    @Test func unsyncedBatchIsLostOrKeptWholeOnCrash() throws {
        var outcomes: Set<Int> = []
        for seed in 0..<64 as Range<UInt64> {
            var random = SeededGenerator(seed: seed)
            let fileSystem = SimulatedFileSystem()
            do {
                let (storage, _, _) = try Self.open(fileSystem)
                try storage.persist(Self.ready(Self.entries(1...4), commit: 4))
                try storage.write(Self.ready(Self.entries(5...9), commit: 9))
            }
            fileSystem.crash(random: &random)
            let (_, state, report) = try Self.open(fileSystem)
            // Synced entries always; the unsynced batch entirely or not at all (a torn one is cut).
            #expect(state.entries == Self.entries(1...4) || state.entries == Self.entries(1...9), "seed \(seed)")
            #expect(state.hardState.commit == UInt64(state.entries.count), "seed \(seed)")
            outcomes.insert(state.entries.count + (report.truncation == nil ? 0 : 100))
        }
        // Kept whole (9), torn and cut (104), or (rarely: a tear at byte 0) lost cleanly (4).
        #expect(outcomes.isSubset(of: [4, 9, 104]) && outcomes.contains(9) && outcomes.contains(104), "\(outcomes)")
    }

    @Test func tornTailIsTruncatedReportedAndZeroed() throws {
        let fileSystem = SimulatedFileSystem()
        let segment = Self.walDirectory + "/segment-0000000000000001.wal"
        var tailOffset = 0
        do {
            let (storage, _, _) = try Self.open(fileSystem)
            try storage.persist(Self.ready(Self.entries(1...2), commit: 2))
            tailOffset = SegmentHeader.byteCount + 2 * (LogRecord.headerByteCount + 40) + LogRecord.headerByteCount + 24
            try storage.persist(Self.ready(Self.entries(3...3), commit: 3))
        }
        // Damage the last record (the second batch's hard state): a tear at the very tail.
        fileSystem.flipBit(path: segment, byteOffset: tailOffset + LogRecord.headerByteCount + 44, bit: 3)
        do {
            let (storage, state, report) = try Self.open(fileSystem)
            #expect(state.entries == Self.entries(1...2))
            let truncation = try #require(report.truncation)
            #expect(truncation.path == segment)
            #expect(truncation.offset == UInt64(tailOffset))
            #expect(truncation.droppedEntries == 1)
            // Appending after the cut and reopening works: the damaged bytes were zeroed.
            try storage.persist(Self.ready(Self.entries(3...3, term: 2), commit: 3, term: 2))
        }
        let (_, state, report) = try Self.open(fileSystem)
        #expect(state.entries == Self.entries(1...2) + Self.entries(3...3, term: 2))
        #expect(report.truncation == nil)
    }

    @Test func incompleteBatchWithoutHardStateIsDropped() throws {
        let fileSystem = SimulatedFileSystem()
        let segment = Self.walDirectory + "/segment-0000000000000001.wal"
        var end = 0
        do {
            let (storage, _, _) = try Self.open(fileSystem)
            try storage.persist(Self.ready(Self.entries(1...2), commit: 2))
            end = SegmentHeader.byteCount + 2 * (LogRecord.headerByteCount + 40) + LogRecord.headerByteCount + 24
        }
        // Two complete entry records of a batch whose hard-state record never made it to disk.
        var bytes: [UInt8] = []
        for entry in Self.entries(3...4) {
            LogRecord(type: .entryNormal, term: entry.term, index: entry.index, payload: entry.data).encode(into: &bytes)
        }
        let handle = try fileSystem.open(segment, mode: .existing)
        try fileSystem.write(handle, bytes, at: UInt64(end))
        try fileSystem.syncData(handle)
        fileSystem.close(handle)
        let (_, state, report) = try Self.open(fileSystem)
        #expect(state.entries == Self.entries(1...2))
        #expect(report.truncation?.droppedEntries == 2)
        #expect(report.truncation?.offset == UInt64(end))
        #expect(report.truncation?.reason.contains("incomplete batch") == true)
    }

    @Test func corruptionBeforeTheTailRefusesToStartAndChangesNothing() throws {
        let fileSystem = SimulatedFileSystem()
        let segment = Self.walDirectory + "/segment-0000000000000001.wal"
        do {
            let (storage, _, _) = try Self.open(fileSystem)
            try storage.persist(Self.ready(Self.entries(1...3), commit: 3))
            try storage.persist(Self.ready(Self.entries(4...5), commit: 5))
        }
        // A bit flip inside the first record's payload: valid records follow it.
        fileSystem.flipBit(path: segment, byteOffset: SegmentHeader.byteCount + LogRecord.headerByteCount + 5, bit: 0)
        let before = try Self.image(fileSystem)
        let error = Self.expectError(.corruptRecord) { _ = try Self.open(fileSystem) }
        #expect(error?.path == segment)
        #expect(error?.offset == UInt64(SegmentHeader.byteCount))
        #expect(error?.recordError?.code == .badChecksum)
        #expect(try Self.image(fileSystem) == before)
    }

    @Test func corruptionInAnEarlierSegmentRefusesToStart() throws {
        let fileSystem = SimulatedFileSystem()
        do {
            let (storage, _, _) = try Self.open(fileSystem)
            for batch in 0..<30 {
                let first = UInt64(batch * 5 + 1)
                try storage.persist(Self.ready(Self.entries(first...(first + 4), size: 100), commit: first + 4))
            }
        }
        let names = try fileSystem.listDirectory(Self.walDirectory)
        #expect(names.count > 2)
        // The last record of a sealed segment: its tail, but not the log's tail.
        let sealed = Self.walDirectory + "/" + names[0]
        let handle = try fileSystem.open(sealed, mode: .existing)
        let bytes = try fileSystem.read(handle, at: 0, count: Int(try fileSystem.size(handle)))
        fileSystem.close(handle)
        let scan = try SegmentScanner.scan(Array(bytes[SegmentHeader.byteCount...]), path: sealed)
        let lastRecord = try #require(scan.records.last)
        fileSystem.flipBit(path: sealed, byteOffset: SegmentHeader.byteCount + lastRecord.offset + 10, bit: 1)
        let before = try Self.image(fileSystem)
        let error = Self.expectError(.tornBeforeLastSegment) { _ = try Self.open(fileSystem) }
        #expect(error?.path == sealed)
        #expect(try Self.image(fileSystem) == before)
    }

    @Test func badSegmentHeadersAreTypedErrors() throws {
        func damaged(_ mutate: (SimulatedFileSystem, String) throws -> Void) throws -> SimulatedFileSystem {
            let fileSystem = SimulatedFileSystem()
            do {
                let (storage, _, _) = try Self.open(fileSystem)
                try storage.persist(Self.ready(Self.entries(1...3), commit: 3))
            }
            try mutate(fileSystem, Self.walDirectory + "/segment-0000000000000001.wal")
            return fileSystem
        }
        func overwrite(_ fileSystem: SimulatedFileSystem, _ path: String, _ bytes: [UInt8]) throws {
            let handle = try fileSystem.open(path, mode: .existing)
            try fileSystem.write(handle, bytes, at: 0)
            try fileSystem.syncData(handle)
            fileSystem.close(handle)
        }
        let badMagic = try damaged { fileSystem, path in fileSystem.flipBit(path: path, byteOffset: 0, bit: 0) }
        let magicError = Self.expectError(.badHeader) { _ = try Self.open(badMagic) }
        #expect(magicError?.path == Self.walDirectory + "/segment-0000000000000001.wal")

        let badVersion = try damaged { fileSystem, path in
            try overwrite(
                fileSystem, path,
                SegmentHeader(version: 2, groupID: 7, sequence: 1, firstIndex: 1, preallocatedBytes: 4096).encoded())
        }
        _ = Self.expectError(.unsupportedVersion) { _ = try Self.open(badVersion) }

        let otherGroup = try damaged { _, _ in }
        _ = Self.expectError(.wrongGroup) {
            _ = try Self.open(otherGroup, options: WriteAheadLogOptions(groupID: 8, segmentBytes: 4096))
        }

        let headerChecksum = try damaged { fileSystem, path in fileSystem.flipBit(path: path, byteOffset: 20, bit: 4) }
        _ = Self.expectError(.badHeader) { _ = try Self.open(headerChecksum) }
    }

    @Test func missingSegmentsAreTypedErrors() throws {
        let fileSystem = SimulatedFileSystem()
        do {
            let (storage, _, _) = try Self.open(fileSystem)
            for batch in 0..<30 {
                let first = UInt64(batch * 5 + 1)
                try storage.persist(Self.ready(Self.entries(first...(first + 4), size: 100), commit: first + 4))
            }
        }
        let names = try fileSystem.listDirectory(Self.walDirectory)
        #expect(names.count >= 3)
        try fileSystem.remove(Self.walDirectory + "/" + names[1])
        try fileSystem.syncDirectory(Self.walDirectory)
        let gap = Self.expectError(.missingSegment) { _ = try Self.open(fileSystem) }
        #expect(gap?.path == Self.walDirectory + "/" + names[1])

        let headless = SimulatedFileSystem()
        do {
            let (storage, _, _) = try Self.open(headless)
            for batch in 0..<30 {
                let first = UInt64(batch * 5 + 1)
                try storage.persist(Self.ready(Self.entries(first...(first + 4), size: 100), commit: first + 4))
            }
        }
        try headless.remove(Self.walDirectory + "/" + names[0])
        try headless.syncDirectory(Self.walDirectory)
        let error = Self.expectError(.missingSegment) { _ = try Self.open(headless) }
        #expect(error?.message.contains("snapshot covers only through 0") == true)
    }

    @Test func hardStateBeyondTheLogIsRefused() throws {
        let fileSystem = SimulatedFileSystem()
        let segment = Self.walDirectory + "/segment-0000000000000001.wal"
        do {
            let (storage, _, _) = try Self.open(fileSystem)
            try storage.persist(Self.ready(Self.entries(1...2), commit: 2))
        }
        // A well-formed hard-state record committing index 9 of a two-entry log.
        var bytes: [UInt8] = []
        WriteAheadLog.hardStateRecord(HardState(term: 1, vote: 1, commit: 9)).encode(into: &bytes)
        let end = SegmentHeader.byteCount + 2 * (LogRecord.headerByteCount + 40) + LogRecord.headerByteCount + 24
        let handle = try fileSystem.open(segment, mode: .existing)
        try fileSystem.write(handle, bytes, at: UInt64(end))
        try fileSystem.syncData(handle)
        fileSystem.close(handle)
        _ = Self.expectError(.commitBeyondLog) { _ = try Self.open(fileSystem) }
    }

    @Test func failedSyncBreaksTheLogAndTheDataIsNotDurable() throws {
        var random = SeededGenerator(seed: 11)
        let fileSystem = SimulatedFileSystem()
        do {
            let (storage, _, _) = try Self.open(fileSystem)
            try storage.persist(Self.ready(Self.entries(1...2), commit: 2))
            try storage.write(Self.ready(Self.entries(3...4), commit: 4))
            fileSystem.failNextSync()
            let failed = Self.expectError(.storage) { try storage.sync() }
            #expect(failed?.storageError?.code == .syncFailed)
            // No pretending: neither a retry nor further writes are accepted.
            _ = Self.expectError(.failedEarlier) { try storage.sync() }
            _ = Self.expectError(.failedEarlier) { try storage.write(Self.ready(Self.entries(5...5), commit: 5)) }
        }
        fileSystem.crash(random: &random)
        let (_, state, _) = try Self.open(fileSystem)
        #expect(state.entries == Self.entries(1...2))
    }

    @Test func fullDiskFailsTheWriteAndKeepsTheLog() throws {
        let fileSystem = SimulatedFileSystem()
        let (storage, _, _) = try Self.open(fileSystem)
        var last: UInt64 = 0
        fileSystem.capacityBytes = 3 * 4096
        var failure: WALError?
        while failure == nil, last < 1000 {
            do {
                try storage.persist(Self.ready(Self.entries((last + 1)...(last + 5), size: 100), commit: last + 5))
                last += 5
            } catch {
                failure = error
            }
        }
        #expect(failure?.code == .storage)
        #expect(failure?.storageError?.code == .noSpace)
        #expect(try fileSystem.listDirectory(Self.walDirectory).allSatisfy { !$0.hasSuffix(".tmp") })
        // Space comes back: the same batch now goes through, and everything is there after a reopen.
        fileSystem.capacityBytes = nil
        try storage.persist(Self.ready(Self.entries((last + 1)...(last + 5), size: 100), commit: last + 5))
        let (_, state, _) = try Self.open(fileSystem)
        #expect(state.entries == Self.entries(1...(last + 5), size: 100))
    }
}

/// The real file system: several groups synced in one concurrent round, then recovered.
@Suite struct POSIXWriteAheadLogTests {
    @Test func groupsSyncedTogetherAreAllRecovered() throws {
        var template = Array("/tmp/wal-test-XXXXXX".utf8CString)
        let root = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        let fileSystem = POSIXFileSystem()
        defer {
            for group in 1...4 {
                let directory = root + "/group\(group)"
                for sub in ["wal", "snapshots"] {
                    for name in (try? fileSystem.listDirectory(directory + "/" + sub)) ?? [] {
                        try? fileSystem.remove(directory + "/" + sub + "/" + name)
                    }
                    rmdir(directory + "/" + sub)
                }
                rmdir(directory)
            }
            rmdir(root)
        }
        do {
            let storages = try (1...4).map { group in
                try ReplicaStorage.open(
                    fileSystem: fileSystem, directory: root + "/group\(group)",
                    options: WriteAheadLogOptions(groupID: UInt64(group), segmentBytes: 8192)
                ).storage
            }
            for round in 0..<30 {
                let first = UInt64(round * 3 + 1)
                for (position, storage) in storages.enumerated() {
                    try storage.write(
                        WriteAheadLogTests.ready(
                            WriteAheadLogTests.entries(first...(first + 2), term: UInt64(position + 1), size: 90),
                            commit: first + 2, term: UInt64(position + 1)))
                }
                try WriteAheadLog.syncAll(storages.map(\.log))
                #expect(storages.allSatisfy { !$0.log.needsSync })
            }
            #expect(storages.allSatisfy { $0.log.syncCount >= 30 && $0.log.segmentCount > 1 })
        }
        for group in 1...4 {
            let (_, state, report) = try ReplicaStorage.open(
                fileSystem: fileSystem, directory: root + "/group\(group)",
                options: WriteAheadLogOptions(groupID: UInt64(group), segmentBytes: 8192))
            #expect(state.entries == WriteAheadLogTests.entries(1...90, term: UInt64(group), size: 90))
            #expect(report.truncation == nil)
        }
    }
}

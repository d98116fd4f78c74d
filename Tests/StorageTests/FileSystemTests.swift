import Glibc
import Testing

@testable import Storage

/// SplitMix64: a seeded generator so randomised tests can be re-run.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The seed for randomised tests: `STORAGE_TEST_SEED` if set, otherwise fresh; always printed.
func testSeed(_ name: String) -> UInt64 {
    let seed: UInt64
    if let text = getenv("STORAGE_TEST_SEED"), let value = UInt64(String(cString: text)) {
        seed = value
    } else {
        seed = UInt64.random(in: 0...UInt64.max)
    }
    print("\(name): seed \(seed) (re-run with STORAGE_TEST_SEED=\(seed))")
    return seed
}

/// Operations every `FileSystem` must agree on.
func exerciseContract(_ fileSystem: some FileSystem, directory: String) throws {
    let path = directory + "/a.log"
    #expect(throws: StorageError.self) { _ = try fileSystem.open(path, mode: .existing) }
    let handle = try fileSystem.open(path, mode: .createNew)
    #expect(throws: StorageError.self) { _ = try fileSystem.open(path, mode: .createNew) }
    #expect(try fileSystem.append(handle, [1, 2, 3]) == 0)
    #expect(try fileSystem.append(handle, [4, 5]) == 3)
    try fileSystem.write(handle, [9], at: 1)
    #expect(try fileSystem.read(handle, at: 0, count: 100) == [1, 9, 3, 4, 5])
    #expect(try fileSystem.read(handle, at: 3, count: 1) == [4])
    #expect(try fileSystem.read(handle, at: 10, count: 4) == [])
    try fileSystem.syncData(handle)
    try fileSystem.truncate(handle, to: 2)
    #expect(try fileSystem.size(handle) == 2)
    try fileSystem.write(handle, [7], at: 4)
    #expect(try fileSystem.read(handle, at: 0, count: 10) == [1, 9, 0, 0, 7])
    try fileSystem.sync(handle)
    fileSystem.close(handle)

    try fileSystem.rename(path, to: directory + "/b.log")
    try fileSystem.syncDirectory(directory)
    #expect(try fileSystem.listDirectory(directory) == ["b.log"])
    let reopened = try fileSystem.open(directory + "/b.log", mode: .createIfMissing)
    #expect(try fileSystem.size(reopened) == 5)
    fileSystem.close(reopened)
    do {
        try fileSystem.remove(directory + "/missing")
        Issue.record("removed a missing file")
    } catch {
        #expect(error.code == .notFound)
    }
    try fileSystem.remove(directory + "/b.log")
    #expect(try fileSystem.listDirectory(directory) == [])
}

@Suite struct POSIXFileSystemTests {
    @Test func contract() throws {
        var template = Array("/tmp/storage-test-XXXXXX".utf8CString)
        let directory = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        defer { rmdir(directory) }
        try exerciseContract(POSIXFileSystem(), directory: directory)
    }

    @Test func errorsCarryPathAndErrno() {
        do {
            _ = try POSIXFileSystem().open("/nonexistent-dir/x", mode: .createIfMissing)
            Issue.record("opened")
        } catch {
            #expect(error.code == .notFound)
            #expect(error.path == "/nonexistent-dir/x")
            #expect(error.errno == ENOENT)
        }
    }
}

@Suite struct SimulatedFileSystemTests {
    @Test func contract() throws {
        try exerciseContract(SimulatedFileSystem(), directory: "/data")
    }

    @Test func crashKeepsSyncedDataAndLosesUnsyncedDirectoryEntries() throws {
        let fileSystem = SimulatedFileSystem()
        let synced = try fileSystem.open("/d/synced", mode: .createNew)
        try fileSystem.append(synced, [1, 2, 3])
        try fileSystem.syncData(synced)
        try fileSystem.syncDirectory("/d")
        _ = try fileSystem.open("/d/unsynced-entry", mode: .createNew)
        var random = SeededGenerator(seed: 1)
        fileSystem.crash(random: &random)
        #expect(try fileSystem.listDirectory("/d") == ["synced"])
        let reopened = try fileSystem.open("/d/synced", mode: .existing)
        #expect(try fileSystem.read(reopened, at: 0, count: 10) == [1, 2, 3])
        #expect(throws: StorageError.self) { _ = try fileSystem.size(synced) }
    }

    /// After a crash the file is durable bytes + a prefix of the unsynced writes + a torn prefix of
    /// the next write; every outcome must be one of those, and both extremes must occur.
    @Test func crashKeepsPrefixOfUnsyncedWritesAndTearsAtAnyByte() throws {
        let seed = testSeed("crashKeepsPrefix")
        var random = SeededGenerator(seed: seed)
        let durable: [UInt8] = [0xAA, 0xAA]
        let writes: [[UInt8]] = [[1, 2, 3], [4, 5, 6, 7], [8, 9]]
        let full = durable + writes.flatMap { $0 }
        var lengthsSeen = Set<Int>()
        for _ in 0..<500 {
            let fileSystem = SimulatedFileSystem()
            let handle = try fileSystem.open("/d/log", mode: .createNew)
            try fileSystem.append(handle, durable)
            try fileSystem.syncData(handle)
            try fileSystem.syncDirectory("/d")
            for write in writes { try fileSystem.append(handle, write) }
            fileSystem.crash(random: &random)
            let after = try fileSystem.open("/d/log", mode: .existing)
            let contents = try fileSystem.read(after, at: 0, count: 100)
            #expect(contents == Array(full[0..<contents.count]), "seed \(seed)")
            #expect(contents.count >= durable.count, "seed \(seed)")
            lengthsSeen.insert(contents.count)
        }
        #expect(lengthsSeen == Set(durable.count...full.count), "seed \(seed)")
    }

    @Test func failedSyncMakesNothingDurable() throws {
        let fileSystem = SimulatedFileSystem()
        let handle = try fileSystem.open("/d/log", mode: .createNew)
        try fileSystem.syncDirectory("/d")
        try fileSystem.append(handle, [1, 2, 3])
        fileSystem.failNextSync()
        do {
            try fileSystem.syncData(handle)
            Issue.record("sync succeeded")
        } catch {
            #expect(error.code == .syncFailed)
        }
        #expect(fileSystem.durableContents(of: "/d/log") == [])
        // Like Linux after a writeback error: a later sync succeeds but the lost pages stay lost,
        // although the process still reads them.
        try fileSystem.syncData(handle)
        #expect(fileSystem.durableContents(of: "/d/log") == [])
        #expect(try fileSystem.read(handle, at: 0, count: 3) == [1, 2, 3])
        try fileSystem.append(handle, [4])
        try fileSystem.syncData(handle)
        #expect(fileSystem.durableContents(of: "/d/log") == [0, 0, 0, 4])
    }

    @Test func fullDiskRejectsWritesWithoutWritingAnything() throws {
        let fileSystem = SimulatedFileSystem()
        fileSystem.capacityBytes = 4
        let handle = try fileSystem.open("/d/log", mode: .createNew)
        try fileSystem.append(handle, [1, 2, 3])
        do {
            try fileSystem.append(handle, [4, 5])
            Issue.record("write succeeded")
        } catch {
            #expect(error.code == .noSpace)
            #expect(error.errno == ENOSPC)
        }
        #expect(try fileSystem.size(handle) == 3)
        try fileSystem.write(handle, [9], at: 0)
        try fileSystem.append(handle, [4])
        #expect(try fileSystem.read(handle, at: 0, count: 10) == [9, 2, 3, 4])
    }

    @Test func bitFlipSurvivesCrash() throws {
        let fileSystem = SimulatedFileSystem()
        let handle = try fileSystem.open("/d/log", mode: .createNew)
        try fileSystem.append(handle, [0, 0, 0])
        try fileSystem.syncData(handle)
        try fileSystem.syncDirectory("/d")
        fileSystem.flipBit(path: "/d/log", byteOffset: 1, bit: 3)
        #expect(try fileSystem.read(handle, at: 0, count: 3) == [0, 8, 0])
        var random = SeededGenerator(seed: 7)
        fileSystem.crash(random: &random)
        let reopened = try fileSystem.open("/d/log", mode: .existing)
        #expect(try fileSystem.read(reopened, at: 0, count: 3) == [0, 8, 0])
    }
}

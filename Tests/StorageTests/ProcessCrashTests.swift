import Glibc
import Raft
import Testing

@testable import Storage

/// Real-process crash test: the child `storage-crash-child` appends and syncs batches and reports
/// each synced index on stdout; it is killed with SIGKILL at random moments, hundreds of times.
/// After every kill the storage is recovered in this process and every reported index must be
/// present (in the log or covered by the snapshot) and intact.
///
/// SIGKILL keeps what reached the page cache, so this exercises what the simulated file system
/// cannot: real `pwrite`s cut short, a process dying between the steps of segment rotation, snapshot
/// saving and compaction, and recovery (with its repairs) itself interrupted.
///
/// Seed: `STORAGE_CRASH_SEED` (else `STORAGE_TEST_SEED`, else fresh); iterations:
/// `STORAGE_CRASH_ITERATIONS` (default 300). Re-run a failure with
/// `STORAGE_CRASH_SEED=<seed> swift test --filter ProcessCrashTests`.
@Suite struct ProcessCrashTests {
    static let iterationsDefault = 300
    static let groupID: UInt64 = 7

    @Test func reportedIndicesSurviveSIGKILL() throws {
        let seed = crashSeed()
        let iterations = environmentInteger("STORAGE_CRASH_ITERATIONS") ?? Self.iterationsDefault
        let verbose = getenv("STORAGE_CRASH_VERBOSE") != nil  // one line per kill
        let rerun = "re-run with: STORAGE_CRASH_SEED=\(seed) swift test --filter ProcessCrashTests"
        var random = SeededGenerator(seed: seed)
        let segmentBytes: UInt64 = [16 << 10, 32 << 10, 64 << 10].randomElement(using: &random)!
        let childPath = try #require(
            locateChild(), "storage-crash-child not found next to the test binary: build it first (swift build)")
        let root = try makeTemporaryDirectory()
        defer { removeTree(root) }
        let replica = root + "/replica"
        let copy = root + "/verify"
        print("ProcessCrashTests: seed \(seed), \(iterations) iterations, segment \(segmentBytes) bytes, dir \(root)")

        var statistics = Statistics()
        var reportedSynced: [UInt64] = []  // every index ever reported synced, increasing
        var maxSnapshotReported: UInt64 = 0
        var expectedRecovered = "recovered 0 0 0"  // what the next child must print first
        let started = monotonicNanoseconds()

        for iteration in 0..<iterations {
            let context = "seed \(seed) iteration \(iteration); \(rerun)"
            let mode = KillMode.random(using: &random)
            let spinMicroseconds: UInt64 =
                if case .duringLargeWrite = mode { 0 } else if Bool.random(using: &random) { 0 } else {
                    UInt64.random(in: 0...2000, using: &random)
                }
            let childStarted = monotonicNanoseconds()
            let child = try ChildProcess(
                path: childPath,
                arguments: [replica, String(random.next()), "--segment-bytes", String(segmentBytes)]
                    + (mode.wantsLargeBatches ? ["--large-batches"] : []),
                stderrPath: root + "/child-stderr")
            defer { child.killAndReap() }

            // Run until the chosen moment, then kill (after a random busy delay, so that the kill also
            // lands inside writes and syncs: a deliberate fault, not synchronisation).
            var lines: [String] = []
            func readLine() throws -> String {
                guard let line = try child.readLine(timeoutMilliseconds: 60_000) else {
                    let status = child.killAndReap()
                    Issue.record("child ended on its own (\(status)): \(readFile(root + "/child-stderr")); \(context)")
                    throw ChildEnded()
                }
                lines.append(line)
                return line
            }
            switch mode {
            case .immediately:
                break
            case .afterRecovery:
                _ = try readLine()
            case .afterSynced(let count):
                var synced = 0
                while synced < count { if try readLine().hasPrefix("synced ") { synced += 1 } }
            case .duringLargeWrite(let batches):
                // After the `writing` line of a large batch, watch the newest segment: a large batch
                // outgrows it, so the file growing means its `pwrite` is copying right now. Killing
                // then tears it (the kernel stops a buffered write between pages on SIGKILL).
                var seen = 0
                while seen < batches { if try readLine().hasPrefix("writing ") { seen += 1 } }
                if waitForSegmentGrowth(walDirectory: replica + "/wal", segmentBytes: segmentBytes) {
                    statistics.aimedKillsCaughtGrowing += 1
                }
            case .afterSnapshot:
                // The first snapshot line, or give up waiting for one after many batches.
                var synced = 0
                while synced < 400 {
                    let line = try readLine()
                    if line.hasPrefix("snapshot ") { break }
                    if line.hasPrefix("synced ") { synced += 1 }
                }
            }
            busyWait(microseconds: spinMicroseconds)
            let status = child.killAndReap()
            lines += try child.readRemainingLines()
            statistics.count(mode)
            let childNanoseconds = monotonicNanoseconds() - childStarted
            statistics.childNanoseconds += childNanoseconds
            if case .exited(let code) = status {
                Issue.record(
                    "child exited with \(code) before SIGKILL: \(readFile(root + "/child-stderr")); \(context)")
                return
            }

            // Account what this child reported (lines are only written after the sync returned).
            var syncedThisRun = 0
            var written: UInt64 = 0  // last index of the latest `writing` line (or recovered)
            for (position, line) in lines.enumerated() {
                let words = line.split(separator: " ")
                if position == 0 {
                    try #require(words.first == "recovered" && words.count == 4, "first line \(line); \(context)")
                    try #require(
                        line == expectedRecovered,
                        "child recovered \(line), this process \(expectedRecovered); \(context)")
                    written = try #require(UInt64(words[1]), "malformed line \(line); \(context)")
                    continue
                }
                if words.first == "writing" {
                    try #require(
                        words.count == 3 && UInt64(words[1]) == written + 1, "\(line) after \(written); \(context)")
                    written = try #require(UInt64(words[2]), "malformed line \(line); \(context)")
                    continue
                }
                try #require(words.count == 2, "malformed line \(line); \(context)")
                let index = try #require(UInt64(words[1]), "malformed line \(line); \(context)")
                switch words[0] {
                case "synced":
                    try #require(index > (reportedSynced.last ?? 0), "synced \(index) not increasing; \(context)")
                    try #require(
                        index == written, "synced \(index) but the batch written ends at \(written); \(context)")
                    reportedSynced.append(index)
                    syncedThisRun += 1
                case "snapshot":
                    try #require(index > maxSnapshotReported, "snapshot \(index) not increasing; \(context)")
                    maxSnapshotReported = index
                    statistics.snapshotsReported += 1
                default:
                    Issue.record("unknown line \(line); \(context)")
                    return
                }
            }
            if lines.isEmpty { statistics.killsBeforeRecoveredLine += 1 }
            if syncedThisRun == 0 { statistics.killsBeforeFirstSynced += 1 } else { statistics.killsMidRun += 1 }
            if lines.last?.hasPrefix("snapshot ") == true { statistics.killsRightAfterSnapshotLine += 1 }
            if lines.last?.hasPrefix("writing ") == true { statistics.killsAfterWritingLine += 1 }
            statistics.syncedReported += syncedThisRun

            // Recover in this process: in place (the next child then starts from the repaired log), or
            // on a copy (the next child repairs the torn log itself, and must recover the same).
            let verifyStarted = monotonicNanoseconds()
            defer { statistics.verifyNanoseconds += monotonicNanoseconds() - verifyStarted }
            let inPlace = Bool.random(using: &random)
            let target: String
            if inPlace {
                target = replica
                statistics.verifiedInPlace += 1
            } else {
                removeTree(copy)
                try copyTree(replica, to: copy)
                target = copy
            }
            let truncationsBefore = statistics.truncations
            do {
                expectedRecovered = try verify(
                    directory: target, segmentBytes: segmentBytes, reportedSynced: reportedSynced,
                    maxSnapshotReported: maxSnapshotReported, statistics: &statistics, context: context)
            } catch {
                print(
                    "ProcessCrashTests: iteration \(iteration) \(mode) failed; the child's last lines: "
                        + lines.suffix(8).joined(separator: " | "))
                throw error
            }
            if verbose {
                print(
                    "ProcessCrashTests: iteration \(iteration) \(mode): \(lines.count) lines, "
                        + "last \(lines.last ?? "-"); "
                        + "child \(childNanoseconds / 1000) us, "
                        + "verify \((monotonicNanoseconds() - verifyStarted) / 1000) us, "
                        + "\(expectedRecovered)\(statistics.truncations > truncationsBefore ? ", truncated" : "")")
            }
        }

        let elapsedMilliseconds = (monotonicNanoseconds() - started) / 1_000_000
        print(
            "ProcessCrashTests: seed \(seed): \(statistics), highest synced \(reportedSynced.last ?? 0), "
                + "\(elapsedMilliseconds) ms"
        )
        #expect(statistics.kills == iterations, "seed \(seed); \(rerun)")
    }

    /// The state a SIGKILL leaves when it lands after rotation created the next segment but before the
    /// batch that caused it was written (or tore that batch): an empty last segment. If the
    /// application then snapshots before writing anything, compaction must not delete every segment
    /// holding a hard-state record; before a8f008d it did, and the next recovery came back with
    /// `HardState()`: term, vote and commit lost. Deterministic companion of the SIGKILL test (the child
    /// snapshots at start-up now and then to reach this state).
    @Test func snapshotAfterRecoveringAnEmptyLastSegmentKeepsTheHardState() throws {
        let root = try makeTemporaryDirectory()
        defer { removeTree(root) }
        let directory = root + "/replica"
        let options = WriteAheadLogOptions(groupID: Self.groupID, segmentBytes: 4096)
        var lastIndex: UInt64 = 0
        do {
            let storage = try ReplicaStorage.open(fileSystem: POSIXFileSystem(), directory: directory, options: options)
                .storage
            while storage.log.segmentCount < 2 {
                let entries = (lastIndex + 1...lastIndex + 10).map(ProcessCrashContent.entry(atIndex:))
                try storage.log.append(
                    entries: entries, hardState: ProcessCrashContent.hardState(commit: lastIndex + 10))
                try storage.sync()
                lastIndex += 10
            }
            // The crash: the batch that caused the rotation never reached the new segment.
            let fileSystem = POSIXFileSystem()
            let newest = try #require(storage.log.segmentPaths.last)
            let handle = try fileSystem.open(newest, mode: .existing)
            defer { fileSystem.close(handle) }
            let size = try fileSystem.size(handle)
            try fileSystem.write(
                handle, [UInt8](repeating: 0, count: Int(size) - SegmentHeader.byteCount),
                at: UInt64(SegmentHeader.byteCount))
            lastIndex -= 10
        }
        let expected = ProcessCrashContent.hardState(commit: lastIndex)
        do {
            let (storage, state, _) = try ReplicaStorage.open(
                fileSystem: POSIXFileSystem(), directory: directory, options: options)
            #expect(state.hardState == expected)
            #expect(state.entries.last?.index == lastIndex)
            // The application checkpoints what it applied before writing anything new.
            try storage.saveSnapshot(ProcessCrashContent.snapshot(atIndex: lastIndex))
        }
        let (_, state, _) = try ReplicaStorage.open(
            fileSystem: POSIXFileSystem(), directory: directory, options: options)
        #expect(state.snapshot?.metadata.index == lastIndex)
        #expect(state.hardState == expected, "the hard state must survive compaction")
    }

    /// Opens the storage in `directory` and checks it against what the children reported. Returns the
    /// line a child recovering the same bytes must print. Closes everything before returning.
    private func verify(
        directory: String, segmentBytes: UInt64, reportedSynced: [UInt64], maxSnapshotReported: UInt64,
        statistics: inout Statistics, context: String
    ) throws -> String {
        let opened: (storage: ReplicaStorage, state: RaftPersistentState, report: RecoveryReport)
        do {
            opened = try ReplicaStorage.open(
                fileSystem: POSIXFileSystem(), directory: directory,
                options: WriteAheadLogOptions(groupID: Self.groupID, segmentBytes: segmentBytes))
        } catch {
            Issue.record("recovery failed after SIGKILL: \(error); \(context)")
            throw error
        }
        let (state, report) = (opened.state, opened.report)
        if let truncation = report.truncation {
            statistics.truncations += 1
            if truncation.droppedEntries > 0 { statistics.truncationsDroppingEntries += 1 }
            if truncation.reason.hasPrefix("incomplete batch") { statistics.truncationsAtBatchBoundary += 1 }
        }
        statistics.segmentsMax = max(statistics.segmentsMax, report.segmentCount)
        let maxSynced = reportedSynced.last ?? 0

        let snapshotIndex = state.snapshot?.metadata.index ?? 0
        if let snapshot = state.snapshot {
            try #require(
                snapshot == ProcessCrashContent.snapshot(atIndex: snapshotIndex),
                "snapshot at \(snapshotIndex) is not intact; \(context)")
            statistics.recoveriesWithSnapshot += 1
        }
        try #require(
            snapshotIndex >= maxSnapshotReported,
            "snapshot \(maxSnapshotReported) was reported saved, recovered snapshot \(snapshotIndex); \(context)")

        for (offset, entry) in state.entries.enumerated() {
            try #require(
                entry.index == snapshotIndex + 1 + UInt64(offset),
                "entries not contiguous from \(snapshotIndex + 1): \(entry.index) at position \(offset); \(context)")
            try #require(
                entry == ProcessCrashContent.entry(atIndex: entry.index),
                "entry \(entry.index) is not intact (term \(entry.term), \(entry.data.count) bytes); \(context)")
        }
        let lastIndex = state.entries.last?.index ?? snapshotIndex
        #expect(report.lastIndex == lastIndex, "report disagrees with entries; \(context)")
        for index in reportedSynced {
            // Present in the log, or covered by the snapshot.
            try #require(
                index <= lastIndex,
                "synced \(index) was reported, the log ends at \(lastIndex) (snapshot \(snapshotIndex)); \(context)")
        }

        let commit = state.hardState.commit
        try #require(commit >= maxSynced, "commit \(commit) below reported synced \(maxSynced); \(context)")
        try #require(commit <= lastIndex, "commit \(commit) beyond log end \(lastIndex); \(context)")
        let expectedHardState = commit == 0 ? HardState() : ProcessCrashContent.hardState(commit: commit)
        try #require(
            state.hardState == expectedHardState,
            "hard state \(state.hardState), the child wrote \(expectedHardState); \(context)")
        return "recovered \(lastIndex) \(commit) \(snapshotIndex)"
    }
}

// MARK: - What the child writes

/// Copy of `CrashChildContent` in Sources/storage-crash-child/main.swift (an executable module cannot be
/// imported portably). If the two differ, every recovered entry fails the "intact" check at once.
private enum ProcessCrashContent {
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    static func term(ofIndex index: UInt64) -> UInt64 { 1 + index / 1000 }

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

// MARK: - Kill schedule and statistics

/// When the parent kills the child.
private enum KillMode {
    /// Right after spawning: in process start-up or in recovery (and its repairs).
    case immediately
    /// After the `recovered` line: in the first batch, or the snapshot taken at start-up.
    case afterRecovery
    /// After `count` `synced` lines.
    case afterSynced(count: Int)
    /// After the first `snapshot` line: in compaction or the next batch.
    case afterSnapshot
    /// Shortly after the `writing` line of the `batches`-th batch, the child writing only large
    /// batches (`--large-batches`).
    case duringLargeWrite(batches: Int)

    var wantsLargeBatches: Bool {
        if case .duringLargeWrite = self { true } else { false }
    }

    static func random(using random: inout SeededGenerator) -> KillMode {
        switch Int.random(in: 0..<20, using: &random) {
        case 0..<2: .immediately
        case 2..<4: .afterRecovery
        case 4..<7: .afterSnapshot
        case 7..<10: .duringLargeWrite(batches: Int.random(in: 1...3, using: &random))
        default: .afterSynced(count: Int.random(in: 1...40, using: &random))
        }
    }
}

private struct Statistics: CustomStringConvertible {
    var kills = 0
    var killsImmediately = 0
    var killsAfterRecovery = 0
    var killsAfterSynced = 0
    var killsAfterSnapshot = 0
    var killsDuringLargeWrite = 0
    var killsAfterWritingLine = 0
    var aimedKillsCaughtGrowing = 0
    var killsBeforeRecoveredLine = 0
    var killsBeforeFirstSynced = 0
    var killsMidRun = 0
    var killsRightAfterSnapshotLine = 0
    var syncedReported = 0
    var snapshotsReported = 0
    var verifiedInPlace = 0
    var truncations = 0
    var truncationsDroppingEntries = 0
    var truncationsAtBatchBoundary = 0
    var recoveriesWithSnapshot = 0
    var segmentsMax = 0
    var childNanoseconds: UInt64 = 0
    var verifyNanoseconds: UInt64 = 0

    mutating func count(_ mode: KillMode) {
        kills += 1
        switch mode {
        case .immediately: killsImmediately += 1
        case .afterRecovery: killsAfterRecovery += 1
        case .afterSynced: killsAfterSynced += 1
        case .afterSnapshot: killsAfterSnapshot += 1
        case .duringLargeWrite: killsDuringLargeWrite += 1
        }
    }

    var description: String {
        "\(kills) kills (planned: \(killsImmediately) immediately, \(killsAfterRecovery) after recovery, "
            + "\(killsAfterSynced) after n synced, \(killsAfterSnapshot) after a snapshot, "
            + "\(killsDuringLargeWrite) aimed at a large write, \(aimedKillsCaughtGrowing) of them while its segment "
            + "grew; "
            + "observed: \(killsBeforeRecoveredLine) before the recovered line, \(killsBeforeFirstSynced) before the "
            + "first synced, \(killsMidRun) mid-run, \(killsRightAfterSnapshotLine) right after a snapshot line, "
            + "\(killsAfterWritingLine) between a writing line and its sync), "
            + "\(syncedReported) synced and \(snapshotsReported) snapshots reported, "
            + "\(truncations) truncations (\(truncationsDroppingEntries) dropping entries, "
            + "\(truncationsAtBatchBoundary) at a record boundary), \(recoveriesWithSnapshot) recoveries with a "
            + "snapshot, \(verifiedInPlace) verified in place, up to \(segmentsMax) segments; "
            + "\(childNanoseconds / 1_000_000) ms running children, \(verifyNanoseconds / 1_000_000) ms verifying"
    }
}

// MARK: - The child process

private struct ChildEnded: Error {}

private enum ChildStatus: CustomStringConvertible {
    case signalled(Int32)
    case exited(Int32)

    var description: String {
        switch self {
        case .signalled(let signal): "killed by signal \(signal)"
        case .exited(let code): "exit status \(code)"
        }
    }
}

/// A spawned `storage-crash-child` with its stdout on a pipe. Killed and reaped at the latest in
/// `deinit`, so that no child outlives a failing test.
private final class ChildProcess {
    let pid: pid_t
    private let output: Int32
    private var buffer: [UInt8] = []
    private var status: ChildStatus?

    init(path: String, arguments: [String], stderrPath: String) throws {
        var descriptors: [Int32] = [-1, -1]
        guard pipe(&descriptors) == 0 else { throw SystemCallError(call: "pipe", errno: errno) }
        // Close-on-exec: only the child's fd 1 (a dup2) may keep the write end open.
        for descriptor in descriptors { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, descriptors[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var child: pid_t = 0
        let result = posix_spawn(&child, path, &actions, nil, argv, environ)
        Glibc.close(descriptors[1])
        guard result == 0 else {
            Glibc.close(descriptors[0])
            throw SystemCallError(call: "posix_spawn \(path)", errno: result)
        }
        pid = child
        output = descriptors[0]
    }

    deinit {
        killAndReap()
        Glibc.close(output)
    }

    /// SIGKILL, then waitpid. Idempotent; returns how the child ended.
    @discardableResult
    func killAndReap() -> ChildStatus {
        if let status { return status }
        kill(pid, SIGKILL)
        var raw: Int32 = 0
        while waitpid(pid, &raw, 0) < 0, errno == EINTR {}
        let ended: ChildStatus = (raw & 0x7f) == 0 ? .exited((raw >> 8) & 0xff) : .signalled(raw & 0x7f)
        status = ended
        return ended
    }

    /// The next complete line, nil at end of file. Waits on the pipe up to `timeoutMilliseconds` for
    /// each read (a stuck child fails the test instead of hanging it).
    func readLine(timeoutMilliseconds: Int32) throws -> String? {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return line
            }
            var poller = pollfd(fd: output, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, timeoutMilliseconds)
            if ready < 0 {
                if errno == EINTR { continue }
                throw SystemCallError(call: "poll", errno: errno)
            }
            if ready == 0 {
                throw SystemCallError(call: "poll: no output from the child for \(timeoutMilliseconds) ms", errno: 0)
            }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = chunk.withUnsafeMutableBytes { Glibc.read(output, $0.baseAddress!, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw SystemCallError(call: "read", errno: errno)
            }
            if count == 0 {
                // End of file: a torn last line cannot happen (each line is one write of < PIPE_BUF bytes).
                if !buffer.isEmpty { throw SystemCallError(call: "partial line from the child", errno: 0) }
                return nil
            }
            buffer.append(contentsOf: chunk[0..<count])
        }
    }

    /// After `killAndReap`: the lines the child wrote that were not read yet.
    func readRemainingLines() throws -> [String] {
        precondition(status != nil, "the child is still running")
        var lines: [String] = []
        while let line = try readLine(timeoutMilliseconds: 60_000) { lines.append(line) }
        return lines
    }
}

private struct SystemCallError: Error, CustomStringConvertible {
    var call: String
    var errno: Int32
    var description: String { "\(call) failed: errno \(errno)" }
}

// MARK: - Helpers

/// `STORAGE_CRASH_SEED` if set, else the other storage tests' `testSeed` (`STORAGE_TEST_SEED` or fresh).
private func crashSeed() -> UInt64 {
    let seed: UInt64
    if let text = getenv("STORAGE_CRASH_SEED"), let value = UInt64(String(cString: text)) {
        seed = value
    } else {
        seed = testSeed("ProcessCrashTests")
    }
    print(
        "ProcessCrashTests: seed \(seed) (re-run with STORAGE_CRASH_SEED=\(seed) swift test --filter ProcessCrashTests)"
    )
    return seed
}

private func environmentInteger(_ name: String) -> Int? {
    guard let text = getenv(name) else { return nil }
    return Int(String(cString: text))
}

/// `storage-crash-child` in the directory of the running test binary (`.build/<triple>/<config>/`), or
/// of one of its parents; `STORAGE_CRASH_CHILD` overrides.
private func locateChild() -> String? {
    if let text = getenv("STORAGE_CRASH_CHILD") { return String(cString: text) }
    var starts: [String] = []
    var link = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let count = readlink("/proc/self/exe", &link, link.count - 1)
    if count > 0 { starts.append(String(decoding: link[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)) }
    starts.append(CommandLine.arguments[0])
    for start in starts {
        var directory = start
        for _ in 0..<4 {
            guard let slash = directory.lastIndex(of: "/") else { break }
            directory = String(directory[..<slash])
            let candidate = directory + "/storage-crash-child"
            if access(candidate, X_OK) == 0 { return candidate }
        }
    }
    return nil
}

private func makeTemporaryDirectory() throws -> String {
    var base = "/tmp"
    if let text = getenv("TMPDIR") { base = String(cString: text) }
    var template = Array((base + "/storage-crash-XXXXXX").utf8CString)
    guard mkdtemp(&template) != nil else { throw SystemCallError(call: "mkdtemp", errno: errno) }
    return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Removes `path` and everything below it; a missing path is fine.
private func removeTree(_ path: String) {
    let fileSystem = POSIXFileSystem()
    if let names = try? fileSystem.listDirectory(path) {
        for name in names { removeTree(path + "/" + name) }
        rmdir(path)
    } else {
        unlink(path)
    }
}

/// Copies the directory tree `source` (regular files and directories) to `destination`; nothing if
/// `source` does not exist (a child killed before it created it).
private func copyTree(_ source: String, to destination: String) throws {
    let fileSystem = POSIXFileSystem()
    if access(source, F_OK) != 0, errno == ENOENT { return }
    guard mkdir(destination, 0o755) == 0 else { throw SystemCallError(call: "mkdir \(destination)", errno: errno) }
    for name in try fileSystem.listDirectory(source) {
        var status = stat()
        guard stat(source + "/" + name, &status) == 0 else { throw SystemCallError(call: "stat", errno: errno) }
        if (status.st_mode & S_IFMT) == S_IFDIR {
            try copyTree(source + "/" + name, to: destination + "/" + name)
        } else {
            let input = try fileSystem.open(source + "/" + name, mode: .existing)
            defer { fileSystem.close(input) }
            let bytes = try fileSystem.read(input, at: 0, count: Int(try fileSystem.size(input)))
            let output = try fileSystem.open(destination + "/" + name, mode: .createNew)
            defer { fileSystem.close(output) }
            try fileSystem.write(output, bytes, at: 0)
        }
    }
}

private func readFile(_ path: String) -> String {
    let fileSystem = POSIXFileSystem()
    guard let handle = try? fileSystem.open(path, mode: .existing) else { return "(no stderr)" }
    defer { fileSystem.close(handle) }
    let bytes = (try? fileSystem.read(handle, at: 0, count: 4096)) ?? []
    return bytes.isEmpty ? "(empty stderr)" : String(decoding: bytes, as: UTF8.self)
}

private func monotonicNanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}

/// Spins until the newest segment in `walDirectory` grows past `segmentBytes` (or past its size at
/// the call, if it already had): a large batch's `pwrite` is copying right now. Gives up after 2 s
/// (the batch may have gone into zeroed space). A fault aimed on purpose, not a wait for a result:
/// the test checks the same things whether or not it caught the write.
private func waitForSegmentGrowth(walDirectory: String, segmentBytes: UInt64) -> Bool {
    func newestName() -> String? {
        (try? POSIXFileSystem().listDirectory(walDirectory))?.last(where: { $0.hasSuffix(".wal") })
    }
    func size(_ descriptor: Int32) -> UInt64 {
        var status = stat()
        return fstat(descriptor, &status) == 0 ? UInt64(status.st_size) : 0
    }
    var opened: (name: String, descriptor: Int32, threshold: UInt64)?
    defer { if let opened { close(opened.descriptor) } }
    let deadline = monotonicNanoseconds() + 2_000_000_000
    while monotonicNanoseconds() < deadline {
        // The directory is listed now and then to follow a rotation (the new segment appears, by
        // rename, before the batch is written into it); in between only `fstat`, which is fast
        // enough to catch a copy of a few hundred KiB under way.
        if let name = newestName(), name != opened?.name {
            let descriptor = open(walDirectory + "/" + name, O_RDONLY | O_CLOEXEC)
            if descriptor >= 0 {
                // The segment current at the start may already be past `segmentBytes` (a torn
                // large batch was zeroed, not cut off): then wait for it to grow further.
                let threshold = opened == nil ? max(size(descriptor), segmentBytes) : segmentBytes
                if let opened { close(opened.descriptor) }
                opened = (name, descriptor, threshold)
            }
        }
        guard let opened else { continue }
        for _ in 0..<500 where size(opened.descriptor) > opened.threshold { return true }
    }
    return false
}

/// Spins for `microseconds` so that the kill lands at a random point of the child's work. A fault
/// injected on purpose, not a wait for anything.
private func busyWait(microseconds: UInt64) {
    guard microseconds > 0 else { return }
    let end = monotonicNanoseconds() + microseconds * 1000
    while monotonicNanoseconds() < end {}
}

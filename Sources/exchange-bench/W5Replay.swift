@preconcurrency import Glibc
import Matching
import Raft
import Storage
import Workloads

/// Workload W5, recovery: a replica's storage holding a log of `entries` entries and a snapshot is
/// opened again, and the time until the replica could serve is measured.
///
/// Built untimed: entries 1...`entries` (128-byte payloads, batches of 1,024, one hard-state record
/// per batch, default segment size) through `ReplicaStorage`'s `WriteAheadLog`, then a snapshot at
/// index 1 (term 1) saved with `ReplicaStorage.saveSnapshot` whose data is a real matching-engine
/// snapshot (`MatchingEngine.snapshot()` after a W1a stream). The snapshot sits at the start of the
/// log, so recovery must replay every entry after it.
///
/// Timed ("until it serves"): `ReplicaStorage.open` (loads and verifies the snapshot, reads every
/// segment, checks every record's CRC, rebuilds the entries), restoring a `RaftNode` from the
/// returned `RaftPersistentState`, and restoring the `MatchingEngine` from the snapshot data.
/// Not included: re-applying the replayed committed entries to the engine (their payloads are not
/// commands here; the node hands them to the application through `Ready` after it starts).
enum W5Replay {
    static let batch = 1024
    static let snapshotIndex: UInt64 = 1
    static let membership = Membership(voters: [1, 2, 3])
    /// W1a commands run through the engine whose snapshot is stored (about 1,000 resting orders).
    static let engineCommands = 300_000

    struct Built {
        var entries: Int
        var logBytes: UInt64
        var segments: Int
        var snapshotBytes: Int
        var restingOrders: Int
        var engineStateHash: UInt64
        var buildSeconds: Double
    }

    struct Replayed {
        var coldCache: Bool
        var seconds: Double
        var storageOpenSeconds: Double
        var raftRestoreSeconds: Double
        var engineRestoreSeconds: Double
        /// Entries after the snapshot that recovery rebuilt.
        var entries: Int
        var bytesRead: UInt64
        var segments: Int
        /// CPU time (user + system) of the process during the timed part: on this shared machine
        /// the wall time also holds waiting for a core.
        var cpuSeconds: Double
        /// One-minute load average when the replay started.
        var loadAverage: Double

        var entriesPerSecond: Double { Double(entries) / seconds }
    }

    static func replicaDirectory(_ scratch: String) -> String { scratch + "/replica" }

    static func raftConfiguration() -> RaftConfiguration {
        RaftConfiguration(
            id: 1, membership: membership, preVote: true, checkQuorum: true, requireTwoRegionQuorum: false)
    }

    /// Builds the log and the snapshot in `scratch/replica`.
    static func build(scratch: String, entries: Int) throws -> Built {
        precondition(entries > Int(snapshotIndex), "W5 needs entries after the snapshot")
        let start = MonotonicClock.nanoseconds()
        log("W5: running \(grouped(engineCommands)) W1a commands for the engine snapshot")
        let workload = try W1Generator.generate(scenario: .a, measuredCommands: engineCommands, seed: 1)
        var engine = workload.makeEngine()
        var events: [Event] = []
        workload.apply(0..<workload.commands.count, to: &engine, events: &events)
        let engineSnapshot = engine.snapshot()

        log(
            "W5: writing \(grouped(entries)) entries of \(StorageMeasurements.payloadBytes) bytes "
                + "in batches of \(batch)"
        )
        let fileSystem = POSIXFileSystem()
        let (storage, _, report) = try ReplicaStorage.open(
            fileSystem: fileSystem, directory: replicaDirectory(scratch),
            options: WriteAheadLogOptions(groupID: StorageMeasurements.groupID))
        precondition(report.entryCount == 0, "a fresh replica directory held entries")
        let payload = StorageMeasurements.payload(seed: 5)
        var batchEntries: [Entry] = []
        batchEntries.reserveCapacity(batch)
        var index: UInt64 = 0
        var nextProgress = 1_000_000
        while index < UInt64(entries) {
            try Interruption.check()
            batchEntries.removeAll(keepingCapacity: true)
            for _ in 0..<min(batch, entries - Int(index)) {
                index += 1
                var data = payload
                data.withUnsafeMutableBytes { $0.storeBytes(of: index.littleEndian, as: UInt64.self) }
                batchEntries.append(Entry(term: 1, index: index, kind: .normal, data: data))
            }
            try storage.write(
                Ready(hardState: HardState(term: 1, vote: 1, commit: index), entries: batchEntries))
            if Int(index) >= nextProgress {
                log("  \(grouped(Int(index))) / \(grouped(entries)) entries, \(storage.log.segmentCount) segments")
                nextProgress += 1_000_000
            }
        }
        try storage.sync()
        try storage.saveSnapshot(
            Snapshot(
                metadata: SnapshotMetadata(index: snapshotIndex, term: 1, membership: membership),
                data: engineSnapshot))
        let built = Built(
            entries: entries, logBytes: storage.log.bytesWritten, segments: storage.log.segmentCount,
            snapshotBytes: engineSnapshot.count, restingOrders: engine.liveOrderCount,
            engineStateHash: engine.stateHash(), buildSeconds: Double(MonotonicClock.nanoseconds() - start) / 1e9)
        log(
            "W5: built in \(fixed(built.buildSeconds, decimals: 1)) s: \(grouped(Int(built.logBytes))) bytes of log "
                + "in \(built.segments) segments, snapshot of \(grouped(built.snapshotBytes)) bytes "
                + "at index \(snapshotIndex)"
        )
        return built
    }

    /// Drops the page cache (`/proc/sys/vm/drop_caches`) after writing back dirty pages; only as
    /// root. Returns whether the cache was dropped.
    static func dropPageCache() -> Bool {
        guard geteuid() == 0 else { return false }
        sync()
        let descriptor = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            log("W5: cannot open /proc/sys/vm/drop_caches (\(String(cString: strerror(errno)))): warm cache")
            return false
        }
        defer { close(descriptor) }
        let command: [UInt8] = Array("3\n".utf8)
        let written = command.withUnsafeBytes { write(descriptor, $0.baseAddress!, $0.count) }
        guard written == command.count else {
            log("W5: writing /proc/sys/vm/drop_caches failed (\(String(cString: strerror(errno)))): warm cache")
            return false
        }
        return true
    }

    /// One timed recovery of the replica built in `scratch`, checked against what was built.
    static func replay(scratch: String, built: Built, dropCache: Bool) throws -> Replayed {
        try Interruption.check()
        let cold = dropCache && dropPageCache()
        log("W5: replaying (\(cold ? "cold" : "warm") page cache)")
        let fileSystem = POSIXFileSystem()
        var load = [0.0]
        if getloadavg(&load, 1) != 1 { load[0] = -1 }
        let cpuStart = processCPUSeconds()
        let start = MonotonicClock.nanoseconds()
        let (storage, state, report) = try ReplicaStorage.open(
            fileSystem: fileSystem, directory: replicaDirectory(scratch),
            options: WriteAheadLogOptions(groupID: StorageMeasurements.groupID))
        let opened = MonotonicClock.nanoseconds()
        let node = RaftNode(configuration: raftConfiguration(), restoring: state)
        let restored = MonotonicClock.nanoseconds()
        guard let snapshot = state.snapshot else {
            throw ExitCodeError(message: "W5: recovery found no snapshot")
        }
        let engine = try MatchingEngine(snapshot: snapshot.data)
        let end = MonotonicClock.nanoseconds()
        let cpuSeconds = processCPUSeconds() - cpuStart

        let status = node.status
        var problems: [String] = []
        if report.entryCount != built.entries - Int(snapshotIndex) {
            problems.append("recovered \(report.entryCount) entries, expected \(built.entries - Int(snapshotIndex))")
        }
        if status.lastIndex != UInt64(built.entries) || status.commitIndex != UInt64(built.entries) {
            problems.append("node restored with last \(status.lastIndex) commit \(status.commitIndex)")
        }
        if status.snapshotIndex != snapshotIndex { problems.append("snapshot index \(status.snapshotIndex)") }
        if engine.stateHash() != built.engineStateHash || engine.liveOrderCount != built.restingOrders {
            problems.append("restored engine differs from the one snapshotted")
        }
        if report.truncation != nil { problems.append("recovery truncated the log: \(report.truncation!)") }
        if !problems.isEmpty {
            throw ExitCodeError(message: "W5: " + problems.joined(separator: "; "))
        }
        withExtendedLifetime(storage) {}
        let replayed = Replayed(
            coldCache: cold, seconds: Double(end - start) / 1e9, storageOpenSeconds: Double(opened - start) / 1e9,
            raftRestoreSeconds: Double(restored - opened) / 1e9, engineRestoreSeconds: Double(end - restored) / 1e9,
            entries: report.entryCount, bytesRead: report.bytesRead, segments: report.segmentCount,
            cpuSeconds: cpuSeconds, loadAverage: load[0])
        log(
            "  \(fixed(replayed.seconds, decimals: 2)) s: "
                + "\(grouped(Int(replayed.entriesPerSecond.rounded()))) entries/s "
                + "(open \(fixed(replayed.storageOpenSeconds, decimals: 2)) s, "
                + "raft \(fixed(replayed.raftRestoreSeconds, decimals: 2)) s, "
                + "engine \(fixed(replayed.engineRestoreSeconds, decimals: 3)) s; "
                + "CPU \(fixed(cpuSeconds, decimals: 2)) s, "
                + "load \(fixed(load[0], decimals: 1)))")
        return replayed
    }

    /// Builds, then replays twice: first after dropping the page cache when that is possible (root),
    /// in a process whose heap has not yet grown (as in a restart); then again in the same process
    /// (page cache and malloc heap warm: the pages freed by the first replay are reused). `primary`
    /// is the first replay, the figure W5 reports.
    static func run(scratch: String, entries: Int) throws -> (built: Built, primary: Replayed, warm: Replayed?) {
        let built = try build(scratch: scratch, entries: entries)
        let primary = try replay(scratch: scratch, built: built, dropCache: true)
        let repeated = try replay(scratch: scratch, built: built, dropCache: false)
        return (built, primary, repeated)
    }

    /// User plus system CPU time of this process so far, in seconds.
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// The W5 detail figures as extra JSON members (shared by `storage` and `w5`; each adds
    /// `replay_seconds`, `replay_entries_per_s` and `replay_cold_cache` itself).
    static func addDetailJSON(_ result: (built: Built, primary: Replayed, warm: Replayed?), to object: inout JSONObject)
    {
        object.add("replay_entries", result.primary.entries)
        object.add("replay_storage_open_seconds", result.primary.storageOpenSeconds, decimals: 3)
        object.add("replay_raft_restore_seconds", result.primary.raftRestoreSeconds, decimals: 3)
        object.add("replay_engine_restore_seconds", result.primary.engineRestoreSeconds, decimals: 4)
        object.add("replay_bytes_read", result.primary.bytesRead)
        object.add("replay_segments", result.primary.segments)
        object.add("replay_cpu_seconds", result.primary.cpuSeconds, decimals: 3)
        object.add("replay_load_average", result.primary.loadAverage, decimals: 2)
        object.add("replay_snapshot_bytes", result.built.snapshotBytes)
        if let warm = result.warm {
            object.add("replay_repeat_seconds", warm.seconds, decimals: 3)
            object.add("replay_repeat_entries_per_s", warm.entriesPerSecond, decimals: 0)
            object.add("replay_repeat_cpu_seconds", warm.cpuSeconds, decimals: 3)
        }
        object.add("replay_build_seconds", result.built.buildSeconds, decimals: 1)
    }

    /// The W5 figures as table lines (shared by `storage` and `w5`).
    static func tableLines(_ result: (built: Built, primary: Replayed, warm: Replayed?)) -> [(String, String)] {
        let primary = result.primary
        var lines: [(String, String)] = [
            (
                "W5 log",
                "\(grouped(result.built.entries)) entries "
                    + "(\(StorageMeasurements.payloadBytes)-byte payloads, batches of "
                    + "\(batch)), \(grouped(Int(primary.bytesRead))) bytes in \(primary.segments) segments"
            ),
            (
                "W5 snapshot",
                "index \(snapshotIndex): matching engine after \(grouped(engineCommands)) W1a commands, "
                    + "\(grouped(result.built.restingOrders)) resting orders, "
                    + "\(grouped(result.built.snapshotBytes)) bytes"
            ),
            (
                "W5 until it serves",
                "\(fixed(primary.seconds, decimals: 2)) s, \(primary.coldCache ? "cold" : "warm") page cache "
                    + "(open \(fixed(primary.storageOpenSeconds, decimals: 2)) s, raft restore "
                    + "\(fixed(primary.raftRestoreSeconds, decimals: 2)) s, engine restore "
                    + "\(fixed(primary.engineRestoreSeconds, decimals: 3)) s)"
            ),
            (
                "W5 CPU",
                "\(fixed(primary.cpuSeconds, decimals: 2)) s user+system in the timed part "
                    + "(\(grouped(Int((Double(primary.entries) / primary.cpuSeconds).rounded()))) "
                    + "entries per CPU-second); "
                    + "load average \(fixed(primary.loadAverage, decimals: 1)) at the start"
            ),
            (
                "W5 replay rate",
                "\(grouped(Int(primary.entriesPerSecond.rounded()))) entries/s (\(grouped(primary.entries)) replayed)"
            ),
        ]
        if let warm = result.warm {
            lines.append(
                (
                    "W5 again",
                    "\(fixed(warm.seconds, decimals: 2)) s, "
                        + "\(grouped(Int(warm.entriesPerSecond.rounded()))) entries/s, "
                        + "CPU \(fixed(warm.cpuSeconds, decimals: 2)) s (same process: page cache and heap warm)"
                ))
        }
        return lines
    }
}

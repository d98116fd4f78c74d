import Raft
@testable import Simulation
import Storage
import Testing

/// The simulated replicas persist through the real storage (`ReplicaStorage` on a `SimulatedFileSystem`);
/// a restart runs the real recovery and is checked against the oracle disk model.
@Suite("Storage under the simulator")
struct StorageRecoveryTests {
    /// A calm three-voter cluster with a leader and `commands` acknowledged commands.
    func clusterWithCommittedCommands(_ commands: Int, seed: UInt64 = 1) -> (Simulator, NodeID)? {
        var simulator = Simulator.scripted(voters: 3, seed: seed)
        guard let leader = simulator.runUntilLeader() else { return nil }
        var ids: [UInt64] = []
        for _ in 0..<commands {
            ids.append(simulator.propose(on: leader).command)
            simulator.run(ticks: 2)
        }
        _ = simulator.run(ticksMax: 500) { sim in ids.allSatisfy { sim.isAcknowledged($0) } }
        guard ids.allSatisfy({ simulator.isAcknowledged($0) }) else { return nil }
        return (simulator, leader)
    }

    /// Every entry `before` holds is in `after` (same term and content) or covered by its snapshot.
    func holdsEverything(of before: DiskImage, _ after: DiskImage) -> Bool {
        before.entries.allSatisfy { entry in
            if let snapshot = after.snapshot, entry.index <= snapshot.metadata.index { return true }
            return after.entry(at: entry.index) == entry
        }
    }

    /// A crash right after a synced `Ready` (before its messages go out) loses nothing that was synced:
    /// the real recovery returns every synced entry and the hard state.
    @Test(arguments: [UInt64(1), 2, 3, 4])
    func crashAfterSyncedReadyRecoversEverySyncedEntry(seed: UInt64) throws {
        var (simulator, leader) = try #require(clusterWithCommittedCommands(40, seed: seed))
        let follower = simulator.others(than: leader)[0]
        for id in [follower, leader] {
            simulator.scheduleCrash(id, at: .beforeSend)
            simulator.propose(on: leader)
            _ = simulator.run(ticksMax: 100) { $0.state(of: id) == .crashed }
            #expect(simulator.state(of: id) == .crashed)
            let synced = simulator.durableImage(of: id)
            #expect(synced.lastIndex >= 40)
            simulator.restart(id)
            #expect(simulator.state(of: id) == .running)
            let recovered = simulator.durableImage(of: id)
            #expect(holdsEverything(of: synced, recovered), "recovered \(recovered.lastIndex) of \(synced.lastIndex)")
            #expect(recovered.hardState.term == synced.hardState.term)
            #expect(recovered.hardState.vote == synced.hardState.vote)
            #expect(recovered.hardState.commit >= synced.hardState.commit)
        }
        simulator.healAndSettle()
        #expect(simulator.violations.isEmpty, "\(simulator.violations)")
    }

    /// A failed fsync crash-stops the replica at once: the `Ready` it was syncing is not sent, so nothing it
    /// had not made durable is acknowledged, and no follower receives the entry from it.
    @Test func failedFsyncCrashStopsTheReplicaBeforeSending() throws {
        var (simulator, leader) = try #require(clusterWithCommittedCommands(5))
        let lastBefore = simulator.durableImage(of: leader).lastIndex
        simulator.failNextSync(on: leader)
        let (command, result) = simulator.propose(on: leader)
        guard case .accepted(let index, _) = result else {
            Issue.record("proposal refused: \(String(describing: result))")
            return
        }
        #expect(index == lastBefore + 1)
        simulator.run(ticks: 1)
        #expect(simulator.state(of: leader) == .crashed)
        #expect(simulator.faults["fsync-failed-crash-stop"] == 1)
        #expect(!simulator.isAcknowledged(command))
        // Its append was never sent: no follower holds the entry.
        for follower in simulator.others(than: leader) {
            #expect(simulator.durableImage(of: follower).lastIndex < index)
        }
        simulator.run(ticks: 30)
        // The failed sync made nothing durable, and the crash keeps only durable data.
        simulator.restart(leader)
        #expect(simulator.state(of: leader) == .running)
        simulator.healAndSettle()
        #expect(simulator.violations.isEmpty, "\(simulator.violations)")
        #expect(simulator.outstandingCommands == 0)
    }

    /// A bit flip in a durable log record (followed by valid records, so not a torn tail) makes recovery
    /// refuse with a typed `WALError`; the replica stays down for good and the other two carry on.
    @Test(arguments: [UInt64(1), 2, 3, 4, 5, 6])
    func bitFlipInDurableRecordIsRefused(seed: UInt64) throws {
        var (simulator, leader) = try #require(clusterWithCommittedCommands(30, seed: seed))
        let victim = simulator.others(than: leader)[0]
        simulator.crash(victim)
        let flip = simulator.flipBitInDurableRecord(of: victim)
        let flipped = try #require(flip)
        simulator.restart(victim)
        #expect(simulator.state(of: victim) == .failed)
        let refusal = try #require(simulator.recoveryRefusal(of: victim))
        #expect(refusal.code != .storage, "\(refusal)")
        if refusal.code == .corruptRecord {
            #expect(refusal.path == flipped.path)
        }
        #expect(simulator.faults["bit-flip-refused"] == 1)
        #expect(simulator.violations.isEmpty, "\(simulator.violations)")
        // The remaining majority still commits.
        let command = simulator.propose(on: leader).command
        _ = simulator.run(ticksMax: 300) { $0.isAcknowledged(command) }
        #expect(simulator.isAcknowledged(command))
        #expect(simulator.violations.isEmpty, "\(simulator.violations)")
    }

    /// A full disk crash-stops a replica when its log needs a new segment; once the disk is freed it
    /// restarts from what it had made durable and catches up.
    @Test func fullDiskCrashStopsAndTheReplicaRecovers() throws {
        var (simulator, leader) = try #require(clusterWithCommittedCommands(5))
        let follower = simulator.others(than: leader)[0]
        simulator.fillDisk(follower, slackBytes: 0, ticks: 1_000_000)
        for _ in 0..<400 where simulator.state(of: follower) == .running {
            simulator.propose(on: leader)
            simulator.run(ticks: 1)
        }
        #expect(simulator.state(of: follower) == .crashed)
        #expect(simulator.faults["disk-full-crash-stop"] == 1)
        simulator.liftDiskFull(follower)
        simulator.healAndSettle()
        #expect(simulator.violations.isEmpty, "\(simulator.violations)")
        #expect(simulator.state(of: follower) == .running)
    }

    // MARK: - The recovery checker itself can fail

    static let entries = (1...6).map { Entry(term: $0 < 4 ? 1 : 2, index: UInt64($0), data: [UInt8($0)]) }

    /// Oracle: entries 1...4 and hard state synced, then entries 5...6 and a new hard state unsynced.
    func oracle() -> SimulatedDisk {
        var disk = SimulatedDisk()
        disk.write(.entries(Array(Self.entries[0..<4])))
        disk.write(.hardState(HardState(term: 2, vote: 1, commit: 3)))
        disk.sync()
        disk.write(.entries(Array(Self.entries[4..<6])))
        disk.write(.hardState(HardState(term: 2, vote: 1, commit: 5)))
        return disk
    }

    @Test func recoveryCheckerAcceptsDurablePlusAPrefixOfUnsyncedWrites() {
        let disk = oracle()
        let durable = RaftPersistentState(
            hardState: HardState(term: 2, vote: 1, commit: 3), entries: Array(Self.entries[0..<4]))
        let verdict = Simulator.verifyRecovery(oracle: disk, recovered: durable, applied: nil)
        #expect(verdict.violation == nil)
        #expect(verdict.lostRecords == 2)
        let everything = RaftPersistentState(hardState: HardState(term: 2, vote: 1, commit: 5), entries: Self.entries)
        #expect(Simulator.verifyRecovery(oracle: disk, recovered: everything, applied: nil).violation == nil)
        // An unsynced write that replaced a durable (uncommitted) suffix and survived the crash.
        var overwriting = SimulatedDisk(image: disk.durable)
        let replacement = Entry(term: 3, index: 4, data: [44])
        overwriting.write(.entries([replacement]))
        overwriting.write(.hardState(HardState(term: 3, vote: 2, commit: 3)))
        let replaced = RaftPersistentState(
            hardState: HardState(term: 3, vote: 2, commit: 3), entries: Array(Self.entries[0..<3]) + [replacement])
        #expect(Simulator.verifyRecovery(oracle: overwriting, recovered: replaced, applied: nil).violation == nil)
    }

    @Test func recoveryCheckerCatchesLostAndResurrectedData() {
        let disk = oracle()
        // A synced entry lost.
        let short = RaftPersistentState(
            hardState: HardState(term: 2, vote: 1, commit: 3), entries: Array(Self.entries[0..<3]))
        #expect(Simulator.verifyRecovery(oracle: disk, recovered: short, applied: nil).violation?.0 == .recoveryLostData)
        // The term (and so the vote) lost.
        let forgotTerm = RaftPersistentState(hardState: HardState(), entries: Array(Self.entries[0..<4]))
        #expect(
            Simulator.verifyRecovery(oracle: disk, recovered: forgotTerm, applied: nil).violation?.0
                == .recoveryLostData)
        // An entry nobody wrote.
        let invented = RaftPersistentState(
            hardState: HardState(term: 2, vote: 1, commit: 3),
            entries: Array(Self.entries[0..<4]) + [Entry(term: 2, index: 5, data: [99])])
        #expect(
            Simulator.verifyRecovery(oracle: disk, recovered: invented, applied: nil).violation?.0
                == .recoveryResurrected)
        // Every entry was written, but with a vote nobody cast: no prefix of the writes gives that.
        let otherVote = RaftPersistentState(hardState: HardState(term: 2, vote: 3, commit: 5), entries: Self.entries)
        #expect(Simulator.verifyRecovery(oracle: disk, recovered: otherVote, applied: nil).violation != nil)
    }
}

/// Makes every `Int.random(in: 0...n, using:)` draw 0 (Lemire's method: 1 × n has a high word of 0 and is
/// never rejected), so `SimulatedFileSystem.crash` keeps no unsynced operation and tears nothing. (A constant
/// 0 would be rejected forever.)
struct KeepNothingRandom: RandomNumberGenerator {
    mutating func next() -> UInt64 { 1 }
}

/// Probes of the real storage found with the simulator's help.
@Suite("Storage probes")
struct StorageProbeTests {
    /// Rotation syncs the old segment and creates the next one durably; if a crash then loses the first
    /// batch written into the new segment, recovery finds the newest hard state only in the old segment.
    /// Compacting the old segment away must not lose that hard state (term and vote).
    @Test func compactionAfterAnEmptyNewSegmentKeepsTheHardState() throws {
        let fileSystem = SimulatedFileSystem()
        let options = WriteAheadLogOptions(groupID: 1, segmentBytes: 4096)
        var storage: ReplicaStorage? = try ReplicaStorage.open(
            fileSystem: fileSystem, directory: "/r", options: options).storage
        var index: UInt64 = 0
        // Synced batches until one rotates into segment 2 (that one stays unsynced).
        while storage!.log.segmentCount == 1 {
            index += 1
            try storage!.log.append(
                entries: [Entry(term: 7, index: index, data: [UInt8](repeating: 1, count: 200))],
                hardState: HardState(term: 7, vote: 2, commit: index))
            if storage!.log.segmentCount == 1 { try storage!.sync() }
        }
        let synced = index - 1
        storage = nil
        var keepNothing = KeepNothingRandom()
        fileSystem.crash(random: &keepNothing)
        // Recovery: segment 1 holds everything, segment 2 only its header.
        let reopened = try ReplicaStorage.open(fileSystem: fileSystem, directory: "/r", options: options)
        #expect(reopened.state.hardState == HardState(term: 7, vote: 2, commit: synced))
        #expect(reopened.state.entries.last?.index == synced)
        #expect(reopened.storage.log.segmentCount == 2)
        // The application snapshots everything it applied; segment 1 is covered and deleted.
        let snapshot = Snapshot(
            metadata: SnapshotMetadata(index: synced, term: 7, membership: Membership(voters: [1, 2, 3])),
            data: [1, 2, 3])
        try reopened.storage.saveSnapshot(snapshot)
        #expect(reopened.storage.log.segmentCount == 1)
        storage = reopened.storage
        storage = nil
        fileSystem.crash(random: &keepNothing)
        let again = try ReplicaStorage.open(fileSystem: fileSystem, directory: "/r", options: options)
        // The term and vote were durable: they must survive the compaction.
        #expect(again.state.hardState.term == 7, "recovered \(again.state.hardState) after compaction")
        #expect(again.state.hardState.vote == 2)
        #expect((again.state.entries.last?.index ?? again.state.snapshot?.metadata.index ?? 0) == synced)
    }
}

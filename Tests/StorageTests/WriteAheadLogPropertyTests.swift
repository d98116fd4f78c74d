import Raft
import Testing

@testable import Storage

/// Random append / overwrite / sync / crash / restart / snapshot sequences on the simulated file
/// system. After every crash the recovered log must be exactly one of the states the log passed
/// through since its last successful sync: nothing synced is lost (unless a later write that survived
/// replaced it, as Raft may for uncommitted entries), nothing truncated comes back, batches are whole.
@Suite struct WriteAheadLogPropertyTests {
    struct ModelState: Equatable {
        /// The whole log from index 1 (entries a snapshot compacted are still listed here).
        var log: [Entry]
        var hardState: HardState
    }

    @Test func recoveryAlwaysReturnsAStateTheLogPassedThrough() throws {
        let seed = testSeed("recoveryAlwaysReturnsAStateTheLogPassedThrough")
        var random = SeededGenerator(seed: seed)
        var crashes = 0
        var truncations = 0
        var snapshots = 0
        var rotations = 0
        var installs = 0
        var failedSyncs = 0
        var fullDisks = 0
        for round in 0..<60 {
            let fileSystem = SimulatedFileSystem()
            let segmentBytes = UInt64([4096, 8192, 65536].randomElement(using: &random)!)
            let options = WriteAheadLogOptions(groupID: 3, segmentBytes: segmentBytes)
            var storage: ReplicaStorage? = try ReplicaStorage.open(
                fileSystem: fileSystem, directory: "/r", options: options
            ).storage
            // states[0] is durable; each later one is the result of one more unsynced write.
            var states = [ModelState(log: [], hardState: HardState())]
            var snapshotIndex: UInt64 = 0
            var term: UInt64 = 1
            for step in 0..<150 {
                let context = "seed \(seed) round \(round) step \(step)"
                let current = states[states.count - 1]
                switch Int.random(in: 0..<100, using: &random) {
                case 0..<55:
                    // Append, sometimes replacing uncommitted entries with a newer term.
                    let last = UInt64(current.log.count)
                    let commit = current.hardState.commit
                    var start = last + 1
                    if last > commit, Int.random(in: 0..<4, using: &random) == 0 {
                        start = UInt64.random(in: (commit + 1)...last, using: &random)
                        term += 1
                    }
                    let count = UInt64.random(in: 0...6, using: &random)
                    let batch = (0..<count).map { offset -> Entry in
                        let index = start + offset
                        let size = Int.random(in: 0...300, using: &random)
                        return Entry(
                            term: term, index: index, kind: .normal,
                            data: (0..<size).map { UInt8(truncatingIfNeeded: Int(index) &+ Int(term) &* 3 &+ $0) })
                    }
                    var log = count > 0 ? Array(current.log.prefix(Int(start - 1))) + batch : current.log
                    if count == 0 { log = current.log }
                    let newCommit = UInt64.random(in: commit...UInt64(log.count), using: &random)
                    let hardState = HardState(term: term, vote: 1, commit: newCommit)
                    try storage!.write(Ready(hardState: hardState, entries: batch))
                    states.append(ModelState(log: log, hardState: hardState))
                case 55..<75:
                    try storage!.sync()
                    states = [current]
                case 75..<78:
                    // A snapshot from the leader replaces the log (Raft installs one only beyond its commit).
                    let index = current.hardState.commit + UInt64.random(in: 1...10, using: &random)
                    term += 1
                    let placeholders = (1...index).map { position in
                        Entry(term: position == index ? term : 0, index: position, kind: .normal, data: [])
                    }
                    let snapshot = Snapshot(
                        metadata: SnapshotMetadata(index: index, term: term, membership: Membership(voters: [1, 2])),
                        data: Array("leader state \(index)".utf8))
                    let hardState = HardState(term: term, vote: 0, commit: index)
                    try storage!.write(Ready(hardState: hardState, snapshot: snapshot))
                    // The snapshot and the log reset are durable at once (with every batch before them).
                    var reset = current.hardState
                    reset.commit = max(reset.commit, index)
                    states = [
                        ModelState(log: placeholders, hardState: reset),
                        ModelState(log: placeholders, hardState: hardState),
                    ]
                    snapshotIndex = index
                    installs += 1
                case 78..<80:
                    // A failed fsync: the log refuses to go on; the replica crash-stops and recovers.
                    guard storage!.log.needsSync else { continue }
                    fileSystem.failNextSync()
                    #expect(throws: WALError.self, "\(context)") { try storage!.sync() }
                    #expect(throws: WALError.self, "\(context)") { try storage!.sync() }
                    storage = nil
                    fileSystem.crash(random: &random)
                    failedSyncs += 1
                    let (reopened, state, _) = try ReplicaStorage.open(
                        fileSystem: fileSystem, directory: "/r", options: options)
                    guard let matched = states.first(where: { Self.matches(state, $0) }) else {
                        Issue.record("\(context): after a failed sync, recovered \(Self.describe(state))")
                        return
                    }
                    states = [matched]
                    storage = reopened
                case 80..<82:
                    // The disk fills up: a write that needs space fails, typed, and changes nothing.
                    fileSystem.capacityBytes = 0
                    let before = storage!.log.lastIndex
                    do {
                        let entry = Entry(
                            term: term, index: before + 1, kind: .normal,
                            data: [UInt8](repeating: 7, count: Int(segmentBytes)))
                        try storage!.write(
                            Ready(hardState: HardState(term: term, vote: 1, commit: current.hardState.commit),
                                  entries: [entry]))
                        Issue.record("\(context): a write beyond a full disk succeeded")
                    } catch {
                        #expect(error.storageError?.code == .noSpace, "\(context): \(error)")
                        fullDisks += 1
                    }
                    #expect(storage!.log.lastIndex == before)
                    fileSystem.capacityBytes = nil
                case 82..<85:
                    // A local snapshot at an index the durable state committed.
                    let durable = states[0]
                    guard durable.hardState.commit > snapshotIndex else { continue }
                    let index = UInt64.random(in: (snapshotIndex + 1)...durable.hardState.commit, using: &random)
                    let entry = durable.log[Int(index - 1)]
                    let before = storage!.log.segmentCount
                    try storage!.saveSnapshot(
                        Snapshot(
                            metadata: SnapshotMetadata(index: index, term: entry.term, membership: Membership(voters: [1])),
                            data: Array("state through \(index)".utf8)))
                    snapshotIndex = index
                    snapshots += 1
                    if storage!.log.segmentCount < before { rotations += 1 }
                case 85..<95:
                    // Power loss.
                    storage = nil
                    fileSystem.crash(random: &random)
                    crashes += 1
                    let (reopened, state, report) = try ReplicaStorage.open(
                        fileSystem: fileSystem, directory: "/r", options: options)
                    if report.truncation != nil { truncations += 1 }
                    let matched = states.first { Self.matches(state, $0) }
                    #expect(matched != nil, "\(context): recovered \(Self.describe(state)) is none of \(states.count) states")
                    guard let matched else { return }
                    #expect(state.snapshot?.metadata.index ?? 0 == snapshotIndex, "\(context)")
                    states = [matched]
                    storage = reopened
                default:
                    // Clean restart: everything written is visible (the page cache survived).
                    storage = nil
                    let (reopened, state, _) = try ReplicaStorage.open(
                        fileSystem: fileSystem, directory: "/r", options: options)
                    #expect(Self.matches(state, current), "\(context): clean restart lost writes")
                    storage = reopened
                }
            }
        }
        print(
            "WAL property: \(crashes) crashes, \(truncations) tail truncations, \(snapshots) snapshots, "
                + "\(installs) installed snapshots, \(failedSyncs) failed syncs, \(fullDisks) full disks")
        #expect(crashes > 100 && truncations > 5 && snapshots > 20 && installs > 20 && failedSyncs > 20 && fullDisks > 20)
    }

    static func matches(_ recovered: RaftPersistentState, _ model: ModelState) -> Bool {
        guard recovered.hardState == model.hardState else { return false }
        let snapshotIndex = recovered.snapshot?.metadata.index ?? 0
        if let snapshot = recovered.snapshot {
            guard model.log.count >= Int(snapshotIndex), model.log[Int(snapshotIndex) - 1].term == snapshot.metadata.term
            else { return false }
        }
        return Array(model.log.dropFirst(Int(snapshotIndex))) == recovered.entries
    }

    static func describe(_ state: RaftPersistentState) -> String {
        "snapshot \(state.snapshot?.metadata.index ?? 0), entries \(state.entries.first?.index ?? 0)..."
            + "\(state.entries.last?.index ?? 0) terms \(state.entries.map(\.term)), \(state.hardState)"
    }
}

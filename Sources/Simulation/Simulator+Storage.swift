public import Raft
public import Storage

/// The replicas' real storage: `ReplicaStorage` (write-ahead log and snapshots) and the application's
/// applied-state store, on one `SimulatedFileSystem` per replica. A restart runs the real recovery and
/// checks it against the oracle disk model (`SimulatedDisk`); storage faults crash-stop a replica.
extension Simulator {
    /// Small segments, so that a run rotates segments and compaction deletes files.
    static let walOptions = WriteAheadLogOptions(groupID: 1, segmentBytes: 8192)

    // MARK: - Recovery

    /// Opens the replica's storage (the real recovery), checks what it found against the oracle, and
    /// returns the recovered state and applied state. Nil when the replica cannot start: it stays
    /// `.crashed` (a full disk: retried later) or becomes `.failed` (storage refused its data).
    mutating func recover(_ position: Int) -> (state: RaftPersistentState, applied: Snapshot?)? {
        let id = replicas[position].id
        let fileSystem = replicas[position].fileSystem
        let opened: (storage: ReplicaStorage, state: RaftPersistentState, report: RecoveryReport)
        let applied: Snapshot?
        let appliedStore = SnapshotStore(fileSystem: fileSystem, directory: replicas[position].appliedDirectory)
        do throws(WALError) {
            opened = try ReplicaStorage.open(
                fileSystem: fileSystem, directory: replicas[position].directory, options: Self.walOptions)
            do {
                try fileSystem.createDirectory(replicas[position].appliedDirectory)
            } catch {
                throw WALError(.storage, error.message, path: error.path, storageError: error)
            }
            applied = try appliedStore.loadLatest()
            try appliedStore.removeLeftovers()
        } catch {
            refuseStart(position, error)
            return nil
        }
        if let corruption = replicas[position].injectedCorruption {
            checker.fail(
                .recoveryAcceptedCorruption, id,
                "storage opened despite \(corruption): \(opened.report)")
        }
        let verdict = Self.verifyRecovery(oracle: replicas[position].disk, recovered: opened.state, applied: applied)
        if let (kind, detail) = verdict.violation {
            checker.fail(kind, id, detail + "; recovery: \(opened.report)")
        }
        if verdict.lostRecords > 0 { faults["lost-unsynced-write", default: 0] += verdict.lostRecords }
        let torn = opened.report.truncation != nil
        if torn { countFault("torn-write") }
        trace.record(
            25, id, opened.report.lastIndex, opened.state.hardState.term, opened.state.hardState.commit,
            opened.report.snapshotIndex ?? 0, UInt64(verdict.lostRecords), torn ? 1 : 0)
        note("recover \(id): \(opened.report); lost \(verdict.lostRecords) unsynced records")
        replicas[position].storage = opened.storage
        replicas[position].appliedStore = appliedStore
        replicas[position].disk = SimulatedDisk(
            image: DiskImage(
                hardState: opened.state.hardState, snapshot: opened.state.snapshot, entries: opened.state.entries,
                applicationState: applied.map { ($0.metadata.index, $0.data) }))
        return (opened.state, applied)
    }

    /// Storage refused to open. Typed refusals of damaged data are correct when damage was injected.
    mutating func refuseStart(_ position: Int, _ error: WALError) {
        let id = replicas[position].id
        note("restart \(id) refused: \(error)")
        if error.code == .storage, error.storageError?.code == .noSpace, replicas[position].diskFullUntil != nil {
            // The disk is full: stay down until the fault is lifted and a later restart succeeds.
            countFault("restart-refused-disk-full")
            replicas[position].state = .crashed
            trace.record(26, id, 0)
            return
        }
        replicas[position].state = .failed
        replicas[position].recoveryRefusal = error
        trace.record(26, id, 1)
        if replicas[position].injectedCorruption != nil, error.code != .storage {
            countFault("bit-flip-refused")
        } else {
            checker.fail(.recoveryRefused, id, "storage refused to open undamaged data: \(error)")
        }
    }

    /// What a restart found compared with the oracle.
    struct RecoveryVerdict {
        var violation: (Violation.Kind, String)?
        /// Unsynced records the crash lost (of the best-matching image).
        var lostRecords = 0
    }

    /// Checks the real recovery against the oracle: the recovered log and hard state must equal the
    /// oracle's durable image plus some prefix of its unsynced writes (what a crash may keep; a torn
    /// batch is cut off whole), the recovered snapshot must be one that was written and at least the
    /// durable one, and the recovered applied state at least the durable one and one that was written.
    static func verifyRecovery(
        oracle: SimulatedDisk, recovered: RaftPersistentState, applied: Snapshot?
    ) -> RecoveryVerdict {
        var verdict = RecoveryVerdict()
        let durable = oracle.durable
        var image = durable
        var matched: Int?
        if logMatches(image, recovered) { matched = 0 }
        var writtenSnapshots: Set<SnapshotMetadata> = []
        if let snapshot = durable.snapshot { writtenSnapshots.insert(snapshot.metadata) }
        var appliedWritten = false
        if let applied, let durableApplied = durable.applicationState,
            durableApplied.index == applied.metadata.index, durableApplied.data == applied.data
        {
            appliedWritten = true
        }
        for (position, record) in oracle.unsynced.enumerated() {
            image.apply(record)
            switch record {
            case .snapshot(let snapshot), .compact(let snapshot): writtenSnapshots.insert(snapshot.metadata)
            case .applicationState(let index, let data):
                if let applied, index == applied.metadata.index, data == applied.data { appliedWritten = true }
            case .entries, .hardState: break
            }
            if logMatches(image, recovered) { matched = position + 1 }
        }
        let recoveredSnapshot = recovered.snapshot?.metadata
        let summary = "recovered \(describe(recovered)); oracle durable \(describe(durable)), written "
            + "\(describe(oracle.current)), \(oracle.unsynced.count) unsynced records"
        if let matched {
            verdict.lostRecords = oracle.unsynced.count - matched
        } else {
            verdict.violation = (lostDurableData(durable, recovered) ? .recoveryLostData : .recoveryResurrected, summary)
            return verdict
        }
        if let recoveredSnapshot, !writtenSnapshots.contains(recoveredSnapshot) {
            verdict.violation = (.recoveryResurrected, "snapshot \(recoveredSnapshot) was never written; " + summary)
            return verdict
        }
        if let durableApplied = durable.applicationState, (applied?.metadata.index ?? 0) < durableApplied.index {
            verdict.violation = (
                .recoveryLostData,
                "applied state at \(applied?.metadata.index ?? 0), durable at \(durableApplied.index); " + summary
            )
        } else if let applied, !appliedWritten {
            verdict.violation = (
                .recoveryResurrected, "applied state at \(applied.metadata.index) was never written; " + summary
            )
        } else if let applied, applied.metadata.index > recovered.hardState.commit,
            applied.metadata.index > (recoveredSnapshot?.index ?? 0)
        {
            verdict.violation = (
                .recoveryLostData,
                "applied state at \(applied.metadata.index) beyond the recovered commit "
                    + "\(recovered.hardState.commit): the commit that allowed applying it was lost; " + summary
            )
        }
        return verdict
    }

    /// Whether `recovered` is exactly `image` (as far as the log and hard state go). The recovered
    /// snapshot may be newer than the image's (snapshots are durable when saved, the oracle's only at
    /// its next sync); entries are compared after the newer of the two snapshots, and the commit may
    /// have been raised to the recovered snapshot's index (a snapshot reset raises it).
    static func logMatches(_ image: DiskImage, _ recovered: RaftPersistentState) -> Bool {
        let state = recovered.hardState
        let expected = image.hardState
        guard state.term == expected.term, state.vote == expected.vote, state.commit >= expected.commit else {
            return false
        }
        let recoveredSnapshotIndex = recovered.snapshot?.metadata.index ?? 0
        let imageSnapshotIndex = image.snapshot?.metadata.index ?? 0
        guard recoveredSnapshotIndex >= imageSnapshotIndex else { return false }
        if recoveredSnapshotIndex == imageSnapshotIndex, recovered.snapshot?.metadata != image.snapshot?.metadata {
            return false
        }
        if state.commit > expected.commit, state.commit > recoveredSnapshotIndex { return false }
        let recoveredLast = recovered.entries.last?.index ?? recoveredSnapshotIndex
        let imageLast = max(image.lastIndex, recoveredSnapshotIndex)
        guard recoveredLast == imageLast else { return false }
        guard recoveredLast > recoveredSnapshotIndex else { return true }
        for index in (recoveredSnapshotIndex + 1)...recoveredLast {
            guard recovered.entries[Int(index - recoveredSnapshotIndex - 1)] == image.entry(at: index) else {
                return false
            }
        }
        return true
    }

    /// Whether `recovered` lacks something the durable image holds (as opposed to holding something
    /// never written): a lower term, another vote in the same term, a lower commit, an older snapshot,
    /// or a shorter log.
    static func lostDurableData(_ durable: DiskImage, _ recovered: RaftPersistentState) -> Bool {
        let state = recovered.hardState
        let expected = durable.hardState
        if state.term < expected.term || state.commit < expected.commit { return true }
        if state.term == expected.term, expected.vote != 0, state.vote != expected.vote { return true }
        let recoveredSnapshotIndex = recovered.snapshot?.metadata.index ?? 0
        if recoveredSnapshotIndex < (durable.snapshot?.metadata.index ?? 0) { return true }
        return (recovered.entries.last?.index ?? recoveredSnapshotIndex) < durable.lastIndex
    }

    static func describe(_ image: DiskImage) -> String {
        "t\(image.hardState.term)/v\(image.hardState.vote)/c\(image.hardState.commit) "
            + "snap\(image.snapshot.map { "\($0.metadata.index)@\($0.metadata.term)" } ?? "-") "
            + "last\(image.lastIndex)@\(image.term(at: image.lastIndex).map(String.init) ?? "-")"
    }

    static func describe(_ state: RaftPersistentState) -> String {
        let snapshotIndex = state.snapshot?.metadata.index ?? 0
        return "t\(state.hardState.term)/v\(state.hardState.vote)/c\(state.hardState.commit) "
            + "snap\(state.snapshot.map { "\($0.metadata.index)@\($0.metadata.term)" } ?? "-") "
            + "last\(state.entries.last?.index ?? snapshotIndex)@\(state.entries.last?.term ?? 0)"
    }

    // MARK: - Failures while running

    /// A storage call failed: the replica crash-stops at once (after a failed fsync nothing written since
    /// the last good sync may be assumed durable, as PostgreSQL decided; a full disk stops it too). Its
    /// current `Ready`'s messages are never sent. Storage errors nobody injected are violations.
    mutating func crashStop(_ position: Int, after error: WALError) {
        let id = replicas[position].id
        let cause = error.storageError?.code
        if cause == .syncFailed || error.code == .failedEarlier, replicas[position].syncFailureInjected {
            countFault("fsync-failed-crash-stop")
        } else if cause == .noSpace, replicas[position].diskFullUntil != nil {
            countFault("disk-full-crash-stop")
        } else {
            checker.fail(.storageError, id, "storage failed without an injected fault: \(error)")
        }
        trace.record(27, id)
        note("crash-stop \(id) after \(error)")
        crash(id)
    }

    // MARK: - Storage faults

    /// Fails the replica's next fsync (EIO) if its current `Ready` has something to sync.
    mutating func injectSyncFailure(_ position: Int) {
        let id = replicas[position].id
        replicas[position].fileSystem.failNextSync()
        replicas[position].syncFailureInjected = true
        countFault("fsync-failed")
        trace.record(28, id)
        note("fsync of \(id) will fail")
    }

    /// Makes `id`'s next fsync fail (scenarios): it crash-stops when its log next syncs.
    public mutating func failNextSync(on id: NodeID) {
        injectSyncFailure(index(of: id))
    }

    /// Bytes the replica's files hold now.
    func diskUsageBytes(_ position: Int) -> Int {
        let fileSystem = replicas[position].fileSystem
        let root = replicas[position].directory
        var total = 0
        for directory in [root, root + "/wal", root + "/snapshots", replicas[position].appliedDirectory] {
            for name in (try? fileSystem.listDirectory(directory)) ?? [] {
                guard let handle = try? fileSystem.open(directory + "/" + name, mode: .existing) else { continue }
                total += Int((try? fileSystem.size(handle)) ?? 0)
                fileSystem.close(handle)
            }
        }
        return total
    }

    /// Fills `id`'s disk: its capacity becomes its usage plus `slackBytes` until `ticks` from now.
    public mutating func fillDisk(_ id: NodeID, slackBytes: Int, ticks: Int) {
        let position = index(of: id)
        let capacity = diskUsageBytes(position) + slackBytes
        let fileSystem = replicas[position].fileSystem
        fileSystem.capacityBytes = capacity
        replicas[position].diskFullUntil = now + UInt64(ticks)
        countFault("disk-full")
        trace.record(29, id, UInt64(capacity), UInt64(ticks))
        note("disk of \(id) full at \(capacity) bytes for \(ticks) ticks")
    }

    /// Frees `id`'s disk.
    public mutating func liftDiskFull(_ id: NodeID) {
        let position = index(of: id)
        guard replicas[position].diskFullUntil != nil else { return }
        let fileSystem = replicas[position].fileSystem
        fileSystem.capacityBytes = nil
        replicas[position].diskFullUntil = nil
        trace.record(30, id)
        note("disk of \(id) freed")
    }

    /// Flips one bit of a durable write-ahead-log record of crashed replica `id` that is followed by
    /// another durable record (so that it cannot pass for a torn tail): a latent media error. Its
    /// restart must then refuse with a typed `WALError`. Returns the path and byte offset flipped, or
    /// nil when the replica is not crashed or holds fewer than two records.
    @discardableResult
    public mutating func flipBitInDurableRecord(of id: NodeID) -> (path: String, offset: Int)? {
        let position = index(of: id)
        guard replicas[position].state == .crashed else { return nil }
        let fileSystem = replicas[position].fileSystem
        let walDirectory = replicas[position].directory + "/wal"
        let names = ((try? fileSystem.listDirectory(walDirectory)) ?? []).filter {
            SegmentHeader.sequence(fromFileName: $0) != nil
        }
        var records: [(path: String, start: Int, count: Int)] = []
        for name in names {
            let path = walDirectory + "/" + name
            guard let bytes = fileSystem.durableContents(of: path) else { continue }
            var offset = SegmentHeader.byteCount
            while offset < bytes.count, bytes[offset] != 0,
                let (_, next) = try? LogRecord.decode(bytes, at: offset)
            {
                records.append((path, offset, next - offset))
                offset = next
            }
        }
        // The last record could be mistaken for a torn write, which recovery rightly cuts off.
        guard records.count >= 2 else { return nil }
        let record = records[random.below(records.count - 1)]
        let offset = record.start + random.below(record.count)
        let bit = random.below(8)
        fileSystem.flipBit(path: record.path, byteOffset: offset, bit: bit)
        replicas[position].injectedCorruption = "a bit flip in \(record.path) at byte \(offset)"
        countFault("bit-flip")
        trace.record(31, id, UInt64(offset), UInt64(bit))
        note("flip bit \(bit) of \(record.path) at \(offset) on \(id)")
        return (record.path, offset)
    }

    /// Why `id`'s storage refused to open, if it did.
    public func recoveryRefusal(of id: NodeID) -> WALError? { replicas[index(of: id)].recoveryRefusal }
}

public import Raft

/// What one replica has on its disk: a snapshot, the log after it, and the hard state.
public struct DiskImage: Sendable {
    public var hardState = HardState()
    public var snapshot: Snapshot?
    /// Entries after the snapshot, contiguous.
    public var entries: [Entry] = []
    /// The application's own durable state: its state machine at `applicationState.index`.
    public var applicationState: (index: UInt64, data: [UInt8])?

    public init() {}

    /// The image of what a replica's storage recovered (the oracle restarts from reality).
    public init(
        hardState: HardState, snapshot: Snapshot?, entries: [Entry], applicationState: (index: UInt64, data: [UInt8])?
    ) {
        self.hardState = hardState
        self.snapshot = snapshot
        self.entries = entries
        self.applicationState = applicationState
    }

    public var firstIndex: UInt64 { (snapshot?.metadata.index ?? 0) + 1 }
    public var lastIndex: UInt64 { entries.last?.index ?? (snapshot?.metadata.index ?? 0) }

    /// The term of the entry at `index`, if this image knows it (the snapshot's own index included).
    public func term(at index: UInt64) -> UInt64? {
        if let snapshot, index == snapshot.metadata.index { return snapshot.metadata.term }
        if index == 0 { return 0 }
        guard let first = entries.first, index >= first.index, index <= lastIndex else { return nil }
        return entries[Int(index - first.index)].term
    }

    public func entry(at index: UInt64) -> Entry? {
        guard let first = entries.first, index >= first.index, index <= lastIndex else { return nil }
        return entries[Int(index - first.index)]
    }

    /// Whether the image holds (or has compacted into its snapshot) the entry `(index, term)`.
    /// Compacted entries count: a snapshot only covers committed entries.
    public func covers(index: UInt64, term: UInt64) -> Bool {
        if let snapshot, index < snapshot.metadata.index { return true }
        return self.term(at: index) == term
    }

    public mutating func apply(_ record: DiskRecord) {
        switch record {
        case .hardState(let state):
            hardState = state
        case .entries(let written):
            let snapshotIndex = snapshot?.metadata.index ?? 0
            let batch = written.first.map { $0.index > snapshotIndex } == true
                ? written : written.filter { $0.index > snapshotIndex }
            guard let first = batch.first else { return }
            let keepCount = Int(first.index - (snapshotIndex + 1))
            precondition(keepCount <= entries.count, "a write must not leave a gap in the log")
            entries.removeSubrange(keepCount..<entries.count)
            entries.append(contentsOf: batch)
        case .snapshot(let stored):
            let index = stored.metadata.index
            if let term = term(at: index), term == stored.metadata.term, index <= lastIndex {
                // The log already holds the snapshot's entry: keep the entries after it.
                entries.removeAll { $0.index <= index }
            } else {
                entries = []
            }
            snapshot = stored
        case .applicationState(let index, let data):
            applicationState = (index, data)
        case .compact(let stored):
            // The application took a snapshot of entries it applied: drop the log up to it.
            guard stored.metadata.index > (snapshot?.metadata.index ?? 0) else { return }
            entries.removeAll { $0.index <= stored.metadata.index }
            snapshot = stored
        }
    }
}

/// One write to the disk.
public enum DiskRecord: Sendable {
    case hardState(HardState)
    /// Entries starting at `entries[0].index`; anything after that index is overwritten.
    case entries([Entry])
    /// A snapshot received from the leader replaces the state machine and the log before it.
    case snapshot(Snapshot)
    /// A snapshot this replica took of its own state machine; the log before it is compacted.
    case compact(Snapshot)
    /// The application's state machine and the index it has applied through (the applied index).
    case applicationState(index: UInt64, data: [UInt8])
}

/// The oracle model of a disk with a page cache: writes land in `current` at once, and become durable
/// only on `sync`. The simulator keeps one per replica next to the real storage (`ReplicaStorage` on a
/// `SimulatedFileSystem`), fed the same writes and syncs; the checkers read it, and a restart checks that
/// the real recovery found one of the images this model allows (`durable` plus a prefix of `unsynced`).
/// `crash` is the model's own idea of a crash (kept for tests; the simulator's crashes are decided by
/// the file system).
/// A crash keeps the durable image plus a random prefix of the unsynced writes (the kernel may have
/// flushed some), and the last of those may be torn: a torn entry batch keeps a prefix of its
/// entries (each entry is its own checksummed record), any other torn record is dropped whole.
public struct SimulatedDisk: Sendable {
    public private(set) var durable = DiskImage()
    public private(set) var current = DiskImage()
    public private(set) var unsynced: [DiskRecord] = []
    public private(set) var writes = 0
    public private(set) var syncs = 0

    public init(image: DiskImage = DiskImage()) {
        durable = image
        current = image
    }

    public mutating func write(_ record: DiskRecord) {
        writes += 1
        unsynced.append(record)
        current.apply(record)
    }

    public mutating func sync() {
        guard !unsynced.isEmpty else { return }
        syncs += 1
        for record in unsynced { durable.apply(record) }
        unsynced.removeAll()
    }

    /// What survives a crash. Returns how many unsynced records were lost and whether one was torn.
    public mutating func crash(random: inout SimulationRandom, keepUnsyncedProbability: Double, tearProbability: Double)
        -> (lost: Int, torn: Bool)
    {
        var kept = 0
        if !unsynced.isEmpty, random.chance(keepUnsyncedProbability) {
            kept = random.inRange(0...unsynced.count)
        }
        var torn = false
        for position in 0..<kept {
            var record = unsynced[position]
            if position == kept - 1, random.chance(tearProbability) {
                torn = true
                if case .entries(let batch) = record, batch.count > 1 {
                    record = .entries(Array(batch.prefix(random.below(batch.count))))
                } else {
                    break
                }
            }
            durable.apply(record)
        }
        let lost = unsynced.count - kept
        unsynced.removeAll()
        current = durable
        return (lost, torn)
    }
}

/// The in-memory log: a snapshot point followed by contiguous entries, with how far it is persisted.
struct RaftLog: Sendable {
    private(set) var snapshotIndex: UInt64
    private(set) var snapshotTerm: UInt64
    /// `entries[i].index == snapshotIndex + 1 + i`.
    private(set) var entries: [Entry]
    /// Everything up to here is durable (handed out in a `Ready` that was advanced).
    var stableIndex: UInt64
    var committed: UInt64
    var applied: UInt64

    init(snapshotIndex: UInt64, snapshotTerm: UInt64, entries: [Entry], committed: UInt64, applied: UInt64) {
        for (offset, entry) in entries.enumerated() {
            precondition(entry.index == snapshotIndex + 1 + UInt64(offset), "restored log entries are not contiguous")
        }
        self.snapshotIndex = snapshotIndex
        self.snapshotTerm = snapshotTerm
        self.entries = entries
        self.stableIndex = snapshotIndex + UInt64(entries.count)
        // A hard state synced with entries whose write was lost (a torn tail) may name a commit index beyond the
        // restored log. Those entries were never acknowledged by this replica; it learns the commit again.
        self.committed = max(min(committed, stableIndex), snapshotIndex)
        self.applied = min(max(applied, snapshotIndex), self.committed)
    }

    var lastIndex: UInt64 { snapshotIndex + UInt64(entries.count) }
    var lastTerm: UInt64 { entries.last?.term ?? snapshotTerm }

    /// The term at `index`, or nil when compacted away or beyond the end.
    func term(at index: UInt64) -> UInt64? {
        if index == snapshotIndex { return snapshotTerm }
        if index < snapshotIndex || index > lastIndex { return nil }
        return entries[Int(index - snapshotIndex - 1)].term
    }

    func entry(at index: UInt64) -> Entry {
        entries[Int(index - snapshotIndex - 1)]
    }

    /// The kind of the entry at `index`, without copying (retaining) its data.
    func kind(at index: UInt64) -> EntryKind {
        entries[Int(index - snapshotIndex - 1)].kind
    }

    /// Candidate's log at least as up to date as ours (Raft §5.4.1).
    func isUpToDate(lastIndex candidateIndex: UInt64, lastTerm candidateTerm: UInt64) -> Bool {
        candidateTerm > lastTerm || (candidateTerm == lastTerm && candidateIndex >= lastIndex)
    }

    /// Entries in [from, through], at most `maxBytes` (but at least one). Nil when `from` is compacted.
    func entries(from: UInt64, through: UInt64, maxBytes: Int) -> [Entry]? {
        if from <= snapshotIndex { return nil }
        if from > through || from > lastIndex { return [] }
        let end = min(through, lastIndex)
        var result: [Entry] = []
        var bytes = 0
        var index = from
        while index <= end {
            let entry = self.entry(at: index)
            if !result.isEmpty && bytes + entry.byteCount > maxBytes { break }
            bytes += entry.byteCount
            result.append(entry)
            index += 1
        }
        return result
    }

    var unstableEntries: [Entry] {
        guard stableIndex < lastIndex else { return [] }
        return Array(entries[Int(stableIndex - snapshotIndex)...])
    }

    mutating func append(_ entry: Entry) {
        precondition(entry.index == lastIndex + 1, "appended entry not contiguous")
        entries.append(entry)
    }

    /// The last index whose term is <= `term`, searching down from `index` (fast back-off, etcd
    /// `findConflictByTerm`).
    func lastIndex(atOrBelow index: UInt64, withTermAtMost term: UInt64) -> UInt64 {
        var candidate = min(index, lastIndex)
        while candidate > snapshotIndex {
            if let found = self.term(at: candidate), found <= term { return candidate }
            candidate -= 1
        }
        return candidate
    }

    /// Appends `newEntries` after `prevIndex`, truncating a conflicting suffix. Returns the truncation index (the
    /// first replaced index) if any.
    mutating func merge(_ newEntries: [Entry]) -> UInt64? {
        var truncatedAt: UInt64?
        for (position, entry) in newEntries.enumerated() {
            if entry.index <= snapshotIndex { continue }
            if let existing = term(at: entry.index) {
                if existing == entry.term { continue }
                precondition(entry.index > committed, "a follower must never truncate a committed entry")
                entries.removeSubrange(Int(entry.index - snapshotIndex - 1)...)
                if stableIndex >= entry.index { stableIndex = entry.index - 1 }
                truncatedAt = entry.index
            }
            for rest in newEntries[position...] { append(rest) }
            return truncatedAt
        }
        return truncatedAt
    }

    /// Drops entries up to and including `index` (the application snapshotted there).
    mutating func compact(through index: UInt64) {
        guard index > snapshotIndex else { return }
        precondition(index <= applied, "compacting beyond the applied index")
        let term = self.term(at: index)!
        entries.removeFirst(Int(index - snapshotIndex))
        snapshotIndex = index
        snapshotTerm = term
    }

    /// Replaces the whole log by a snapshot point (follower restoring a leader's snapshot).
    mutating func restore(index: UInt64, term: UInt64) {
        precondition(index > committed, "a snapshot must not roll back committed entries")
        entries = []
        snapshotIndex = index
        snapshotTerm = term
        stableIndex = index
        committed = index
    }
}

/// The leader's per-replica replication state (etcd `tracker.Progress`).
struct Progress: Sendable {
    var match: UInt64 = 0
    var next: UInt64
    var state: ReplicationState = .probe
    /// Probe: an append is outstanding; wait for its answer or a heartbeat response.
    var probeSent = false
    /// Last index of each append in flight (replicate state), oldest first.
    var inflight: [UInt64] = []
    var inflightHead = 0
    var recentActive = false
    /// Snapshot state: the snapshot index being sent and the bytes the follower acknowledged.
    var pendingSnapshotIndex: UInt64 = 0
    var snapshotOffset: Int = 0

    init(next: UInt64) { self.next = next }

    var inflightCount: Int { inflight.count - inflightHead }

    mutating func freeInflight(through index: UInt64) {
        while inflightHead < inflight.count && inflight[inflightHead] <= index { inflightHead += 1 }
        if inflightHead > 64 && inflightHead * 2 > inflight.count {
            inflight.removeFirst(inflightHead)
            inflightHead = 0
        }
    }

    mutating func freeFirstInflight() {
        if inflightHead < inflight.count { inflightHead += 1 }
    }

    mutating func clearInflight() {
        inflight.removeAll(keepingCapacity: true)
        inflightHead = 0
    }

    mutating func becomeProbe() {
        state = .probe
        probeSent = false
        next = match + 1
        clearInflight()
        pendingSnapshotIndex = 0
    }

    mutating func becomeReplicate() {
        state = .replicate
        probeSent = false
        next = match + 1
        clearInflight()
    }

    mutating func becomeSnapshot(index: UInt64) {
        state = .snapshot
        clearInflight()
        pendingSnapshotIndex = index
        snapshotOffset = 0
    }

    /// An acknowledgement of `index`; false when stale.
    mutating func maybeUpdate(_ index: UInt64) -> Bool {
        var updated = false
        if index > match {
            match = index
            updated = true
            probeSent = false
        }
        next = max(next, index + 1)
        return updated
    }

    /// A rejection of the append after `rejected`, with the follower's hint; false when stale.
    mutating func maybeDecrease(rejected: UInt64, hint: UInt64) -> Bool {
        if state == .snapshot { return false }
        if state == .replicate {
            if rejected <= match { return false }
            next = match + 1
            return true
        }
        if next == 0 || next - 1 != rejected { return false }
        next = max(min(rejected, hint + 1), match + 1)
        probeSent = false
        return true
    }

    func isPaused(maxInflight: Int) -> Bool {
        switch state {
        case .probe: probeSent
        case .replicate: inflightCount >= maxInflight
        case .snapshot: true
        }
    }
}

/// SplitMix64: the seeded PRNG behind randomised election timeouts.
struct SplitMix64: Sendable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func next(below bound: Int) -> Int {
        precondition(bound > 0)
        return Int(next() % UInt64(bound))
    }
}

public import Raft

/// One broken invariant, with the step it was seen at.
public struct Violation: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case twoLeadersInOneTerm = "two-leaders-in-one-term"
        case logMatching = "log-matching"
        case leaderCompleteness = "leader-completeness"
        case divergentApply = "divergent-apply"
        case commitDecreased = "commit-decreased"
        case committedEntryTruncated = "committed-entry-truncated"
        case termOrVoteRegressed = "term-or-vote-regressed"
        case acknowledgedBeforeDurable = "acknowledged-before-durable"
        case acknowledgedLost = "acknowledged-lost"
        case appliedTwice = "applied-twice"
        case learnerCampaigned = "learner-campaigned"
        case applyBeyondCommit = "apply-beyond-commit"
        case liveness = "liveness"
        /// The real storage recovered less than the oracle says was durable (a synced entry, the hard
        /// state, a snapshot or the applied state lost).
        case recoveryLostData = "recovery-lost-data"
        /// The real storage recovered something that is not the durable image plus a prefix of the
        /// unsynced writes (data never written, or writes out of order).
        case recoveryResurrected = "recovery-resurrected"
        /// The real storage refused to open data that only crashes and injected faults touched.
        case recoveryRefused = "recovery-refused"
        /// The real storage opened data with an injected bit flip in a durable record.
        case recoveryAcceptedCorruption = "recovery-accepted-corruption"
        /// A storage call failed with no fault injected.
        case storageError = "storage-error"
    }

    public var kind: Kind
    public var step: UInt64
    public var node: NodeID
    public var detail: String

    public var description: String { "step \(step) node \(node): \(kind.rawValue): \(detail)" }
}

/// The safety checkers. The simulator reports every observable fact (role, writes, hard states,
/// applies, acknowledgements); each method checks the new fact against what the whole cluster has
/// done so far, so a violation is caught at the step that caused it.
public struct InvariantChecker: Sendable {
    public private(set) var violations: [Violation] = []
    /// Stops recording after this many (a broken run repeats itself).
    public var violationsMax = 20

    private var leaderOfTerm: [UInt64: NodeID] = [:]
    /// (index, term) -> digest of the entry's content and the term of the entry before it.
    private var entryIdentity: [EntryKey: (content: UInt64, previousTerm: UInt64?)] = [:]
    /// Globally committed entries (seen applied anywhere): index -> (term, content digest).
    private(set) var committed: [UInt64: (term: UInt64, content: UInt64)] = [:]
    private(set) var committedIndexMax: UInt64 = 0
    /// State machine digest after applying index i, from the first replica that applied it.
    private var stateDigestAt: [UInt64: UInt64] = [:]
    /// Command id -> index where it took effect.
    private(set) var effectiveIndexOfCommand: [UInt64: UInt64] = [:]
    /// Acknowledged command id -> (index, term).
    public private(set) var acknowledged: [UInt64: (index: UInt64, term: UInt64)] = [:]
    private var acknowledgedAtIndex: [UInt64: UInt64] = [:]
    public var step: UInt64 = 0

    struct EntryKey: Hashable {
        var index: UInt64
        var term: UInt64
    }

    public init() {}

    public mutating func fail(_ kind: Violation.Kind, _ node: NodeID, _ detail: String) {
        guard violations.count < violationsMax else { return }
        violations.append(Violation(kind: kind, step: step, node: node, detail: detail))
    }

    /// A replica reports it is leader of `term`; `image` is its log (written, maybe unsynced).
    public mutating func observeLeader(_ node: NodeID, term: UInt64, image: DiskImage) {
        if let existing = leaderOfTerm[term] {
            if existing != node { fail(.twoLeadersInOneTerm, node, "term \(term) already led by \(existing)") }
            return
        }
        leaderOfTerm[term] = node
        // Leader completeness: a new leader holds every entry committed so far in an earlier term. An
        // entry of a later term cannot have been committed before this term: a leader of an older term can
        // still be elected late (a vote granted before the newer term began, delivered after a pause,
        // seed 17108) and rightly lacks it.
        let snapshotIndex = image.snapshot?.metadata.index ?? 0
        var index = committedIndexMax
        while index > snapshotIndex {
            guard let entry = committed[index] else { break }
            if entry.term > term {
                index -= 1
                continue
            }
            if image.term(at: index) != entry.term {
                fail(.leaderCompleteness, node, "leader of term \(term) lacks committed entry \(index)/\(entry.term)")
                return
            }
            index -= 1
        }
    }

    /// A replica writes `batch` over its log `before`.
    public mutating func observeWrite(_ node: NodeID, batch: [Entry], before: DiskImage) {
        guard let first = batch.first else { return }
        // Nothing committed may be overwritten or cut off.
        let end = max(before.lastIndex, batch.last!.index)
        if first.index <= end {
            for index in first.index...end {
                guard let entry = committed[index], index <= before.lastIndex || index <= batch.last!.index else {
                    continue
                }
                let newTerm: UInt64? = index <= batch.last!.index ? batch[Int(index - first.index)].term : nil
                if newTerm != entry.term && before.term(at: index) == entry.term {
                    fail(
                        .committedEntryTruncated, node,
                        "write at \(first.index) replaces committed \(index)/\(entry.term)")
                    break
                }
            }
        }
        var previousTerm = before.term(at: first.index - 1)
        for entry in batch {
            let key = EntryKey(index: entry.index, term: entry.term)
            let content = contentDigest(entry)
            if let known = entryIdentity[key] {
                if known.content != content {
                    fail(.logMatching, node, "entry \(entry.index)/\(entry.term) has two contents")
                } else if let known = known.previousTerm, let previousTerm, known != previousTerm {
                    fail(
                        .logMatching, node,
                        "entry \(entry.index)/\(entry.term) follows terms \(known) and \(previousTerm)")
                }
                if known.previousTerm == nil, previousTerm != nil {
                    entryIdentity[key] = (content, previousTerm)
                }
            } else {
                entryIdentity[key] = (content, previousTerm)
            }
            previousTerm = entry.term
        }
    }

    /// A replica persists a new hard state over `old`.
    public mutating func observeHardState(_ node: NodeID, old: HardState, new: HardState, lastIndex: UInt64) {
        if new.commit < old.commit {
            fail(.commitDecreased, node, "commit \(old.commit) -> \(new.commit)")
        }
        if new.term < old.term {
            fail(.termOrVoteRegressed, node, "term \(old.term) -> \(new.term)")
        } else if new.term == old.term, old.vote != 0, new.vote != old.vote {
            fail(.termOrVoteRegressed, node, "vote in term \(new.term) changed \(old.vote) -> \(new.vote)")
        }
        if new.commit > lastIndex {
            fail(.applyBeyondCommit, node, "commit \(new.commit) beyond last index \(lastIndex)")
        }
    }

    /// A replica's status commit index, checked against its previous value and its durable floor.
    public mutating func observeCommit(_ node: NodeID, previous: UInt64, now: UInt64) {
        if now < previous { fail(.commitDecreased, node, "commit \(previous) -> \(now)") }
    }

    /// A replica applied `entry`; `outcome` and `stateDigest` come from its state machine.
    public mutating func observeApply(
        _ node: NodeID, entry: Entry, outcome: CounterStateMachine.Outcome, stateDigest: UInt64, commit: UInt64
    ) {
        if entry.index > commit {
            fail(.applyBeyondCommit, node, "applied \(entry.index) beyond commit \(commit)")
        }
        let content = contentDigest(entry)
        if let known = committed[entry.index] {
            if known.term != entry.term || known.content != content {
                fail(.divergentApply, node, "index \(entry.index): term \(entry.term) vs committed \(known.term)")
            }
        } else {
            committed[entry.index] = (entry.term, content)
            committedIndexMax = max(committedIndexMax, entry.index)
        }
        if let known = stateDigestAt[entry.index] {
            if known != stateDigest { fail(.divergentApply, node, "state differs after index \(entry.index)") }
        } else {
            stateDigestAt[entry.index] = stateDigest
        }
        switch outcome {
        case .nothing:
            break
        case .applied(let command):
            if let first = effectiveIndexOfCommand[command.id], first != entry.index {
                fail(.appliedTwice, node, "command \(command.id) took effect at \(first) and \(entry.index)")
            } else {
                effectiveIndexOfCommand[command.id] = entry.index
            }
        case .duplicate(let command, let firstIndex):
            if let first = effectiveIndexOfCommand[command.id], first != firstIndex {
                fail(.appliedTwice, node, "command \(command.id) took effect at \(first) and \(firstIndex)")
            }
        }
        if let acknowledgedID = acknowledgedAtIndex[entry.index] {
            if case .applied(let command) = outcome, command.id == acknowledgedID {
            } else if acknowledged[acknowledgedID]?.term != entry.term {
                fail(.acknowledgedLost, node, "acknowledged command \(acknowledgedID) not at index \(entry.index)")
            }
        }
    }

    /// A leader acknowledged a command to its client. `durableVoters` is how many voters of each
    /// quorum of the leader's configuration hold the entry durably; `quorum` their majorities.
    public mutating func observeAcknowledgement(
        _ node: NodeID, command: UInt64, index: UInt64, term: UInt64, durableOnQuorum: Bool, detail: String
    ) {
        if !durableOnQuorum {
            fail(.acknowledgedBeforeDurable, node, "command \(command) at \(index)/\(term): \(detail)")
        }
        if let previous = acknowledged[command], previous.index != index {
            fail(.appliedTwice, node, "command \(command) acknowledged at \(previous.index) and \(index)")
        }
        acknowledged[command] = (index, term)
        acknowledgedAtIndex[index] = command
    }

    /// A replica that is a learner in its own configuration asked for a vote.
    public mutating func observeLearnerCampaign(_ node: NodeID, term: UInt64, detail: String = "") {
        fail(.learnerCampaigned, node, "a non-voter campaigns in term \(term): \(detail)")
    }

    public mutating func observeLivenessFailure(_ detail: String) {
        fail(.liveness, 0, detail)
    }

    /// RPO zero at the end: every acknowledged command took effect exactly at its index, and every
    /// replica in `replicas` (applied index, effective table) agrees.
    public mutating func checkAcknowledgedSurvive(replicas: [(NodeID, CounterStateMachine)]) {
        for (command, position) in acknowledged.sorted(by: { $0.key < $1.key }) {
            guard effectiveIndexOfCommand[command] == position.index else {
                fail(.acknowledgedLost, 0, "acknowledged command \(command) at \(position.index) not in effect")
                continue
            }
            for (node, machine) in replicas where machine.appliedIndex >= position.index {
                if machine.effectiveIndex[command] != position.index {
                    fail(.acknowledgedLost, node, "acknowledged command \(command) missing on replica")
                }
            }
        }
    }

    func contentDigest(_ entry: Entry) -> UInt64 {
        digest(of: entry.data) ^ UInt64(entry.kind.rawValue) << 56
    }
}

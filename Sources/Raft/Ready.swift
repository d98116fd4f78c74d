/// An application snapshot: the state machine at `metadata.index`, as opaque bytes.
public struct Snapshot: Sendable, Hashable {
    public var metadata: SnapshotMetadata
    public var data: [UInt8]

    public init(metadata: SnapshotMetadata, data: [UInt8]) {
        self.metadata = metadata
        self.data = data
    }
}

/// What a replica restores from its durable storage when it starts.
public struct RaftPersistentState: Sendable, Hashable {
    public var hardState: HardState
    /// The latest snapshot, if the log was ever compacted or a snapshot was installed.
    public var snapshot: Snapshot?
    /// The log entries after the snapshot (or from index 1), contiguous. A `hardState.commit` beyond the last of
    /// them (a lost tail) is lowered to it.
    public var entries: [Entry]
    /// The highest index the application had applied and made durable; defaults to the snapshot index.
    /// Committed entries after it are delivered again in `Ready.committedEntries`.
    public var appliedIndex: UInt64?

    public init(
        hardState: HardState = HardState(), snapshot: Snapshot? = nil, entries: [Entry] = [],
        appliedIndex: UInt64? = nil
    ) {
        self.hardState = hardState
        self.snapshot = snapshot
        self.entries = entries
        self.appliedIndex = appliedIndex
    }

    /// A replica that has never run.
    public static let empty = RaftPersistentState()
}

/// State that is not persisted: who leads and what this replica is.
public struct SoftState: Sendable, Hashable {
    public var leader: NodeID
    public var role: RaftRole

    public init(leader: NodeID, role: RaftRole) {
        self.leader = leader
        self.role = role
    }
}

/// A confirmed linearizable read: the application may serve request `requestID` once it has applied `index`.
public struct ReadState: Sendable, Hashable {
    public var requestID: UInt64
    public var index: UInt64

    public init(requestID: UInt64, index: UInt64) {
        self.requestID = requestID
        self.index = index
    }
}

/// Everything the shell must do for the replica, produced by `RaftNode.ready()`.
///
/// - Important: Process a `Ready` in this order, then call `RaftNode.advance(_:)` with it, before asking for
///   the next one:
///   1. Install `snapshot` durably (when non-nil): it replaces the whole stored log. Then persist `hardState`
///      (when non-nil) and `entries`: storage truncates its log from `entries.first.index` on, then appends
///      them. All of this must be durable (fsync) before step 2.
///   2. Send `messages`. They may acknowledge entries and votes, so they must never leave before step 1.
///   3. Apply `committedEntries` in order, serve `readStates` once their index is applied.
///   4. Call `advance(ready)`. The leader only counts its own entries toward a commit quorum once `advance`
///      reports them persisted, so a proposal can only commit (and be acknowledged) when durable on a quorum.
public struct Ready: Sendable, Hashable {
    /// Hard state to persist, or nil when unchanged since the last `advance`.
    public var hardState: HardState?
    /// Entries to persist (truncate the stored log from the first one's index, then append).
    public var entries: [Entry]
    /// A snapshot received from the leader, to install durably before sending `messages`.
    public var snapshot: Snapshot?
    /// Messages to send only after `hardState`, `entries` and `snapshot` are durable.
    public var messages: [Message]
    /// Committed entries to apply, in index order.
    public var committedEntries: [Entry]
    /// Confirmed reads (ReadIndex).
    public var readStates: [ReadState]
    /// Role and leader, when changed since the last `advance`.
    public var softState: SoftState?

    var appliedThrough: UInt64

    /// True when the shell has nothing to do.
    public var isEmpty: Bool {
        hardState == nil && entries.isEmpty && snapshot == nil && messages.isEmpty && committedEntries.isEmpty
            && readStates.isEmpty && softState == nil
    }
}

/// Why the node refused a request. Business outcomes, not errors.
public enum RaftRefusal: Sendable, Hashable {
    /// Only the leader accepts this; `leaderHint` is the known leader or 0.
    case notLeader(leaderHint: NodeID)
    /// A leader transfer to `target` is in progress; retry at the new leader.
    case transferInProgress(target: NodeID)
    /// The leader already holds `maxUncommittedBytes` of uncommitted proposals.
    case tooManyUncommittedBytes(limitBytes: Int)
    /// A membership change is still in flight (not committed, or joint consensus not yet left).
    case membershipChangeInProgress
    /// The requested membership is not valid (empty, duplicates, a replica both voter and learner).
    case invalidMembership
    /// The transfer target is not a voter of the current configuration.
    case notAVoter(NodeID)
    /// The node is already the leader (transfer to self).
    case alreadyLeader
}

/// The outcome of `RaftNode.propose(_:)` and `proposeMembershipChange(voters:learners:)`.
public enum ProposalResult: Sendable, Hashable {
    /// Appended to the leader's log at `index` in `term`; commits only if that entry survives at that index.
    case accepted(index: UInt64, term: UInt64)
    case refused(RaftRefusal)
}

/// How the leader replicates to one follower.
public enum ReplicationState: UInt8, Sendable, Hashable {
    /// Searching for the match point: one append in flight at a time.
    case probe = 1
    /// Pipelining appends up to `maxInflightMessages`.
    case replicate = 2
    /// Sending a snapshot in chunks.
    case snapshot = 3
}

/// The leader's view of one replica.
public struct FollowerProgress: Sendable, Hashable {
    public var match: UInt64
    public var next: UInt64
    public var state: ReplicationState
    public var inflightMessages: Int
    /// Heard from since the last check-quorum round.
    public var recentActive: Bool
    public var isLearner: Bool
}

/// Why a message was dropped.
public enum DropReason: UInt8, Sendable, Hashable, CaseIterable {
    /// `to` is not this replica.
    case wrongRecipient = 1
    /// `from` is not a member of the group (or is this replica).
    case unknownSender = 2
    /// The message's term is older than the replica's.
    case staleTerm = 3
    /// Inconsistent content, e.g. an append whose entries are not contiguous.
    case malformed = 4
    /// A vote request ignored because a leader was heard from within the election timeout.
    case leaderLease = 5
}

/// A point-in-time view of a replica, for operators and tests.
public struct RaftStatus: Sendable, Hashable {
    public var id: NodeID
    public var term: UInt64
    public var vote: NodeID
    public var role: RaftRole
    public var leader: NodeID
    public var commitIndex: UInt64
    public var appliedIndex: UInt64
    public var lastIndex: UInt64
    public var snapshotIndex: UInt64
    public var membership: Membership
    public var leadTransferee: NodeID
    /// Per replica (other than this one) progress; empty unless leader.
    public var progress: [NodeID: FollowerProgress]
    /// Dropped bad messages by reason.
    public var droppedMessages: [DropReason: UInt64]
}

extension Ready {
    /// A `Ready` carrying only what to persist, for storage tests and benchmarks. Never pass one made
    /// here to `RaftNode.advance(_:)`: only `ready()` makes those.
    public init(hardState: HardState? = nil, entries: [Entry] = [], snapshot: Snapshot? = nil) {
        self.init(
            hardState: hardState, entries: entries, snapshot: snapshot, messages: [], committedEntries: [],
            readStates: [], softState: nil, appliedThrough: 0)
    }
}

/// Identity of a replica within its Raft group. 0 means "none".
public typealias NodeID = UInt64

/// What a log entry carries.
public enum EntryKind: UInt8, Sendable, Hashable {
    /// An application command batch (opaque bytes).
    case normal = 1
    /// Appended by a new leader to commit entries of earlier terms (Raft §5.4.2); empty data.
    case noop = 2
    /// A membership change: `data` is an encoded `MembershipChange`.
    case configuration = 3
}

/// One log entry.
public struct Entry: Sendable, Hashable {
    public var term: UInt64
    public var index: UInt64
    public var kind: EntryKind
    public var data: [UInt8]

    public init(term: UInt64, index: UInt64, kind: EntryKind = .normal, data: [UInt8] = []) {
        self.term = term
        self.index = index
        self.kind = kind
        self.data = data
    }

    /// Bytes counted against flow-control limits.
    @inlinable public var byteCount: Int { data.count + 24 }
}

/// What must be on disk before any message that depends on it is sent.
public struct HardState: Sendable, Hashable {
    public var term: UInt64
    /// The candidate voted for in `term`, or 0.
    public var vote: NodeID
    public var commit: UInt64

    public init(term: UInt64 = 0, vote: NodeID = 0, commit: UInt64 = 0) {
        self.term = term
        self.vote = vote
        self.commit = commit
    }
}

/// The role a replica plays now.
public enum RaftRole: UInt8, Sendable, Hashable {
    case follower = 1
    case preCandidate = 2
    case candidate = 3
    case leader = 4
    /// A non-voting replica (never campaigns, never votes).
    case learner = 5
}

/// Message kinds exchanged between replicas. Raw values are stable wire codes.
public enum MessageKind: UInt8, Sendable, Hashable, CaseIterable {
    case preVote = 1
    case preVoteResponse = 2
    case vote = 3
    case voteResponse = 4
    case append = 5
    case appendResponse = 6
    case heartbeat = 7
    case heartbeatResponse = 8
    /// Leader transfer: the target campaigns at once, without pre-vote.
    case timeoutNow = 9
    case snapshot = 10
    case snapshotResponse = 11
    /// Reserved: `RaftNode` serves reads on the leader only and drops these as malformed.
    case readIndex = 12
    /// Reserved, see `readIndex`.
    case readIndexResponse = 13
}

/// One message between replicas of a group. Fields a kind does not use are zero or empty.
public struct Message: Sendable, Hashable {
    public var kind: MessageKind
    public var from: NodeID
    public var to: NodeID
    public var term: UInt64
    /// Append: term of the entry before `entries`. Votes: the candidate's last log term. Rejected append: the
    /// follower's term at `rejectHint`. Snapshot: the snapshot's term.
    public var logTerm: UInt64
    /// Append: index of the entry before `entries`. Votes: the candidate's last log index.
    /// Responses: the highest index the responder has matched (or the rejected index). Snapshot messages and
    /// their responses: the snapshot's index.
    public var index: UInt64
    public var entries: [Entry]
    /// Leader's commit index (append, heartbeat) capped to what the follower is known to hold.
    public var commit: UInt64
    public var reject: Bool
    /// On a rejected append: the follower's hint for where its log can match (fast back-off).
    public var rejectHint: UInt64
    /// Opaque context: ReadIndex request ids on heartbeats and their responses, the transfer marker
    /// (`RaftNode.transferCampaignContext`) on vote requests, and the bytes received so far on snapshot responses.
    public var context: UInt64
    /// Snapshot transfer: the chunk, its offset and whether it is the last one.
    public var snapshot: SnapshotChunk?

    public init(
        kind: MessageKind, from: NodeID, to: NodeID, term: UInt64, logTerm: UInt64 = 0, index: UInt64 = 0,
        entries: [Entry] = [], commit: UInt64 = 0, reject: Bool = false, rejectHint: UInt64 = 0,
        context: UInt64 = 0, snapshot: SnapshotChunk? = nil
    ) {
        self.kind = kind
        self.from = from
        self.to = to
        self.term = term
        self.logTerm = logTerm
        self.index = index
        self.entries = entries
        self.commit = commit
        self.reject = reject
        self.rejectHint = rejectHint
        self.context = context
        self.snapshot = snapshot
    }
}

/// Part of an application snapshot on its way to a lagging follower.
public struct SnapshotChunk: Sendable, Hashable {
    public var metadata: SnapshotMetadata
    public var offset: UInt64
    public var data: [UInt8]
    public var isLast: Bool

    public init(metadata: SnapshotMetadata, offset: UInt64, data: [UInt8], isLast: Bool) {
        self.metadata = metadata
        self.offset = offset
        self.data = data
        self.isLast = isLast
    }
}

/// Where a snapshot stands in the log, and the membership at that point.
public struct SnapshotMetadata: Sendable, Hashable {
    public var index: UInt64
    public var term: UInt64
    public var membership: Membership

    public init(index: UInt64, term: UInt64, membership: Membership) {
        self.index = index
        self.term = term
        self.membership = membership
    }
}

/// The group's members. In a joint configuration both `voters` and `outgoingVoters` must agree.
public struct Membership: Sendable, Hashable {
    public var voters: [NodeID]
    /// Non-empty only while a joint-consensus change is in progress.
    public var outgoingVoters: [NodeID]
    public var learners: [NodeID]

    public init(voters: [NodeID], outgoingVoters: [NodeID] = [], learners: [NodeID] = []) {
        self.voters = voters
        self.outgoingVoters = outgoingVoters
        self.learners = learners
    }
}

/// One replica of a Raft group as a pure state machine (etcd-io/raft style).
///
/// No clock, no I/O, no threads: time enters through `tick()`, the network through `step(_:)`, the application
/// through `propose(_:)` and friends. Output is collected in a `Ready`.
///
/// - Important: Drive it from one thread. Loop: `tick()` / `step(_:)` / `propose(_:)` as events arrive; when
///   `hasReady`, take `ready()`, handle it as its documentation says (persist, then send, then apply), then call
///   `advance(_:)` with that same value before taking the next one.
public struct RaftNode: Sendable {
    /// The marker in `Message.context` of vote requests of a leader-transfer campaign (they bypass the lease).
    public static let transferCampaignContext: UInt64 = 1

    /// The configuration this replica was started with (validated by `init`).
    public let configuration: RaftConfiguration
    var log: RaftLog
    private(set) var term: UInt64
    private(set) var vote: NodeID
    private(set) var role: RaftRole = .follower
    private(set) var leader: NodeID = 0
    private(set) var membership: Membership
    var snapshotMembership: Membership?
    private(set) var snapshot: Snapshot?
    /// Snapshot received from the leader that the shell must install.
    private var pendingSnapshot: Snapshot?
    private var incomingSnapshot: (metadata: SnapshotMetadata, data: [UInt8])?

    private var electionElapsedTicks = 0
    private var heartbeatElapsedTicks = 0
    private var randomizedElectionTimeoutTicks = 0
    private var random: SplitMix64

    private var votes: [NodeID: Bool] = [:]
    private var progress: [NodeID: Progress] = [:]
    private var leadTransferee: NodeID = 0
    /// Index of the last membership entry the leader appended; a new change waits until it commits.
    private var pendingConfigurationIndex: UInt64 = 0
    private var uncommittedBytes = 0
    private var needsBroadcast = false
    private var commitAdvancedSinceBroadcast = false

    private struct PendingRead: Sendable {
        var requestID: UInt64
        var index: UInt64
        var acks: Set<NodeID>
    }
    private var pendingReads: [PendingRead] = []
    /// Reads asked before the leader committed an entry of its term.
    private var readsAwaitingCommit: [UInt64] = []

    /// Every replica of every configuration this replica has seen (initial, snapshots, log entries, including
    /// ones since truncated or compacted). Messages from anyone else are dropped as `unknownSender`.
    private var knownNodes: Set<NodeID> = []
    /// Index of the configuration entry `membership` comes from (0: snapshot or initial configuration), and the
    /// membership in force before it.
    private var configurationIndex: UInt64 = 0
    private var previousMembership: Membership
    private var outbox: [Message] = []
    private var readStates: [ReadState] = []
    private var persistedHardState: HardState
    private var reportedSoftState: SoftState
    private var dropped: [DropReason: UInt64] = [:]

    /// Restores a replica from its durable state (`.empty` for a new one).
    public init(configuration: RaftConfiguration, restoring state: RaftPersistentState) {
        do { try configuration.validate() } catch { preconditionFailure("\(error)") }
        self.configuration = configuration
        let snapshotIndex = state.snapshot?.metadata.index ?? 0
        let snapshotTerm = state.snapshot?.metadata.term ?? 0
        if let first = state.entries.first {
            precondition(first.index == snapshotIndex + 1, "restored entries must follow the snapshot")
        }
        log = RaftLog(
            snapshotIndex: snapshotIndex, snapshotTerm: snapshotTerm, entries: state.entries,
            committed: state.hardState.commit, applied: state.appliedIndex ?? snapshotIndex)
        term = state.hardState.term
        vote = state.hardState.vote
        snapshot = state.snapshot
        snapshotMembership = state.snapshot?.metadata.membership
        membership = configuration.membership
        // The commit index may have been lowered to the restored log: never ask to write a lower one.
        persistedHardState = HardState(term: term, vote: vote, commit: log.committed)
        random = SplitMix64(seed: configuration.randomSeed ^ (configuration.id &* 0x9E37_79B9_7F4A_7C15))
        reportedSoftState = SoftState(leader: 0, role: .follower)
        previousMembership = configuration.membership
        refreshMembership()
        knownNodes = configuration.membership.allMembers.union(snapshotMembership?.allMembers ?? [])
            .union(configuration.clusterNodes)
        for position in state.entries.indices where state.entries[position].kind == .configuration {
            knownNodes.formUnion(Membership(encoded: state.entries[position].data)?.allMembers ?? [])
        }
        becomeFollower(term: term, leader: 0)
        reportedSoftState = SoftState(leader: leader, role: role)
    }

    // MARK: - Public queries

    /// The current state of this replica.
    public var status: RaftStatus {
        var views: [NodeID: FollowerProgress] = [:]
        if role == .leader {
            for (id, pr) in progress where id != configuration.id {
                views[id] = FollowerProgress(
                    match: pr.match, next: pr.next, state: pr.state, inflightMessages: pr.inflightCount,
                    recentActive: pr.recentActive, isLearner: !membership.allVoters.contains(id))
            }
        }
        return RaftStatus(
            id: configuration.id, term: term, vote: vote, role: role, leader: leader, commitIndex: log.committed,
            appliedIndex: log.applied, lastIndex: log.lastIndex, snapshotIndex: log.snapshotIndex,
            membership: membership, leadTransferee: leadTransferee, progress: views, droppedMessages: dropped)
    }

    /// The latest snapshot this replica holds (made by `compact` or received from the leader).
    public var latestSnapshot: Snapshot? { snapshot }

    /// True when `ready()` would return something to do.
    public var hasReady: Bool {
        if !outbox.isEmpty || !readStates.isEmpty || pendingSnapshot != nil { return true }
        if hardState != persistedHardState || SoftState(leader: leader, role: role) != reportedSoftState {
            return true
        }
        if log.stableIndex < log.lastIndex { return true }
        if log.committed > max(log.applied, log.snapshotIndex) { return true }
        return role == .leader && needsBroadcast
    }

    private var hardState: HardState { HardState(term: term, vote: vote, commit: log.committed) }

    // MARK: - Ready / advance

    /// Collects what the shell must do now. See `Ready` for the order in which to do it.
    public mutating func ready() -> Ready {
        if role == .leader && needsBroadcast { broadcastAppends() }
        let firstToApply = max(log.applied, log.snapshotIndex) + 1
        let committedEntries =
            log.committed >= firstToApply
            ? (log.entries(
                from: firstToApply, through: log.committed, maxBytes: configuration.maxCommittedBytesPerReady) ?? [])
            : []
        let softState = SoftState(leader: leader, role: role)
        return Ready(
            hardState: hardState == persistedHardState ? nil : hardState,
            entries: log.unstableEntries,
            snapshot: pendingSnapshot,
            messages: outbox,
            committedEntries: committedEntries,
            readStates: readStates,
            softState: softState == reportedSoftState ? nil : softState,
            appliedThrough: committedEntries.last?.index ?? 0)
    }

    /// Reports that `ready` was handled: persisted, sent and applied.
    public mutating func advance(_ ready: Ready) {
        if let hardState = ready.hardState { persistedHardState = hardState }
        if let softState = ready.softState { reportedSoftState = softState }
        if let installed = ready.snapshot {
            if pendingSnapshot == installed { pendingSnapshot = nil }
            log.applied = max(log.applied, min(installed.metadata.index, log.committed))
        }
        if let last = ready.entries.last, let first = ready.entries.first, first.index <= log.stableIndex + 1,
            log.term(at: last.index) == last.term
        {
            log.stableIndex = max(log.stableIndex, last.index)
        }
        outbox.removeFirst(min(ready.messages.count, outbox.count))
        readStates.removeFirst(min(ready.readStates.count, readStates.count))
        if ready.appliedThrough > log.applied { log.applied = min(ready.appliedThrough, log.committed) }
        if role == .leader && maybeCommit() { needsBroadcast = true }
    }

    // MARK: - Application requests

    /// Proposes an application command. Only the leader accepts.
    public mutating func propose(_ data: [UInt8]) -> ProposalResult {
        guard role == .leader else { return .refused(.notLeader(leaderHint: leader)) }
        if leadTransferee != 0 { return .refused(.transferInProgress(target: leadTransferee)) }
        if uncommittedBytes > 0 && uncommittedBytes + data.count > configuration.maxUncommittedBytes {
            return .refused(.tooManyUncommittedBytes(limitBytes: configuration.maxUncommittedBytes))
        }
        uncommittedBytes += data.count
        let entry = Entry(term: term, index: log.lastIndex + 1, kind: .normal, data: data)
        appendAsLeader(entry)
        return .accepted(index: entry.index, term: term)
    }

    /// Proposes a new membership. A change of the voter set goes through joint consensus (entered now, left
    /// automatically once the joint configuration commits); a change of learners only is applied directly.
    /// One change at a time.
    public mutating func proposeMembershipChange(voters: [NodeID], learners: [NodeID]) -> ProposalResult {
        guard role == .leader else { return .refused(.notLeader(leaderHint: leader)) }
        if leadTransferee != 0 { return .refused(.transferInProgress(target: leadTransferee)) }
        if pendingConfigurationIndex > log.committed || membership.isJoint {
            return .refused(.membershipChangeInProgress)
        }
        let current = membership
        var target = Membership(voters: voters, learners: learners)
        if Set(voters) != Set(current.voters) { target.outgoingVoters = current.voters }
        guard Membership(voters: voters, learners: learners).validationProblem == nil,
            target.validationProblem == nil
        else { return .refused(.invalidMembership) }
        let entry = Entry(term: term, index: log.lastIndex + 1, kind: .configuration, data: target.encoded())
        pendingConfigurationIndex = entry.index
        appendAsLeader(entry)
        return .accepted(index: entry.index, term: term)
    }

    /// Hands leadership to `target` once it has caught up (it then campaigns without pre-vote). Proposals are
    /// refused until the transfer ends; it is aborted after an election timeout. Nil when started.
    @discardableResult
    public mutating func transferLeadership(to target: NodeID) -> RaftRefusal? {
        guard role == .leader else { return .notLeader(leaderHint: leader) }
        if target == configuration.id { return .alreadyLeader }
        guard membership.allVoters.contains(target), progress[target] != nil else { return .notAVoter(target) }
        if leadTransferee == target { return nil }
        leadTransferee = target
        electionElapsedTicks = 0
        if progress[target]!.match == log.lastIndex {
            send(Message(kind: .timeoutNow, from: configuration.id, to: target, term: term))
        } else {
            sendAppend(to: target, sendIfEmpty: true)
        }
        return nil
    }

    /// Starts a linearizable read. The matching `ReadState` appears in a later `Ready` once a quorum confirmed
    /// this leader is still the leader; serve the read after applying up to its index. `requestID` must be
    /// unique and non-zero. Nil when started. Reads still pending when this replica loses leadership are
    /// forgotten: the shell times them out and retries at the new leader.
    @discardableResult
    public mutating func readIndex(requestID: UInt64) -> RaftRefusal? {
        precondition(requestID != 0, "read request ids must be non-zero")
        guard role == .leader else { return .notLeader(leaderHint: leader) }
        if log.term(at: log.committed) != term {
            readsAwaitingCommit.append(requestID)
            return nil
        }
        startRead(requestID)
        return nil
    }

    /// Tells the node the application saved a snapshot of its state at `index` (at most the applied index);
    /// entries up to it are dropped from the log and the snapshot is sent to followers that lag behind it.
    ///
    /// - Important: The shell persists `data` and may drop stored entries up to `index` itself; this call
    ///   only updates the in-memory log.
    public mutating func compact(upTo index: UInt64, snapshotData data: [UInt8]) {
        precondition(index <= log.applied, "a snapshot can only cover applied entries")
        guard index > log.snapshotIndex else { return }
        let metadata = SnapshotMetadata(index: index, term: log.term(at: index)!, membership: membershipAt(index))
        snapshot = Snapshot(metadata: metadata, data: data)
        snapshotMembership = metadata.membership
        log.compact(through: index)
    }

    /// Forces an election now, as if the election timeout had passed (pre-vote first when enabled).
    public mutating func campaign() {
        guard isPromotable, role != .leader else { return }
        startCampaign(configuration.preVote ? .preElection : .election)
    }

    // MARK: - Time

    /// Advances logical time by one tick.
    public mutating func tick() {
        if role == .leader { tickLeader() } else { tickElection() }
    }

    private mutating func tickElection() {
        electionElapsedTicks += 1
        if isPromotable && electionElapsedTicks >= randomizedElectionTimeoutTicks {
            electionElapsedTicks = 0
            startCampaign(configuration.preVote ? .preElection : .election)
        }
    }

    private mutating func tickLeader() {
        heartbeatElapsedTicks += 1
        electionElapsedTicks += 1
        if electionElapsedTicks >= configuration.electionTimeoutTicks {
            electionElapsedTicks = 0
            if configuration.checkQuorum {
                let active = Set(progress.filter { $0.value.recentActive }.map(\.key)).union([configuration.id])
                if !isQuorum(active, geo: false) {
                    becomeFollower(term: term, leader: 0)
                    return
                }
                for id in progress.keys where id != configuration.id { progress[id]!.recentActive = false }
            }
            leadTransferee = 0
        }
        if heartbeatElapsedTicks >= configuration.heartbeatTicks {
            heartbeatElapsedTicks = 0
            broadcastHeartbeats(context: pendingReads.last?.requestID ?? 0)
        }
    }

    // MARK: - Messages

    /// Feeds one message from another replica. Bad messages are dropped and counted in `status.droppedMessages`.
    public mutating func step(_ m: Message) {
        guard m.to == configuration.id else { return drop(.wrongRecipient) }
        guard m.from != configuration.id, knownNodes.contains(m.from) else { return drop(.unknownSender) }
        guard isWellFormed(m) else { return drop(.malformed) }
        if !membership.allMembers.contains(m.from) {
            // A lagging replica may not know the latest configuration, which may contain the sender again.
            // Messages of a leader are safe to follow (terms and log matching protect us); a vote request only if
            // the candidate's log is strictly ahead of ours (it may hold such a configuration). Everything else,
            // e.g. a removed replica campaigning with its stale log, is dropped.
            switch m.kind {
            case .append, .heartbeat, .snapshot, .timeoutNow:
                break
            case .vote where isStrictlyAhead(lastIndex: m.index, lastTerm: m.logTerm),
                .preVote where isStrictlyAhead(lastIndex: m.index, lastTerm: m.logTerm):
                break
            default:
                return drop(.unknownSender)
            }
        }

        if m.term > term {
            if m.kind == .preVote || m.kind == .vote {
                let transfer = m.context == Self.transferCampaignContext
                let inLease =
                    configuration.checkQuorum && leader != 0
                    && electionElapsedTicks < configuration.electionTimeoutTicks
                if !transfer && inLease { return drop(.leaderLease) }
            }
            switch m.kind {
            case .preVote:
                break
            case .preVoteResponse where !m.reject:
                break
            case .append, .heartbeat, .snapshot:
                becomeFollower(term: m.term, leader: m.from)
            case .vote where !log.isUpToDate(lastIndex: m.index, lastTerm: m.logTerm):
                // A candidate whose log is behind ours cannot get our vote: adopt its term but keep our election
                // timer running. Otherwise a stale candidate that keeps campaigning (a higher-priority replica
                // without pre-vote, say) keeps every replica that could win from ever timing out.
                let elapsed = electionElapsedTicks
                becomeFollower(term: m.term, leader: 0)
                electionElapsedTicks = elapsed
            default:
                becomeFollower(term: m.term, leader: 0)
            }
        } else if m.term < term {
            if m.kind == .append || m.kind == .heartbeat || m.kind == .snapshot {
                // Tell a stale leader about the newer term so it steps down (Raft §5.1). Our own vote requests
                // may never reach it (it need not be in our configuration), so this is its only way to learn.
                send(Message(kind: .appendResponse, from: configuration.id, to: m.from, term: term))
            } else if m.kind == .preVote || m.kind == .vote {
                // Tell a candidate behind us about our term: it may not be in our configuration, so it would
                // never hear our own vote requests, and would otherwise campaign below our term forever.
                let kind: MessageKind = m.kind == .preVote ? .preVoteResponse : .voteResponse
                send(Message(kind: kind, from: configuration.id, to: m.from, term: term, reject: true))
            }
            return drop(.staleTerm)
        }

        switch m.kind {
        case .preVote, .vote:
            handleVoteRequest(m)
        case .preVoteResponse, .voteResponse:
            handleVoteResponse(m)
        case .append:
            guard role != .leader else { return }
            becomeFollowerOfCurrentTerm(leader: m.from)
            handleAppend(m)
        case .heartbeat:
            guard role != .leader else { return }
            becomeFollowerOfCurrentTerm(leader: m.from)
            handleHeartbeat(m)
        case .snapshot:
            guard role != .leader else { return }
            becomeFollowerOfCurrentTerm(leader: m.from)
            handleSnapshotChunk(m)
        case .timeoutNow:
            if isPromotable && role != .leader { startCampaign(.transfer) }
        case .appendResponse:
            if role == .leader { handleAppendResponse(m) }
        case .heartbeatResponse:
            if role == .leader { handleHeartbeatResponse(m) }
        case .snapshotResponse:
            if role == .leader { handleSnapshotResponse(m) }
        case .readIndex, .readIndexResponse:
            // Reads are served by the leader only (`readIndex(requestID:)`); forwarding is the shell's job.
            drop(.malformed)
        }
    }

    private mutating func drop(_ reason: DropReason) {
        dropped[reason, default: 0] += 1
    }

    private func isWellFormed(_ m: Message) -> Bool {
        if m.term == 0 { return false }
        switch m.kind {
        case .append:
            var previousTerm = m.logTerm
            for (offset, entry) in m.entries.enumerated() {
                if entry.index != m.index + 1 + UInt64(offset) { return false }
                if entry.term < previousTerm || entry.term > m.term { return false }
                previousTerm = entry.term
            }
            return m.logTerm <= m.term
        case .snapshot:
            guard let chunk = m.snapshot else { return false }
            return chunk.metadata.index > 0 && chunk.metadata.term <= m.term
                && chunk.metadata.membership.validationProblem == nil
        default:
            return m.entries.isEmpty && m.snapshot == nil
        }
    }

    // MARK: - Roles

    /// A voter of the latest configuration may campaign; so may a voter of the configuration before it while the
    /// latest is not committed. Otherwise a leader that appended its own removal and then lost leadership could
    /// hold the only log able to win, yet neither campaign nor vote: no election could ever succeed.
    private var isPromotable: Bool {
        membership.allVoters.contains(configuration.id)
            || (configurationIndex > log.committed && previousMembership.allVoters.contains(configuration.id))
    }

    private mutating func reset(term newTerm: UInt64) {
        if newTerm != term {
            term = newTerm
            vote = 0
        }
        leader = 0
        electionElapsedTicks = 0
        heartbeatElapsedTicks = 0
        votes = [:]
        leadTransferee = 0
        pendingReads = []
        readsAwaitingCommit = []
        progress = [:]
        uncommittedBytes = 0
        needsBroadcast = false
        resetRandomizedElectionTimeout()
    }

    private mutating func resetRandomizedElectionTimeout() {
        let timeout = configuration.electionTimeoutTicks
        let mine = configuration.electionPriorities[configuration.id] ?? 0
        let higher = Set(membership.allVoters.map { configuration.electionPriorities[$0] ?? 0 }.filter { $0 > mine })
        randomizedElectionTimeoutTicks = timeout + random.next(below: timeout) + higher.count * timeout
    }

    private mutating func becomeFollower(term newTerm: UInt64, leader newLeader: NodeID) {
        reset(term: newTerm)
        leader = newLeader
        role = isPromotable || !membership.learners.contains(configuration.id) ? .follower : .learner
    }

    private mutating func becomeFollowerOfCurrentTerm(leader newLeader: NodeID) {
        if role != .follower && role != .learner || leader != newLeader {
            if role == .follower || role == .learner {
                leader = newLeader
            } else {
                becomeFollower(term: term, leader: newLeader)
            }
        }
        electionElapsedTicks = 0
    }

    private enum CampaignKind { case preElection, election, transfer }

    private mutating func startCampaign(_ kind: CampaignKind) {
        let requestTerm: UInt64
        if kind == .preElection {
            let savedTerm = term
            reset(term: term)
            term = savedTerm
            role = .preCandidate
            requestTerm = term + 1
        } else {
            reset(term: term + 1)
            vote = configuration.id
            role = .candidate
            requestTerm = term
        }
        votes = [configuration.id: true]
        if tally() == .won {
            if kind == .preElection { return startCampaign(.election) }
            return becomeLeader()
        }
        for voter in membership.allVoters.sorted() where voter != configuration.id {
            send(
                Message(
                    kind: kind == .preElection ? .preVote : .vote, from: configuration.id, to: voter,
                    term: requestTerm, logTerm: log.lastTerm, index: log.lastIndex,
                    context: kind == .transfer ? Self.transferCampaignContext : 0))
        }
    }

    private mutating func becomeLeader() {
        reset(term: term)
        role = .leader
        leader = configuration.id
        for member in membership.allMembers where member != configuration.id {
            progress[member] = Progress(next: log.lastIndex + 1)
        }
        // Membership entries still uncommitted in the log count as in flight.
        pendingConfigurationIndex = log.lastIndex
        appendAsLeader(Entry(term: term, index: log.lastIndex + 1, kind: .noop))
    }

    private enum VoteOutcome { case won, lost, pending }

    private func tally() -> VoteOutcome {
        func outcome(_ voters: [NodeID]) -> VoteOutcome {
            if voters.isEmpty { return .won }
            let granted = voters.filter { votes[$0] == true }.count
            let rejected = voters.filter { votes[$0] == false }.count
            let majority = voters.count / 2 + 1
            if granted >= majority { return .won }
            if rejected > voters.count - majority { return .lost }
            return .pending
        }
        let incoming = outcome(membership.voters)
        let outgoing = outcome(membership.outgoingVoters)
        if incoming == .lost || outgoing == .lost { return .lost }
        if incoming == .won && outgoing == .won { return .won }
        return .pending
    }

    /// True when `acknowledged` holds a majority of each voter set (and, in geo mode, spans two regions).
    private func isQuorum(_ acknowledged: Set<NodeID>, geo: Bool) -> Bool {
        func majority(_ voters: [NodeID]) -> Bool {
            voters.isEmpty || voters.filter { acknowledged.contains($0) }.count >= voters.count / 2 + 1
        }
        guard majority(membership.voters), majority(membership.outgoingVoters) else { return false }
        if geo {
            let regions = Set(
                acknowledged.intersection(membership.allVoters).compactMap {
                    configuration.locations[$0]?.region
                })
            return regions.count >= 2
        }
        return true
    }

    // MARK: - Voting

    private mutating func handleVoteRequest(_ m: Message) {
        let responseKind: MessageKind = m.kind == .preVote ? .preVoteResponse : .voteResponse
        let canVote = vote == m.from || (vote == 0 && leader == 0) || (m.kind == .preVote && m.term > term)
        // Learners (and replicas outside the configuration) refuse, unless the candidate's log is strictly ahead:
        // then it may hold a configuration that promoted this replica, and refusing could block every election.
        let eligible =
            (isPromotable && membership.allVoters.contains(m.from))
            || isStrictlyAhead(lastIndex: m.index, lastTerm: m.logTerm)
        if eligible && canVote && log.isUpToDate(lastIndex: m.index, lastTerm: m.logTerm) {
            send(Message(kind: responseKind, from: configuration.id, to: m.from, term: m.term))
            if m.kind == .vote {
                electionElapsedTicks = 0
                vote = m.from
            }
        } else {
            send(Message(kind: responseKind, from: configuration.id, to: m.from, term: term, reject: true))
        }
    }

    private func isStrictlyAhead(lastIndex candidateIndex: UInt64, lastTerm candidateTerm: UInt64) -> Bool {
        candidateTerm > log.lastTerm || (candidateTerm == log.lastTerm && candidateIndex > log.lastIndex)
    }

    private mutating func handleVoteResponse(_ m: Message) {
        let expected: RaftRole = m.kind == .preVoteResponse ? .preCandidate : .candidate
        guard role == expected, membership.allVoters.contains(m.from) else { return }
        votes[m.from] = !m.reject
        switch tally() {
        case .won:
            if role == .preCandidate { startCampaign(.election) } else { becomeLeader() }
        case .lost:
            becomeFollower(term: term, leader: 0)
        case .pending:
            break
        }
    }

    // MARK: - Follower side

    private mutating func respond(
        _ kind: MessageKind, to: NodeID, index: UInt64, reject: Bool = false,
        rejectHint: UInt64 = 0, logTerm: UInt64 = 0, context: UInt64 = 0
    ) {
        send(
            Message(
                kind: kind, from: configuration.id, to: to, term: term, logTerm: logTerm, index: index, reject: reject,
                rejectHint: rejectHint, context: context))
    }

    private mutating func handleAppend(_ m: Message) {
        if m.index < log.committed {
            return respond(.appendResponse, to: m.from, index: log.committed)
        }
        guard let localTerm = log.term(at: m.index), localTerm == m.logTerm else {
            let hintIndex = log.lastIndex(atOrBelow: m.index, withTermAtMost: m.logTerm)
            return respond(
                .appendResponse, to: m.from, index: m.index, reject: true, rejectHint: hintIndex,
                logTerm: log.term(at: hintIndex) ?? 0)
        }
        let lastNew = m.index + UInt64(m.entries.count)
        let truncatedAt = log.merge(m.entries)
        for entry in m.entries where entry.kind == .configuration {
            knownNodes.formUnion(Membership(encoded: entry.data)?.allMembers ?? [])
        }
        if truncatedAt != nil || m.entries.contains(where: { $0.kind == .configuration }) {
            refreshMembership()
        }
        commit(to: min(m.commit, lastNew))
        respond(.appendResponse, to: m.from, index: lastNew)
    }

    private mutating func handleHeartbeat(_ m: Message) {
        commit(to: min(m.commit, log.lastIndex))
        respond(.heartbeatResponse, to: m.from, index: 0, context: m.context)
    }

    private mutating func commit(to index: UInt64) {
        if index > log.committed {
            precondition(index <= log.lastIndex, "commit beyond the last index")
            log.committed = index
        }
    }

    private mutating func handleSnapshotChunk(_ m: Message) {
        let chunk = m.snapshot!
        let metadata = chunk.metadata
        if metadata.index <= log.committed {
            incomingSnapshot = nil
            return respond(.appendResponse, to: m.from, index: log.committed)
        }
        if incomingSnapshot?.metadata != metadata {
            incomingSnapshot = chunk.offset == 0 ? (metadata, []) : nil
        }
        guard var assembling = incomingSnapshot, chunk.offset == UInt64(assembling.data.count) else {
            return respond(
                .snapshotResponse, to: m.from, index: metadata.index, reject: true,
                context: UInt64(incomingSnapshot?.data.count ?? 0))
        }
        assembling.data.append(contentsOf: chunk.data)
        incomingSnapshot = assembling
        guard chunk.isLast else {
            return respond(
                .snapshotResponse, to: m.from, index: metadata.index, context: UInt64(assembling.data.count))
        }
        incomingSnapshot = nil
        if log.term(at: metadata.index) == metadata.term {
            // We already hold the snapshot's last entry: just commit up to it.
            commit(to: metadata.index)
        } else {
            let snapshot = Snapshot(metadata: metadata, data: assembling.data)
            log.restore(index: metadata.index, term: metadata.term)
            self.snapshot = snapshot
            snapshotMembership = metadata.membership
            knownNodes.formUnion(metadata.membership.allMembers)
            pendingSnapshot = snapshot
            refreshMembership()
            if role == .follower || role == .learner {
                role = isPromotable || !membership.learners.contains(configuration.id) ? .follower : .learner
            }
        }
        respond(.appendResponse, to: m.from, index: metadata.index)
    }

    // MARK: - Leader side

    private mutating func send(_ message: Message) {
        outbox.append(message)
    }

    private mutating func appendAsLeader(_ entry: Entry) {
        log.append(entry)
        if entry.kind == .configuration { refreshMembership() }
        needsBroadcast = true
    }

    private mutating func broadcastAppends() {
        needsBroadcast = false
        let sendIfEmpty = commitAdvancedSinceBroadcast
        commitAdvancedSinceBroadcast = false
        for id in progress.keys.sorted() {
            var first = true
            while sendAppend(to: id, sendIfEmpty: first && sendIfEmpty) { first = false }
        }
    }

    private mutating func broadcastHeartbeats(context: UInt64) {
        for id in progress.keys.sorted() {
            let commit = min(progress[id]!.match, log.committed)
            send(
                Message(kind: .heartbeat, from: configuration.id, to: id, term: term, commit: commit, context: context))
        }
    }

    /// Sends one append (or snapshot chunk) to `id` when flow control allows; true when something was sent that
    /// advanced the follower's `next` (so the caller may pipeline another).
    @discardableResult
    private mutating func sendAppend(to id: NodeID, sendIfEmpty: Bool) -> Bool {
        guard var pr = progress[id], !pr.isPaused(maxInflight: configuration.maxInflightMessages) else { return false }
        let previousIndex = pr.next - 1
        guard let previousTerm = log.term(at: previousIndex),
            let entries = log.entries(from: pr.next, through: log.lastIndex, maxBytes: configuration.maxMessageBytes)
        else {
            guard let snapshot else { return false }
            pr.becomeSnapshot(index: snapshot.metadata.index)
            progress[id] = pr
            sendSnapshotChunk(to: id)
            return false
        }
        if entries.isEmpty && !sendIfEmpty { return false }
        let commit = min(log.committed, previousIndex + UInt64(entries.count))
        send(
            Message(
                kind: .append, from: configuration.id, to: id, term: term, logTerm: previousTerm, index: previousIndex,
                entries: entries, commit: commit))
        switch pr.state {
        case .probe:
            pr.probeSent = true
        case .replicate:
            if let last = entries.last {
                pr.next = last.index + 1
                pr.inflight.append(last.index)
            }
        case .snapshot:
            break
        }
        progress[id] = pr
        return pr.state == .replicate && !entries.isEmpty
    }

    private mutating func sendSnapshotChunk(to id: NodeID) {
        guard let snapshot, var pr = progress[id], pr.state == .snapshot else { return }
        if pr.pendingSnapshotIndex != snapshot.metadata.index {
            // The application compacted again meanwhile: send the newer snapshot from its start.
            pr.becomeSnapshot(index: snapshot.metadata.index)
            progress[id] = pr
        }
        let start = min(pr.snapshotOffset, snapshot.data.count)
        let end = min(start + configuration.maxMessageBytes, snapshot.data.count)
        let chunk = SnapshotChunk(
            metadata: snapshot.metadata, offset: UInt64(start), data: Array(snapshot.data[start..<end]),
            isLast: end == snapshot.data.count)
        send(
            Message(
                kind: .snapshot, from: configuration.id, to: id, term: term, logTerm: snapshot.metadata.term,
                index: snapshot.metadata.index, snapshot: chunk))
    }

    private mutating func handleAppendResponse(_ m: Message) {
        guard var pr = progress[m.from] else { return }
        pr.recentActive = true
        if m.reject {
            var hint = m.rejectHint
            if m.logTerm > 0 { hint = log.lastIndex(atOrBelow: m.rejectHint, withTermAtMost: m.logTerm) }
            if pr.maybeDecrease(rejected: m.index, hint: hint) {
                if pr.state == .replicate {
                    pr.becomeProbe()
                    pr.next = max(min(m.index, hint + 1), pr.match + 1)
                }
                progress[m.from] = pr
                sendAppend(to: m.from, sendIfEmpty: true)
            } else {
                progress[m.from] = pr
            }
            return
        }
        let updated = pr.maybeUpdate(m.index)
        let leavesSnapshot =
            pr.state == .snapshot && (pr.match >= pr.pendingSnapshotIndex || pr.match >= log.snapshotIndex)
        if leavesSnapshot {
            // Installed, or the follower already holds everything the log still needs: back to entries.
            pr.becomeProbe()
        } else if updated {
            switch pr.state {
            case .probe: pr.becomeReplicate()
            case .replicate: pr.freeInflight(through: m.index)
            case .snapshot: break
            }
        }
        progress[m.from] = pr
        guard updated || leavesSnapshot else { return }
        if maybeCommit() {
            needsBroadcast = true
        }
        if m.from == leadTransferee && pr.match == log.lastIndex {
            send(Message(kind: .timeoutNow, from: configuration.id, to: m.from, term: term))
        }
        if role == .leader { while sendAppend(to: m.from, sendIfEmpty: false) {} }
    }

    private mutating func handleHeartbeatResponse(_ m: Message) {
        guard var pr = progress[m.from] else { return }
        pr.recentActive = true
        pr.probeSent = false
        if pr.state == .replicate && pr.inflightCount >= configuration.maxInflightMessages { pr.freeFirstInflight() }
        progress[m.from] = pr
        if pr.state == .snapshot {
            sendSnapshotChunk(to: m.from)
        } else if pr.match < log.lastIndex {
            sendAppend(to: m.from, sendIfEmpty: true)
        }
        if m.context != 0 { acknowledgeRead(m.context, from: m.from) }
    }

    private mutating func handleSnapshotResponse(_ m: Message) {
        guard var pr = progress[m.from] else { return }
        pr.recentActive = true
        guard pr.state == .snapshot, pr.pendingSnapshotIndex == m.index else {
            progress[m.from] = pr
            return
        }
        pr.snapshotOffset = Int(m.context)
        progress[m.from] = pr
        sendSnapshotChunk(to: m.from)
    }

    /// Advances the commit index to the highest index of this term acknowledged by a quorum. The leader's own
    /// acknowledgement is its persisted (stable) index.
    @discardableResult
    private mutating func maybeCommit() -> Bool {
        var matches: [NodeID: UInt64] = [configuration.id: log.stableIndex]
        for (id, pr) in progress { matches[id] = pr.match }
        let candidates = Set(membership.allVoters.map { matches[$0] ?? 0 }).sorted(by: >)
        var quorumIndex: UInt64 = 0
        for candidate in candidates where candidate > log.committed {
            let acknowledged = Set(membership.allVoters.filter { (matches[$0] ?? 0) >= candidate })
            if isQuorum(acknowledged, geo: configuration.requireTwoRegionQuorum) {
                quorumIndex = candidate
                break
            }
        }
        // Figure 8: only an entry of the current term commits by counting.
        guard quorumIndex > log.committed, log.term(at: quorumIndex) == term else { return false }
        let previous = log.committed
        log.committed = quorumIndex
        commitAdvancedSinceBroadcast = true
        var released = 0
        for index in (previous + 1)...quorumIndex where index > log.snapshotIndex {
            let entry = log.entry(at: index)
            if entry.term == term && entry.kind == .normal { released += entry.data.count }
        }
        uncommittedBytes = max(0, uncommittedBytes - released)
        afterCommit()
        return true
    }

    private mutating func afterCommit() {
        if !readsAwaitingCommit.isEmpty && log.term(at: log.committed) == term {
            let waiting = readsAwaitingCommit
            readsAwaitingCommit = []
            for id in waiting { startRead(id) }
        }
        guard log.committed >= pendingConfigurationIndex else { return }
        if membership.isJoint {
            // Joint configuration committed: leave it automatically.
            let target = Membership(voters: membership.voters, learners: membership.learners)
            let entry = Entry(term: term, index: log.lastIndex + 1, kind: .configuration, data: target.encoded())
            pendingConfigurationIndex = entry.index
            appendAsLeader(entry)
        } else if !membership.voters.contains(configuration.id) {
            // This leader was removed and its removal is committed: hand the commit on, then step down.
            broadcastAppends()
            commitAdvancedSinceBroadcast = false
            becomeFollower(term: term, leader: 0)
        }
    }

    // MARK: - ReadIndex

    private mutating func startRead(_ requestID: UInt64) {
        let read = PendingRead(requestID: requestID, index: log.committed, acks: [configuration.id])
        if isQuorum(read.acks, geo: false) {
            readStates.append(ReadState(requestID: requestID, index: read.index))
            return
        }
        pendingReads.append(read)
        broadcastHeartbeats(context: requestID)
    }

    private mutating func acknowledgeRead(_ requestID: UInt64, from: NodeID) {
        guard membership.allVoters.contains(from),
            let position = pendingReads.firstIndex(where: { $0.requestID == requestID })
        else { return }
        pendingReads[position].acks.insert(from)
        guard isQuorum(pendingReads[position].acks, geo: false) else { return }
        for read in pendingReads[...position] {
            readStates.append(ReadState(requestID: read.requestID, index: read.index))
        }
        pendingReads.removeFirst(position + 1)
    }

    // MARK: - Membership

    /// The membership in force at `index`: the last configuration entry at or before it, else the snapshot's,
    /// else the configured initial one.
    private func membershipAt(_ index: UInt64) -> Membership {
        configurationEntry(atOrBelow: index).membership
    }

    /// The last configuration entry at or before `index`: its membership and index (0 when it comes from the
    /// snapshot or the initial configuration).
    private func configurationEntry(atOrBelow index: UInt64) -> (membership: Membership, index: UInt64) {
        var position = min(index, log.lastIndex)
        while position > log.snapshotIndex {
            if log.kind(at: position) == .configuration,
                let decoded = Membership(encoded: log.entry(at: position).data)
            {
                return (decoded, position)
            }
            position -= 1
        }
        return (snapshotMembership ?? configuration.membership, 0)
    }

    private mutating func refreshMembership() {
        let latest = configurationEntry(atOrBelow: log.lastIndex)
        configurationIndex = latest.index
        previousMembership = latest.index > 0 ? membershipAt(latest.index - 1) : latest.membership
        let updated = latest.membership
        guard updated != membership else { return }
        membership = updated
        knownNodes.formUnion(updated.allMembers)
        if role == .leader {
            for member in membership.allMembers where member != configuration.id && progress[member] == nil {
                var pr = Progress(next: log.lastIndex + 1)
                pr.recentActive = true
                progress[member] = pr
            }
            for id in progress.keys where !membership.allMembers.contains(id) { progress[id] = nil }
            if leadTransferee != 0 && !membership.allVoters.contains(leadTransferee) { leadTransferee = 0 }
        } else if role == .follower || role == .learner {
            role = isPromotable || !membership.learners.contains(configuration.id) ? .follower : .learner
        }
    }
}

public import ExchangeCore
public import Matching
public import Raft
public import Storage
public import Wire

/// Settings of one shard replica's apply loop.
public struct ShardReplicaOptions: Sendable, Hashable {
    /// Most commands packed into one log entry. Default: 1,024. Range: 1...65,536 (`ShardEntry`).
    public var maxCommandsPerEntry: Int
    /// Commands accepted from clients and not yet proposed; beyond it `submit` answers
    /// `.retryLater(.overloaded)` (back-pressure). Default: 65,536. Range: 1...1,048,576.
    public var maxQueuedCommands: Int
    /// Take a snapshot of the matching state and compact the log after this many applied entries.
    /// Default: 100,000. Range: 1...10^9.
    public var snapshotEveryEntries: UInt64
    /// The leader puts the hash of its state after every such index into the log, and every replica
    /// compares it with its own. Default: 1,000. Range: 1...10^9.
    public var stateHashEveryEntries: UInt64
    /// A leader that is not the highest-priority voter hands leadership back to a higher-priority
    /// voter (the primary after a failover) once that voter has been caught up for this many
    /// consecutive ticks: proof that it is healthy, and no flapping. Default: 100 (1 s at 10 ms
    /// ticks). Range: 1...100,000.
    public var handBackAfterTicks: Int
    /// Keep the shard's outbox (`ShardOutbox`): every committed event stays in the replicated state (and the
    /// snapshots) until the leader records that the publisher got it to Kafka. Must be the same on every
    /// replica of a shard (a cluster setting). Default: false (no post-trade pipeline).
    public var keepsOutbox: Bool

    public init(
        maxCommandsPerEntry: Int = 1_024, maxQueuedCommands: Int = 65_536, snapshotEveryEntries: UInt64 = 100_000,
        stateHashEveryEntries: UInt64 = 1_000, handBackAfterTicks: Int = 100, keepsOutbox: Bool = false
    ) {
        self.keepsOutbox = keepsOutbox
        self.maxCommandsPerEntry = maxCommandsPerEntry
        self.maxQueuedCommands = maxQueuedCommands
        self.snapshotEveryEntries = snapshotEveryEntries
        self.stateHashEveryEntries = stateHashEveryEntries
        self.handBackAfterTicks = handBackAfterTicks
    }

    public func validate() throws(ShardReplicaError) {
        func check(_ ok: Bool, _ field: String, _ range: String) throws(ShardReplicaError) {
            if !ok { throw ShardReplicaError(.invalidOptions, "\(field) must be in \(range)") }
        }
        try check((1...ShardEntry.maxCommandCount).contains(maxCommandsPerEntry), "maxCommandsPerEntry", "1...65536")
        try check((1...1_048_576).contains(maxQueuedCommands), "maxQueuedCommands", "1...1048576")
        try check((1...1_000_000_000).contains(snapshotEveryEntries), "snapshotEveryEntries", "1...10^9")
        try check((1...1_000_000_000).contains(stateHashEveryEntries), "stateHashEveryEntries", "1...10^9")
        try check((1...100_000).contains(handBackAfterTicks), "handBackAfterTicks", "1...100000")
    }
}

/// Where a client command came from, so that its outcome can be routed back (a connection and the
/// request id on it). Opaque to the replica.
public struct CommandOrigin: Sendable, Hashable {
    public var connection: UInt64
    public var requestID: UInt64

    public init(connection: UInt64, requestID: UInt64) {
        self.connection = connection
        self.requestID = requestID
    }
}

/// The answer to `ShardReplica.submit`.
public enum SubmitResult: Sendable, Hashable {
    /// Queued for the next entry; the outcome comes once it is committed and applied.
    case queued
    /// This replica does not lead the shard; `leaderHint` is the leader it knows, or 0.
    case notLeader(leaderHint: NodeID)
    /// Try again shortly (the queue is full, or leadership is being transferred).
    case retryLater(RetryReason)
}

public enum RetryReason: UInt8, Sendable, Hashable {
    case overloaded = 1
    case transferInProgress = 2
}

/// One command's result, delivered only after its entry was committed by a quorum and applied here.
public struct AppliedCommand: Sendable, Hashable {
    /// Where it came from; nil for commands this replica did not receive from a client (a follower,
    /// or a leader after a restart).
    public var origin: CommandOrigin?
    public var logIndex: UInt64
    /// Position of the command in its entry.
    public var position: Int
    /// The engine sequence it was applied with (`logIndex << 16 | position`), also the order id
    /// given to a new order.
    public var sequence: UInt64
    public var timestamp: Timestamp
    public var command: Command
    public var events: [Event]
}

/// A command the leader accepted but that will never be applied as sent: its entry lost the
/// election race. The client may retry with the same client order id (never applied twice).
public struct DroppedCommand: Sendable, Hashable {
    public var origin: CommandOrigin
    public var leaderHint: NodeID
}

/// What the shell must do after `finish`.
public struct ReplicaOutput: Sendable {
    /// Raft messages to send (the `Ready` they came with is durable).
    public var messages: [Message] = []
    /// Commands applied in this round, in log order (with their events, for replies and streams).
    public var applied: [AppliedCommand] = []
    public var dropped: [DroppedCommand] = []
    /// Set when the replica had to stop (a state-hash mismatch, an undecodable entry, a storage error).
    public var stopped: ShardReplicaError?
}

/// A fatal or configuration error of a replica.
public struct ShardReplicaError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: Sendable, Hashable {
        case invalidOptions
        /// This replica's state differs from the leader's at the same index: nondeterminism or a bug.
        case stateHashMismatch
        /// A committed entry does not decode: it was written by an incompatible build, or damaged.
        case undecodableEntry
        /// The storage failed (see `walError`); the replica must crash-stop and recover.
        case storage
        /// A snapshot's data is not a matching-engine snapshot this build reads.
        case badSnapshot
    }

    public var code: Code
    public var message: String
    public var logIndex: UInt64?
    public var walError: WALError?

    public init(_ code: Code, _ message: String, logIndex: UInt64? = nil, walError: WALError? = nil) {
        self.code = code
        self.message = message
        self.logIndex = logIndex
        self.walError = walError
    }

    public var description: String {
        "ShardReplicaError(\(code)): \(message)" + (logIndex.map { " at index \($0)" } ?? "")
            + (walError.map { " (\($0))" } ?? "")
    }
}

/// One replica of one shard: the Raft node, its storage and the matching state machine, driven by
/// the node's loop.
///
/// Per round the shell calls, on one thread: `tick`/`step`/`submit` as input arrives;
/// `proposeQueued(now:)` (leader: pack queued commands into entries stamped with log time); then
/// while `hasReady`: `prepare()` (writes to storage), a sync (`WriteAheadLog.syncAll` over the
/// node's replicas, one fsync round), then `finish(_:)` (applies, advances) and send its messages.
///
/// Commands are applied by every replica with the entry's timestamp and the sequence
/// `logIndex << 16 | position`, which is also the order id of a new order: every replica computes
/// the same state, which the state-hash checks in the log verify.
public final class ShardReplica {
    public let shardID: UInt32
    public let options: ShardReplicaOptions
    public private(set) var raft: RaftNode
    public let storage: ReplicaStorage
    public private(set) var engine: MatchingEngine
    public private(set) var appliedIndex: UInt64
    public private(set) var stopped: ShardReplicaError?
    /// Every applied client command, in log order (`AuditTrail`).
    public let audit: AuditTrail
    /// The most recent state-hash checkpoints this replica computed (index, hash), oldest first,
    /// at most `hashHistoryLimit`: every replica must have the same hash at the same index.
    public private(set) var hashHistory: [(index: UInt64, hash: UInt64)] = []
    public static let hashHistoryLimit = 128

    private let engineConfiguration: EngineConfiguration
    private var queued: [(command: Command, origin: CommandOrigin)] = []
    /// Entries this leader proposed with client commands: index -> (term, origins by position).
    private var inflight: [UInt64: (term: UInt64, origins: [CommandOrigin])] = [:]
    private var lastProposedTimestamp: Timestamp = .zero
    /// Own state hashes at checkpoint indices, kept until the leader's check for them is applied.
    private var checkpoints: [UInt64: UInt64] = [:]
    private var pendingCheck: StateHashCheck?
    private var lastSnapshotIndex: UInt64
    /// Election priorities of the group (primary highest, standby next), for handing leadership back.
    private let priorities: [NodeID: Int]
    /// Leadership transfers this replica started to give the lead back to a higher-priority replica.
    public private(set) var priorityTransfers = 0
    /// A voter at most this many entries behind the leader's log counts as caught up for the hand-back
    /// (under load the leader always has a few entries in flight; the transfer itself waits for the
    /// target to have every entry before it hands over).
    static let handBackLagEntriesMax: UInt64 = 64
    /// Consecutive ticks a higher-priority voter has been caught up while this replica led.
    private var handBackReadyTicks = 0
    /// Incremented per state-hash comparison made, for metrics and tests.
    public private(set) var stateHashChecks = 0
    /// Committed events not yet recorded as published (only with `options.keepsOutbox`).
    public private(set) var outbox = ShardOutbox()
    /// Outbox entries appended since the last `takeNewOutboxEntries()`, for the publisher.
    private var newOutboxEntries: [OutboxEntry] = []
    /// Leader: the publisher's delivery progress to record in the log, and the last mark proposed.
    private var outboxMarkWanted: UInt64 = 0
    private var outboxMarkProposed: UInt64 = 0

    /// Opens the replica's storage (recovering it) and restores Raft and the engine from it.
    public static func open(
        shardID: UInt32, raftConfiguration: RaftConfiguration, engineConfiguration: EngineConfiguration,
        options: ShardReplicaOptions, fileSystem: any FileSystem, directory: String,
        walOptions: WriteAheadLogOptions
    ) throws(ShardReplicaError) -> (replica: ShardReplica, report: RecoveryReport) {
        try options.validate()
        let opened: (storage: ReplicaStorage, state: RaftPersistentState, report: RecoveryReport)
        do {
            opened = try ReplicaStorage.open(fileSystem: fileSystem, directory: directory, options: walOptions)
        } catch {
            throw ShardReplicaError(.storage, "recovery refused", walError: error)
        }
        let engine: MatchingEngine
        var outbox = ShardOutbox()
        if let snapshot = opened.state.snapshot {
            (engine, outbox) = try restore(snapshot)
        } else {
            do { engine = try MatchingEngine(configuration: engineConfiguration) } catch {
                throw ShardReplicaError(.invalidOptions, "\(error)")
            }
        }
        let raft = RaftNode(configuration: raftConfiguration, restoring: opened.state)
        let snapshotIndex = opened.state.snapshot?.metadata.index ?? 0
        let audit: AuditTrail
        do {
            audit = try AuditTrail(fileSystem: fileSystem, directory: directory, snapshotIndex: snapshotIndex)
        } catch {
            throw ShardReplicaError(.storage, "audit trail: \(error)")
        }
        let replica = ShardReplica(
            shardID: shardID, options: options, raft: raft, storage: opened.storage, engine: engine,
            engineConfiguration: engineConfiguration, appliedIndex: snapshotIndex,
            priorities: raftConfiguration.electionPriorities, audit: audit)
        replica.outbox = outbox
        return (replica, opened.report)
    }

    /// The engine and the outbox of a snapshot (`ShardSnapshot`; a bare engine snapshot has an empty outbox).
    static func restore(_ snapshot: Snapshot) throws(ShardReplicaError) -> (MatchingEngine, ShardOutbox) {
        do {
            let decoded = try ShardSnapshot(decoding: snapshot.data)
            return (try MatchingEngine(snapshot: decoded.engine), decoded.outbox)
        } catch {
            throw ShardReplicaError(.badSnapshot, "\(error)", logIndex: snapshot.metadata.index)
        }
    }

    private init(
        shardID: UInt32, options: ShardReplicaOptions, raft: RaftNode, storage: ReplicaStorage,
        engine: MatchingEngine, engineConfiguration: EngineConfiguration, appliedIndex: UInt64,
        priorities: [NodeID: Int], audit: AuditTrail
    ) {
        self.priorities = priorities
        self.audit = audit
        self.shardID = shardID
        self.options = options
        self.raft = raft
        self.storage = storage
        self.engine = engine
        self.engineConfiguration = engineConfiguration
        self.appliedIndex = appliedIndex
        self.lastSnapshotIndex = appliedIndex
    }

    public var status: RaftStatus { raft.status }
    public var isLeader: Bool { raft.status.role == .leader }
    public var queuedCommandCount: Int { queued.count }

    // MARK: Input

    public func tick() {
        guard stopped == nil else { return }
        raft.tick()
        handBackLeadershipIfDue()
    }

    /// A leader that is not the group's highest-priority voter hands leadership to the
    /// highest-priority voter that is caught up (the primary back after a failover), once it has been
    /// so for `handBackAfterTicks` ticks: Raft's leader transfer, so no acknowledged command is lost
    /// and the gap is about one round trip and an fsync.
    private func handBackLeadershipIfDue() {
        let status = raft.status
        guard status.role == .leader, status.leadTransferee == 0, !priorities.isEmpty else {
            handBackReadyTicks = 0
            return
        }
        let mine = priorities[status.id] ?? 0
        let candidates = status.progress.filter { id, progress in
            !progress.isLearner && (priorities[id] ?? 0) > mine && progress.state == .replicate
                && progress.match + Self.handBackLagEntriesMax >= status.lastIndex
        }
        guard !candidates.isEmpty else {
            handBackReadyTicks = 0
            return
        }
        handBackReadyTicks += 1
        guard handBackReadyTicks >= options.handBackAfterTicks else { return }
        // Only to a voter heard from in this check-quorum round (an idle log leaves a dead voter "caught up").
        guard
            let target = candidates.filter({ $0.value.recentActive }).keys
                .max(by: { (priorities[$0] ?? 0, $1) < (priorities[$1] ?? 0, $0) })
        else { return }
        handBackReadyTicks = 0
        if raft.transferLeadership(to: target) == nil { priorityTransfers += 1 }
    }

    public func step(_ message: Message) {
        guard stopped == nil else { return }
        raft.step(message)
    }

    /// Accepts a client command for the next entry. A new order's `orderID` is ignored: the order id
    /// is assigned when the command is applied.
    public func submit(_ command: Command, origin: CommandOrigin) -> SubmitResult {
        let status = raft.status
        guard stopped == nil, status.role == .leader else { return .notLeader(leaderHint: status.leader) }
        if status.leadTransferee != 0 { return .retryLater(.transferInProgress) }
        if queued.count >= options.maxQueuedCommands { return .retryLater(.overloaded) }
        queued.append((command, origin))
        return .queued
    }

    /// Leader: packs the queued commands (and a pending state-hash check) into entries stamped with
    /// `now` (raised to stay monotonic) and proposes them. Returns commands that could not be
    /// proposed (leadership lost meanwhile).
    public func proposeQueued(now: Timestamp) -> [DroppedCommand] {
        guard stopped == nil else { return [] }
        guard raft.status.role == .leader else {
            let hint = raft.status.leader
            defer { queued.removeAll() }
            return queued.map { DroppedCommand(origin: $0.origin, leaderHint: hint) }
        }
        var dropped: [DroppedCommand] = []
        while !queued.isEmpty || pendingCheck != nil || outboxMarkDue {
            let count = min(queued.count, options.maxCommandsPerEntry)
            let batch = queued.prefix(count)
            let timestamp = max(now, lastProposedTimestamp, engine.lastTimestamp ?? .zero)
            let mark = outboxMarkDue ? outboxMarkWanted : nil
            let entry = ShardEntry(
                timestamp: timestamp, commands: batch.map(\.command), stateHash: pendingCheck, publishedThrough: mark)
            switch raft.propose(entry.encoded()) {
            case .accepted(let index, let term):
                lastProposedTimestamp = timestamp
                pendingCheck = nil
                if let mark { outboxMarkProposed = mark }
                if count > 0 { inflight[index] = (term, batch.map(\.origin)) }
                queued.removeFirst(count)
            case .refused(let refusal):
                let hint: NodeID
                switch refusal {
                case .notLeader(let leaderHint): hint = leaderHint
                default: hint = raft.status.leader
                }
                // Back-pressure (too many uncommitted bytes) keeps the queue; anything else drops it.
                if case .tooManyUncommittedBytes = refusal { return dropped }
                dropped += queued.map { DroppedCommand(origin: $0.origin, leaderHint: hint) }
                queued.removeAll()
                return dropped
            }
        }
        return dropped
    }

    // MARK: Ready

    public var hasReady: Bool { stopped == nil && raft.hasReady }

    /// Takes the next `Ready` and writes what it persists (not yet synced).
    public func prepare() throws(ShardReplicaError) -> Ready? {
        guard hasReady else { return nil }
        let ready = raft.ready()
        do { try storage.write(ready) } catch {
            let failure = ShardReplicaError(.storage, "write failed", walError: error)
            stopped = failure
            throw failure
        }
        return ready
    }

    /// After the sync that made `ready` durable: installs its snapshot, applies its committed
    /// entries, advances Raft and takes a snapshot when due. Returns the messages to send now.
    public func finish(_ ready: Ready) -> ReplicaOutput {
        var output = ReplicaOutput()
        guard stopped == nil else {
            output.stopped = stopped
            return output
        }
        output.messages = ready.messages
        if let snapshot = ready.snapshot {
            do {
                (engine, outbox) = try Self.restore(snapshot)
            } catch {
                return stop(error, &output)
            }
            // The publisher must start over from the installed outbox.
            newOutboxEntries.removeAll()
            outboxResetCount += 1
            appliedIndex = snapshot.metadata.index
            lastSnapshotIndex = snapshot.metadata.index
            audit.record(.snapshotMarker(at: snapshot.metadata.index))
            checkpoints.removeAll()
            inflight = inflight.filter { $0.key > snapshot.metadata.index }
        }
        for entry in ready.committedEntries {
            if let failure = apply(entry, into: &output) { return stop(failure, &output) }
        }
        raft.advance(ready)
        do { try audit.flush() } catch {
            return stop(ShardReplicaError(.storage, "audit trail write failed: \(error)", logIndex: appliedIndex), &output)
        }
        if appliedIndex >= lastSnapshotIndex + options.snapshotEveryEntries {
            if let failure = takeSnapshot() { return stop(failure, &output) }
        }
        return output
    }

    private func stop(_ failure: ShardReplicaError, _ output: inout ReplicaOutput) -> ReplicaOutput {
        stopped = failure
        output.stopped = failure
        return output
    }

    private func apply(_ entry: Entry, into output: inout ReplicaOutput) -> ShardReplicaError? {
        defer { appliedIndex = entry.index }
        let proposal = inflight.removeValue(forKey: entry.index)
        var origins: [CommandOrigin] = []
        if let proposal {
            if proposal.term == entry.term {
                origins = proposal.origins
            } else {
                // Our entry at this index lost to another leader's: those commands were never applied.
                let hint = raft.status.leader
                output.dropped += proposal.origins.map { DroppedCommand(origin: $0, leaderHint: hint) }
            }
        }
        if entry.kind == .normal {
            let shardEntry: ShardEntry
            do { shardEntry = try ShardEntry(decoding: entry.data) } catch {
                return ShardReplicaError(.undecodableEntry, "\(error)", logIndex: entry.index)
            }
            var events: [Event] = []
            var entryEvents: [Event] = []
            let recording = audit.wants(entry.index)
            for (position, original) in shardEntry.commands.enumerated() {
                let sequence = entry.index << 16 | UInt64(position)
                var command = original
                if case .newOrder(var order) = command {
                    order.orderID = OrderID(sequence)
                    command = .newOrder(order)
                }
                events.removeAll(keepingCapacity: true)
                engine.apply(command, timestamp: shardEntry.timestamp, sequence: sequence, into: &events)
                let applied = AppliedCommand(
                    origin: position < origins.count ? origins[position] : nil, logIndex: entry.index,
                    position: position, sequence: sequence, timestamp: shardEntry.timestamp, command: command,
                    events: events)
                if recording, let record = AuditRecord(applied: applied) { audit.record(record) }
                if options.keepsOutbox { entryEvents += events }
                output.applied.append(applied)
            }
            if options.keepsOutbox {
                if let kept = outbox.append(logIndex: entry.index, timestamp: shardEntry.timestamp, events: entryEvents) {
                    newOutboxEntries.append(kept)
                }
                if let mark = shardEntry.publishedThrough { outbox.markPublished(through: mark) }
            }
            if let check = shardEntry.stateHash {
                if let own = checkpoints.removeValue(forKey: check.index) {
                    stateHashChecks += 1
                    if own != check.hash {
                        return ShardReplicaError(
                            .stateHashMismatch,
                            "state hash after index \(check.index) is \(own) here, \(check.hash) at the leader",
                            logIndex: entry.index)
                    }
                }
                checkpoints = checkpoints.filter { $0.key > check.index }
            }
        }
        if entry.index % options.stateHashEveryEntries == 0 {
            let hash = engine.stateHash()
            checkpoints[entry.index] = hash
            hashHistory.append((entry.index, hash))
            if hashHistory.count > Self.hashHistoryLimit { hashHistory.removeFirst(hashHistory.count - Self.hashHistoryLimit) }
            if raft.status.role == .leader { pendingCheck = StateHashCheck(index: entry.index, hash: hash) }
            // Bounded: a check the leader never sent (leadership changed) is forgotten eventually.
            if checkpoints.count > 64, let oldest = checkpoints.keys.min() { checkpoints[oldest] = nil }
        }
        return nil
    }

    private func takeSnapshot() -> ShardReplicaError? {
        let data = options.keepsOutbox
            ? ShardSnapshot(engine: engine.snapshot(), outbox: outbox).encoded() : engine.snapshot()
        raft.compact(upTo: appliedIndex, snapshotData: data)
        guard let snapshot = raft.latestSnapshot, snapshot.metadata.index == appliedIndex else { return nil }
        // The trail must hold every record the snapshot covers before the log entries go.
        do { try audit.sync() } catch {
            return ShardReplicaError(.storage, "audit trail sync failed: \(error)", logIndex: appliedIndex)
        }
        do { try storage.saveSnapshot(snapshot) } catch {
            return ShardReplicaError(.storage, "snapshot failed", logIndex: appliedIndex, walError: error)
        }
        lastSnapshotIndex = appliedIndex
        return nil
    }

    // MARK: Outbox

    /// Incremented whenever the outbox was replaced wholesale (a snapshot installed): the publisher must
    /// take `outbox.entries` again instead of continuing with new entries.
    public private(set) var outboxResetCount = 0

    /// Outbox entries applied since the last call, oldest first.
    public func takeNewOutboxEntries() -> [OutboxEntry] {
        defer { newOutboxEntries.removeAll(keepingCapacity: true) }
        return newOutboxEntries
    }

    /// Leader: the publisher has every published event through `index` in Kafka; the next proposal records
    /// it in the log (at most one mark per proposal round; marks never go backwards).
    public func recordPublished(through index: UInt64) {
        guard options.keepsOutbox, index > outboxMarkWanted else { return }
        outboxMarkWanted = min(index, appliedIndex)
    }

    /// A new leadership: forget marks proposed in an earlier term (their entries may have been lost).
    public func resetOutboxMarks() {
        outboxMarkProposed = outbox.publishedThrough
        outboxMarkWanted = max(outboxMarkWanted, outbox.publishedThrough)
    }

    private var outboxMarkDue: Bool {
        options.keepsOutbox && raft.status.role == .leader && outboxMarkWanted > outboxMarkProposed
            && outboxMarkWanted > outbox.publishedThrough
    }

    /// Applies a command to the engine behind Raft's back, so that this replica diverges. Tests only.
    func testOnlyApply(_ command: Command) {
        var events: [Event] = []
        engine.apply(
            command, timestamp: engine.lastTimestamp ?? .zero, sequence: engine.lastSequence + 1, into: &events)
    }

    /// Asks Raft to hand leadership to `target` (the primary regaining it, or an operator's request).
    public func transferLeadership(to target: NodeID) -> RaftRefusal? {
        raft.transferLeadership(to: target)
    }
}

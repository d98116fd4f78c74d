import Dispatch
import ExchangeCore
import Glibc
public import Logging
public import Matching
import NIOConcurrencyHelpers
public import Raft
public import Wire

/// What became of a command handed to `NodeRuntime.submit`.
public enum SubmissionOutcome: Sendable {
    /// Committed by a quorum and applied here (the events say accepted, rejected, duplicate...).
    case applied(AppliedCommand)
    /// Not executed: this node does not lead the shard (`leaderHint` may name the leader, or 0).
    case notLeader(leaderHint: NodeID)
    /// Not executed: overloaded or transferring leadership; retry with the same client order id.
    case retryLater(RetryReason)
    /// This node hosts no replica of the shard.
    case unknownShard
    /// The node is stopping or stopped; the command may or may not have been applied: retry
    /// elsewhere with the same client order id (never applied twice).
    case unavailable
}

/// What became of `NodeRuntime.subscribe`.
public enum SubscribeOutcome: Sendable, Hashable {
    /// Added to the feed with `id` (for `ExecutionFeed.remove`); reports follow for entries after
    /// `logIndex`.
    case subscribed(id: UInt64, logIndex: UInt64)
    /// This node hosts no replica of the shard.
    case unknownShard
    /// The node is stopping or stopped.
    case unavailable
}

/// Settings of the node loop.
public struct NodeRuntimeOptions: Sendable, Hashable {
    /// Raft tick interval in milliseconds. Default: 10. Range: 1...1,000.
    public var tickMilliseconds: Int
    /// Submissions waiting for the loop; beyond it `submit` answers `.retryLater(.overloaded)` at
    /// once. Default: 65,536. Range: 1...1,048,576.
    public var submissionQueueMax: Int
    /// Raft messages taken from the transport per loop pass. Default: 65,536. Range: 1...1,048,576.
    public var inboundPerPassMax: Int

    public init(tickMilliseconds: Int = 10, submissionQueueMax: Int = 65_536, inboundPerPassMax: Int = 65_536) {
        self.tickMilliseconds = tickMilliseconds
        self.submissionQueueMax = submissionQueueMax
        self.inboundPerPassMax = inboundPerPassMax
    }

    public func validate() throws(ShardReplicaError) {
        guard (1...1_000).contains(tickMilliseconds) else {
            throw ShardReplicaError(.invalidOptions, "tickMilliseconds must be in 1...1000")
        }
        guard (1...1_048_576).contains(submissionQueueMax) else {
            throw ShardReplicaError(.invalidOptions, "submissionQueueMax must be in 1...1048576")
        }
        guard (1...1_048_576).contains(inboundPerPassMax) else {
            throw ShardReplicaError(.invalidOptions, "inboundPerPassMax must be in 1...1048576")
        }
    }
}

/// The node's loop: one dedicated thread that owns the `ShardHost` (every shard replica of this
/// node) and drives it: Raft ticks, messages from the transport, client submissions, then one
/// persist / sync / apply pass, then the outbound messages and the outcomes.
///
/// Everything else talks to it through thread-safe entry points: `submit` (from client
/// connections), the transport's inbound queue (woken through `wake`), `inspect` (run a closure
/// on the loop thread, for status and tests) and `subscribe` (the execution stream: after every
/// pass the loop hands the events it applied to `executionFeed`, which writes to subscribers on
/// their event loops and never makes the loop wait). The loop blocks on fsync by design: it is its own
/// thread, never an event loop or the cooperative pool (CONVENTIONS 6, 7).
public final class NodeRuntime: Sendable {
    public let nodeID: NodeID
    public let options: NodeRuntimeOptions
    private let transport: NodeTransport
    private let logger: Logger
    private let metrics: NodeMetrics?
    private let outboxSink: (any OutboxSink)?
    private let wakeup = DispatchSemaphore(value: 0)
    /// Signalled once when the loop has exited.
    private let exited = DispatchSemaphore(value: 0)
    private let shared: NIOLockedValueBox<Shared>
    /// The host, owned by the loop thread once started (see `LoopOwned`).
    private let owned: LoopOwned
    /// The execution stream of every shard replica of this node: each pass publishes the events of
    /// the entries it applied (committed ones only, in log order); `subscribe` adds a listener.
    public let executionFeed = ExecutionFeed()

    private struct Shared {
        var submissions: [Submission] = []
        var inspections: [@Sendable (ShardHost) -> Void] = []
        var running = false
        var stopRequested = false
        var failure: HostFailure?
        var loopExited = false
    }

    struct Submission: Sendable {
        var shard: UInt32
        var command: Command
        var completion: @Sendable (SubmissionOutcome) -> Void
        /// When `submit` was called (monotonic), for the commit-latency metric.
        var submittedAt: UInt64 = 0
    }

    /// A command proposed by this node, waiting for its outcome.
    struct Pending {
        var shard: UInt32
        var submittedAt: UInt64
        var completion: @Sendable (SubmissionOutcome) -> Void
    }

    /// Holds the non-Sendable `ShardHost` and the loop's private state.
    /// @unchecked Sendable: after `start()` only the loop thread touches `host` and `pending`;
    /// before it, only the thread calling `init` and `start`.
    private final class LoopOwned: @unchecked Sendable {
        let host: ShardHost
        var pending: [CommandOrigin: Pending] = [:]
        var nextConnection: UInt64 = 0
        var publisher = ExecutionPublisher()
        /// Shards whose outbox this node hands to the sink: the term and outbox generation it leads with.
        var outboxLeading: [UInt32: (term: UInt64, resets: Int)] = [:]
        init(host: ShardHost) { self.host = host }
    }

    /// - Parameters:
    ///   - host: the shard replicas, already recovered; ownership passes to the loop thread.
    ///   - transport: started by the caller; the runtime sends through it and drains its inbound
    ///     queue. Create it with `onInbound: { runtime.wake() }` (or call `wake()` yourself).
    ///   - metrics: where the loop records proposals and dropped commands, commit latency (submit to
    ///     applied, on the leader), apply latency and the duration of each sync round.
    public init(
        host: ShardHost, transport: NodeTransport, options: NodeRuntimeOptions = NodeRuntimeOptions(),
        metrics: NodeMetrics? = nil, outboxSink: (any OutboxSink)? = nil,
        logger: Logger = Logger(label: "exchange.node")
    ) throws(ShardReplicaError) {
        try options.validate()
        self.outboxSink = outboxSink
        nodeID = host.nodeID
        self.options = options
        self.transport = transport
        self.logger = logger
        self.metrics = metrics
        owned = LoopOwned(host: host)
        shared = NIOLockedValueBox(Shared())
    }

    /// Wakes the loop (new transport messages); cheap, callable from any thread, never blocks.
    public func wake() { wakeup.signal() }

    /// Starts the loop thread.
    public func start() {
        let alreadyRunning = shared.withLockedValue { state -> Bool in
            if state.running || state.loopExited { return true }
            state.running = true
            return false
        }
        precondition(!alreadyRunning, "NodeRuntime.start called twice")
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let status = pthread_create(
            &thread, nil,
            { raw in
                let runtime = Unmanaged<NodeRuntime>.fromOpaque(raw!).takeRetainedValue()
                runtime.loop()
                return nil
            }, context)
        precondition(status == 0, "pthread_create failed: \(status)")
        pthread_detach(thread)
    }

    /// Asks the loop to stop and waits until it has: pending submissions get `.unavailable`.
    public func stop() {
        let wasRunning = shared.withLockedValue { state -> Bool in
            state.stopRequested = true
            return state.running && !state.loopExited
        }
        guard wasRunning else { return }
        wakeup.signal()
        exited.wait()
        exited.signal()  // let a concurrent or later `stop` return too
    }

    /// The storage failure that stopped the loop, if any: the process must exit and recover.
    public var failure: HostFailure? { shared.withLockedValue { $0.failure } }

    /// Hands a client command to the loop. `completion` is called exactly once, on the loop thread
    /// (keep it short: hand off to an event loop).
    public func submit(
        shard: UInt32, _ command: Command, completion: @escaping @Sendable (SubmissionOutcome) -> Void
    ) {
        let submittedAt = metrics == nil ? 0 : Self.monotonicNanoseconds()
        let accepted = shared.withLockedValue { state -> Bool in
            guard state.running, !state.stopRequested else { return false }
            guard state.submissions.count < options.submissionQueueMax else { return false }
            state.submissions.append(
                Submission(shard: shard, command: command, completion: completion, submittedAt: submittedAt))
            return true
        }
        if accepted {
            wakeup.signal()
        } else {
            let stopping = shared.withLockedValue { !$0.running || $0.stopRequested }
            completion(stopping ? .unavailable : .retryLater(.overloaded))
        }
    }

    /// Runs `body` on the loop thread between passes and returns its result (blocks the caller).
    public func inspect<T: Sendable>(_ body: @escaping @Sendable (ShardHost) -> T) -> T? {
        let box = NIOLockedValueBox<T?>(nil)
        let done = DispatchSemaphore(value: 0)
        let queued = shared.withLockedValue { state -> Bool in
            guard state.running, !state.loopExited else { return false }
            state.inspections.append { host in
                box.withLockedValue { $0 = body(host) }
                done.signal()
            }
            return true
        }
        guard queued else { return nil }
        wakeup.signal()
        done.wait()
        return box.withLockedValue { $0 }
    }

    /// Runs `body` on the loop thread between passes and hands its result to `completion` (on the
    /// loop thread; nil when the loop is not running). Never blocks the caller: for event loops.
    public func inspect<T: Sendable>(
        _ body: @escaping @Sendable (ShardHost) -> T, completion: @escaping @Sendable (T?) -> Void
    ) {
        let queued = shared.withLockedValue { state -> Bool in
            guard state.running, !state.loopExited else { return false }
            state.inspections.append { host in completion(body(host)) }
            return true
        }
        if queued { wakeup.signal() } else { completion(nil) }
    }

    /// Adds `subscriber` to the execution feed between two passes, so that it gets exactly the
    /// events of the entries applied after the index it is told. `completion` runs on the loop
    /// thread (keep it short) before any report reaches the subscriber's event loop: anything it
    /// schedules there with `execute` runs before the first `deliver`.
    ///
    /// - Parameter shard: the shard whose applied index starts the stream (a symbol filter's
    ///   shard); nil: every shard here, and the answer's log index is 0 (log indices are per shard).
    public func subscribe(
        shard: UInt32?, _ subscriber: any ExecutionSubscriber,
        completion: @escaping @Sendable (SubscribeOutcome) -> Void
    ) {
        let feed = executionFeed
        inspect({ host -> SubscribeOutcome in
            var logIndex: UInt64 = 0
            if let shard {
                guard let replica = host.replicas[shard] else { return .unknownShard }
                logIndex = replica.appliedIndex
            }
            guard let id = feed.add(subscriber) else { return .unavailable }
            return .subscribed(id: id, logIndex: logIndex)
        }) { outcome in completion(outcome ?? .unavailable) }
    }

    // MARK: The loop

    /// Hands the outbox of every shard this node leads to the sink, and records the sink's progress.
    private func serviceOutbox(host: ShardHost, sink: any OutboxSink) {
        for (shard, replica) in host.replicas where replica.options.keepsOutbox {
            let fresh = replica.takeNewOutboxEntries()
            let status = replica.status
            guard status.role == .leader, replica.stopped == nil else {
                if owned.outboxLeading.removeValue(forKey: shard) != nil { sink.resign(shard: shard) }
                continue
            }
            if let leading = owned.outboxLeading[shard], leading.term == status.term,
                leading.resets == replica.outboxResetCount
            {
                if !fresh.isEmpty { sink.append(shard: shard, term: status.term, entries: fresh) }
            } else {
                replica.resetOutboxMarks()
                sink.lead(shard: shard, term: status.term, entries: Array(replica.outbox.entries))
                owned.outboxLeading[shard] = (status.term, replica.outboxResetCount)
            }
            if let delivered = sink.deliveredThrough(shard: shard, term: status.term) {
                replica.recordPublished(through: delivered)
            }
        }
    }

    private func loop() {
        let host = owned.host
        owned.publisher.seed(host)
        let tickNanoseconds = UInt64(options.tickMilliseconds) * 1_000_000
        var nextTick = Self.monotonicNanoseconds() + tickNanoseconds
        while true {
            let now = Self.monotonicNanoseconds()
            if now < nextTick {
                _ = wakeup.wait(timeout: .now() + .nanoseconds(Int(nextTick - now)))
            }
            let (submissions, inspections, stopRequested) = shared.withLockedValue { state in
                defer {
                    state.submissions.removeAll(keepingCapacity: true)
                    state.inspections.removeAll(keepingCapacity: true)
                }
                return (state.submissions, state.inspections, state.stopRequested)
            }
            for inspection in inspections { inspection(host) }
            if stopRequested {
                finish(submissions: submissions, failure: nil)
                return
            }
            if Self.monotonicNanoseconds() >= nextTick {
                host.tick()
                nextTick += tickNanoseconds
                let current = Self.monotonicNanoseconds()
                if nextTick < current { nextTick = current + tickNanoseconds }
            }
            for inbound in transport.drainInbound(maxMessages: options.inboundPerPassMax) {
                host.step(shard: inbound.group, inbound.message)
            }
            for submission in submissions {
                owned.nextConnection &+= 1
                let origin = CommandOrigin(connection: nodeID, requestID: owned.nextConnection)
                let result = host.submit(shard: submission.shard, submission.command, origin: origin)
                if let result { metrics?.recordSubmit(shard: submission.shard, result) }
                switch result {
                case nil: submission.completion(.unknownShard)
                case .queued:
                    owned.pending[origin] = Pending(
                        shard: submission.shard, submittedAt: submission.submittedAt, completion: submission.completion)
                case .notLeader(let hint): submission.completion(.notLeader(leaderHint: hint))
                case .retryLater(let reason): submission.completion(.retryLater(reason))
                }
            }
            let output: HostOutput
            do {
                output = try host.drain(now: Self.wallClock())
            } catch {
                logger.critical(
                    "storage failed: the node stops and must recover",
                    metadata: ["error": "\(error)", "shard.id": "\(error.shard.map(String.init) ?? "-")"])
                finish(submissions: [], failure: error)
                return
            }
            for (shard, message) in output.messages { _ = transport.send(message, group: shard) }
            owned.publisher.publish(output, host: host, to: executionFeed)
            if let outboxSink { serviceOutbox(host: host, sink: outboxSink) }
            let completedAt = Self.monotonicNanoseconds()
            for (_, applied) in output.applied {
                if let origin = applied.origin, let pending = owned.pending.removeValue(forKey: origin) {
                    pending.completion(.applied(applied))
                    if pending.submittedAt > 0, completedAt > pending.submittedAt {
                        metrics?.observeCommit(
                            shard: pending.shard, seconds: Double(completedAt - pending.submittedAt) / 1e9)
                    }
                }
            }
            for (_, dropped) in output.dropped {
                if let pending = owned.pending.removeValue(forKey: dropped.origin) {
                    pending.completion(.notLeader(leaderHint: dropped.leaderHint))
                }
            }
            if let metrics {
                metrics.record(output)
                for seconds in output.syncSeconds { metrics.observeSync(seconds: seconds) }
                for (shard, seconds) in output.applySeconds { metrics.observeApply(shard: shard, seconds: seconds) }
            }
            for (shard, error) in output.stopped {
                logger.critical(
                    "replica stopped", metadata: ["shard.id": "\(shard)", "error": "\(error)"])
            }
        }
    }

    private func finish(submissions: [Submission], failure: HostFailure?) {
        executionFeed.finish()
        for submission in submissions { submission.completion(.unavailable) }
        for pending in owned.pending.values { pending.completion(.unavailable) }
        owned.pending.removeAll()
        let inspections = shared.withLockedValue { state -> [@Sendable (ShardHost) -> Void] in
            state.failure = failure
            state.loopExited = true
            state.running = false
            let waiting = state.inspections
            state.inspections.removeAll()
            return waiting
        }
        for inspection in inspections { inspection(owned.host) }
        let late = shared.withLockedValue { state -> [Submission] in
            defer { state.submissions.removeAll() }
            return state.submissions
        }
        for submission in late { submission.completion(.unavailable) }
        exited.signal()
    }

    /// CLOCK_MONOTONIC in nanoseconds.
    public static func monotonicNanoseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }

    /// Log time for entries this node stamps as leader: wall-clock nanoseconds (the replica raises
    /// it to stay monotonic across leaders).
    static func wallClock() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(nanoseconds: Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec))
    }
}

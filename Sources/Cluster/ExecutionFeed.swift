public import ExchangeCore
import Matching
import NIOConcurrencyHelpers
public import NIOCore
import Wire

/// Receives the execution reports of one subscription; implemented by the client port's channel
/// subscriber (`ChannelExecutionSubscriber`) and by tests.
///
/// - Important: `deliver` and `end` are called on `eventLoop` only, in publishing order. The
///   feed never waits for them: a subscriber that cannot keep up must bound its own backlog.
public protocol ExecutionSubscriber: AnyObject, Sendable {
    var eventLoop: any EventLoop { get }
    /// Which reports this subscriber wants.
    var filter: ExecutionFilter { get }
    /// The reports of one node-loop pass, unfiltered (`filter.matches`, `batch.frames(matching:...)`).
    func deliver(_ batch: ExecutionBatch)
    /// No batch follows: the node is stopping, or the subscriber fell more than
    /// `ExecutionFeed.queuedBatchesMax` batches behind on its event loop.
    func end(_ reason: ExecutionStreamEnd)
}

/// Why the feed ended a subscription.
public enum ExecutionStreamEnd: Sendable, Hashable {
    case nodeStopping
    /// Batches piled up on the subscriber's event loop faster than it took them.
    case fellBehind
}

/// Which execution reports a subscription receives (a `SubscribeRequest`).
public struct ExecutionFilter: Sendable, Hashable {
    /// nil: every participant, and events of no participant (book deltas, halts, ...).
    public var participant: ParticipantID?
    /// nil: every symbol of every shard the node hosts.
    public var symbol: Symbol?

    public init(participant: ParticipantID?, symbol: Symbol?) {
        self.participant = participant
        self.symbol = symbol
    }

    @inline(__always)
    public func matches(_ item: ExecutionBatch.Item) -> Bool {
        if let symbol, item.symbol != symbol { return false }
        if let participant, item.owners.0 != participant && item.owners.1 != participant { return false }
        return true
    }
}

/// The execution reports of the entries one node-loop pass applied, in log order per shard, each
/// encoded once as an `ExecutionReport` frame with request id 0: a subscriber copies the frames it
/// wants and writes its subscription's request id into them (`ExecutionBatch.requestIDOffset`).
public struct ExecutionBatch: Sendable {
    /// Byte offset of the request id inside a report frame (after the frame header).
    public static let requestIDOffset = Frame.headerByteCount

    /// One report: where its frame is in `frames` and what filters look at.
    public struct Item: Sendable {
        public var frameStart: Int
        public var frameByteCount: Int
        public var shard: UInt32
        public var logIndex: UInt64
        public var symbol: Symbol?
        /// The participants whose orders the event concerns (up to two: a trade's buyer and
        /// seller), nil when none or unknown.
        public var owners: (ParticipantID?, ParticipantID?)
    }

    public private(set) var frames: [UInt8] = []
    public private(set) var items: [Item] = []

    public init() {}

    public var isEmpty: Bool { items.isEmpty }

    mutating func append(
        shard: UInt32, report: ExecutionReport, symbol: Symbol?, owners: (ParticipantID?, ParticipantID?)
    ) {
        let start = frames.count
        ClientResponse(requestID: 0, body: .executionReport(report)).encodeFrame(into: &frames)
        items.append(
            Item(
                frameStart: start, frameByteCount: frames.count - start, shard: shard, logIndex: report.logIndex,
                symbol: symbol, owners: owners))
    }

    /// The frames `filter` matches, with `requestID` written in, as one buffer; nil when none match.
    public func frames(
        matching filter: ExecutionFilter, requestID: UInt64, allocator: ByteBufferAllocator
    ) -> ByteBuffer? {
        var buffer: ByteBuffer?
        frames.withUnsafeBytes { all in
            for item in items where filter.matches(item) {
                if buffer == nil { buffer = allocator.buffer(capacity: 256) }
                let start = buffer!.writerIndex
                buffer!.writeBytes(
                    UnsafeRawBufferPointer(rebasing: all[item.frameStart..<item.frameStart + item.frameByteCount]))
                buffer!.setInteger(requestID, at: start + Self.requestIDOffset, endianness: .little)
            }
        }
        return buffer
    }
}

/// The node's execution stream: the node loop publishes the reports of every pass; the feed hands
/// them to every subscriber on the subscriber's event loop and never waits for one (a subscriber
/// bounds its own backlog and disconnects itself when it falls behind).
///
/// Subscribers are added on the node loop thread between two passes (`NodeRuntime.subscribe`), so
/// a subscriber gets exactly the reports of the entries applied after the index it was told.
public final class ExecutionFeed: Sendable {
    /// Counters since the node started.
    public struct Counters: Sendable, Hashable {
        /// Subscriptions active now.
        public var active = 0
        public var opened = 0
        /// Subscriptions removed (connection closed, slow consumer, node stopping).
        public var removed = 0
        /// Subscriptions disconnected because their backlog exceeded its bound.
        public var slowConsumers = 0
        /// Passes that published at least one report, and the reports they held.
        public var batchesPublished = 0
        public var reportsPublished = 0
    }

    /// Batches handed to one subscriber's event loop and not yet delivered; one more ends it
    /// (`fellBehind`). Bounds the memory the feed can pin whatever the event loops do.
    public static let queuedBatchesMax = 4_096

    private struct State {
        var subscribers: [UInt64: any ExecutionSubscriber] = [:]
        /// Batches queued per subscriber on its event loop.
        var queued: [UInt64: Int] = [:]
        var nextID: UInt64 = 1
        var counters = Counters()
        var finished = false
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    public var counters: Counters { state.withLockedValue { $0.counters } }

    /// True when a pass must encode its reports (someone listens).
    var hasSubscribers: Bool { state.withLockedValue { !$0.subscribers.isEmpty } }

    /// Adds `subscriber`; nil once the feed has finished. Call on the node loop thread between
    /// passes (`NodeRuntime.subscribe`), so that the start position is exact.
    func add(_ subscriber: any ExecutionSubscriber) -> UInt64? {
        state.withLockedValue { state in
            guard !state.finished else { return nil }
            let id = state.nextID
            state.nextID += 1
            state.subscribers[id] = subscriber
            state.counters.opened += 1
            state.counters.active = state.subscribers.count
            return id
        }
    }

    /// Removes a subscription (idempotent); `slowConsumer` counts why.
    public func remove(_ id: UInt64, slowConsumer: Bool = false) {
        state.withLockedValue { state in
            guard state.subscribers.removeValue(forKey: id) != nil else { return }
            state.queued[id] = nil
            state.counters.removed += 1
            if slowConsumer { state.counters.slowConsumers += 1 }
            state.counters.active = state.subscribers.count
        }
    }

    /// Hands `batch` to every subscriber, on its event loop. Node loop thread; never blocks.
    func publish(_ batch: ExecutionBatch) {
        guard !batch.isEmpty else { return }
        let (receivers, behind) = state.withLockedValue {
            state -> ([(UInt64, any ExecutionSubscriber)], [any ExecutionSubscriber]) in
            guard !state.finished else { return ([], []) }
            state.counters.batchesPublished += 1
            state.counters.reportsPublished += batch.items.count
            var receivers: [(UInt64, any ExecutionSubscriber)] = []
            var behindIDs: [UInt64] = []
            receivers.reserveCapacity(state.subscribers.count)
            for (id, subscriber) in state.subscribers {
                let queued = state.queued[id, default: 0] + 1
                if queued > Self.queuedBatchesMax {
                    behindIDs.append(id)
                } else {
                    state.queued[id] = queued
                    receivers.append((id, subscriber))
                }
            }
            var behind: [any ExecutionSubscriber] = []
            for id in behindIDs {
                behind.append(state.subscribers.removeValue(forKey: id)!)
                state.queued[id] = nil
                state.counters.removed += 1
                state.counters.slowConsumers += 1
            }
            state.counters.active = state.subscribers.count
            return (receivers, behind)
        }
        for (id, subscriber) in receivers {
            subscriber.eventLoop.execute { [self] in
                state.withLockedValue { state in
                    if let queued = state.queued[id] { state.queued[id] = queued - 1 }
                }
                subscriber.deliver(batch)
            }
        }
        for subscriber in behind {
            subscriber.eventLoop.execute { subscriber.end(.fellBehind) }
        }
    }

    /// The node is stopping: every subscriber is told and dropped; later `add`s fail.
    func finish() {
        let subscribers = state.withLockedValue { state -> [any ExecutionSubscriber] in
            state.finished = true
            let all = Array(state.subscribers.values)
            state.counters.removed += all.count
            state.subscribers.removeAll()
            state.queued.removeAll()
            state.counters.active = 0
            return all
        }
        for subscriber in subscribers {
            subscriber.eventLoop.execute { subscriber.end(.nodeStopping) }
        }
    }
}

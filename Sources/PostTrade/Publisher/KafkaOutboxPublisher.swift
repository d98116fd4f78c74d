import Dispatch
import ExchangeCore
import Foundation
public import Kafka
public import Logging
import NIOConcurrencyHelpers
public import Wire

/// The outbox publisher of a node: produces the committed events of the shards this node leads to Kafka
/// (idempotent producer, acks=all, key = symbol, headers shard / log_index / event_seq / event_id) and tells
/// the node loop how far Kafka acknowledged, so the leader records it in the shard's log (`ShardOutbox`).
///
/// Delivery is at least once: after a leader change, a restart or a failed delivery, the entries after the
/// last recorded mark are produced again; consumers are idempotent on the event id. Ordering per symbol holds
/// within one leadership (one producer, idempotence keeps per-partition order across retries).
///
/// The `OutboxSink` calls come from the node loop and only touch a lock-protected hand-off; one thread of the
/// publisher's own maps, produces and serves delivery reports (librdkafka calls block).
public final class KafkaOutboxPublisher: OutboxSink, @unchecked Sendable {
    /// Counters for status and metrics.
    public struct Statistics: Sendable, Hashable {
        public var messagesProduced: UInt64 = 0
        public var messagesDelivered: UInt64 = 0
        public var deliveryFailures: UInt64 = 0
        public var entriesDelivered: UInt64 = 0
        /// Messages produced and not yet acknowledged.
        public var inFlight: Int = 0
        public var lastError: String?
    }

    private struct ShardHandOff {
        var term: UInt64
        var generation: UInt64
        var toSend: [OutboxEntry] = []
        /// Every entry handed over at or below this index is acknowledged (nil: none yet).
        var deliveredThrough: UInt64?
    }

    private struct Shared {
        var shards: [UInt32: ShardHandOff] = [:]
        var nextGeneration: UInt64 = 1
        var stopping = false
        var statistics = Statistics()
    }

    /// Publisher-thread state for one shard's current generation.
    private struct Flight {
        var generation: UInt64
        /// Entries produced (or being produced), oldest first, with the messages still unacknowledged.
        var entries: [(entry: OutboxEntry, remaining: Int)] = []
        var head = 0
        var failed = false
        /// After a failure, the entries are produced again no earlier than this (monotonic ns).
        var retryAt: UInt64 = 0
    }

    /// Touched only by the publisher thread (including the delivery callback, which runs inside `poll`).
    private final class ThreadState: @unchecked Sendable {
        var flights: [UInt32: Flight] = [:]
        /// Message id -> (shard, generation, position in `entries`).
        var routes: [UInt64: (shard: UInt32, generation: UInt64, position: Int)] = [:]
        var delivered: UInt64 = 0
        var failures: UInt64 = 0
        var lastError: String?
    }

    /// Wait before producing a shard's events again after a failed delivery.
    static let retryDelayNanoseconds: UInt64 = 500_000_000
    private let configuration: KafkaConfiguration
    private let logger: Logger
    private let shared = NIOLockedValueBox(Shared())
    private let work = DispatchSemaphore(value: 0)
    private let exited = DispatchSemaphore(value: 0)
    private let state = ThreadState()
    private var producer: KafkaProducer?

    /// - Parameter configuration: `bootstrap.servers` and extra producer properties. The publisher adds
    ///   `message.timeout.ms=0` (retry for ever: a trade may be delayed by a Kafka outage, never dropped) and
    ///   `KafkaConfiguration.producerTimeouts` unless set, and enforces idempotence and acks=all (`KafkaProducer`).
    public init(configuration: KafkaConfiguration, logger: Logger = Logger(label: "exchange.outbox")) throws(KafkaError) {
        let configuration = configuration.settingDefaults(
            KafkaConfiguration.producerTimeouts.merging([
                "message.timeout.ms": "0", "linger.ms": "1", "queue.buffering.max.messages": "1000000",
            ]) { first, _ in first })
        self.configuration = configuration
        self.logger = logger
        let state = self.state
        producer = try KafkaProducer(configuration: configuration, logger: logger) { report in
            Self.handle(report, state: state)
        }
    }

    /// Starts the publisher thread.
    public func start() {
        let thread = Thread { [self] in run() }
        thread.name = "outbox-publisher"
        thread.start()
    }

    /// Stops the thread (messages in flight stay in librdkafka's queue and are lost with the process; the
    /// shard outbox still has them, so the next leader publishes them again).
    public func stop() {
        let wasStopping = shared.withLockedValue { state in
            defer { state.stopping = true }
            return state.stopping
        }
        guard !wasStopping else { return }
        work.signal()
        exited.wait()
    }

    public var statistics: Statistics { shared.withLockedValue { $0.statistics } }

    // MARK: OutboxSink (node loop thread)

    public func lead(shard: UInt32, term: UInt64, entries: [OutboxEntry]) {
        shared.withLockedValue { state in
            let generation = state.nextGeneration
            state.nextGeneration += 1
            state.shards[shard] = ShardHandOff(term: term, generation: generation, toSend: entries)
        }
        work.signal()
    }

    public func append(shard: UInt32, term: UInt64, entries: [OutboxEntry]) {
        let accepted = shared.withLockedValue { state -> Bool in
            guard state.shards[shard]?.term == term else { return false }
            state.shards[shard]!.toSend += entries
            return true
        }
        if accepted { work.signal() }
    }

    public func resign(shard: UInt32) {
        shared.withLockedValue { state in _ = state.shards.removeValue(forKey: shard) }
        work.signal()
    }

    public func deliveredThrough(shard: UInt32, term: UInt64) -> UInt64? {
        shared.withLockedValue { state in
            guard let handOff = state.shards[shard], handOff.term == term else { return nil }
            return handOff.deliveredThrough
        }
    }

    // MARK: Publisher thread

    private static func handle(_ report: KafkaDeliveryReport, state: ThreadState) {
        guard let route = state.routes.removeValue(forKey: report.messageID.rawValue) else { return }
        guard var flight = state.flights[route.shard], flight.generation == route.generation else { return }
        if let error = report.error {
            flight.failed = true
            state.failures += 1
            state.lastError = "\(error)"
        } else {
            flight.entries[route.position].remaining -= 1
            state.delivered += 1
        }
        state.flights[route.shard] = flight
    }

    /// Delivery reports that stop coming for this long while messages are in flight mean a stuck producer (a last
    /// resort behind the request timeouts; first seen when connections stayed open without answers, see
    /// docs/POSTTRADE.md, "Limits"): it is replaced and every unacknowledged entry is produced again.
    static let deliveryStallNanoseconds: UInt64 = 30_000_000_000

    private func run() {
        defer { exited.signal() }
        var produced: UInt64 = 0
        var lastDelivered = state.delivered
        var lastProgressAt = DispatchTime.now().uptimeNanoseconds
        while true {
            // Take the new work.
            let (stopping, handOffs) = shared.withLockedValue { shared -> (Bool, [UInt32: ShardHandOff]) in
                var taken: [UInt32: ShardHandOff] = [:]
                for (shard, var handOff) in shared.shards {
                    taken[shard] = handOff
                    handOff.toSend.removeAll()
                    shared.shards[shard] = handOff
                }
                return (shared.stopping, taken)
            }
            if stopping { return }
            // Shards no longer led: forget their flights.
            for shard in state.flights.keys where handOffs[shard] == nil { state.flights[shard] = nil }
            for (shard, handOff) in handOffs {
                if state.flights[shard]?.generation != handOff.generation {
                    state.flights[shard] = Flight(generation: handOff.generation)
                }
                for entry in handOff.toSend { produced += produce(entry, shard: shard, generation: handOff.generation) }
            }
            // Serve delivery reports.
            let inFlight = state.routes.count
            _ = producer?.poll(timeout: inFlight > 0 ? .milliseconds(5) : .zero)
            let pollNow = DispatchTime.now().uptimeNanoseconds
            if state.delivered != lastDelivered || state.routes.isEmpty {
                lastDelivered = state.delivered
                lastProgressAt = pollNow
            } else if pollNow - lastProgressAt > Self.deliveryStallNanoseconds {
                replaceStuckProducer()
                lastProgressAt = pollNow
            }
            // Failed deliveries: produce that shard's unacknowledged entries again, in order.
            let now = DispatchTime.now().uptimeNanoseconds
            for (shard, var flight) in state.flights where flight.failed {
                if flight.retryAt == 0 {
                    flight.retryAt = now + Self.retryDelayNanoseconds
                    state.flights[shard] = flight
                }
                guard now >= flight.retryAt else { continue }
                let unacknowledged = flight.entries[flight.head...].map(\.entry)
                let generation = shared.withLockedValue { shared -> UInt64 in
                    defer { shared.nextGeneration += 1 }
                    if shared.shards[shard] != nil { shared.shards[shard]!.generation = shared.nextGeneration }
                    return shared.nextGeneration
                }
                logger.warning(
                    "kafka delivery failed; producing the shard's unacknowledged events again",
                    metadata: ["shard.id": "\(shard)", "entries": "\(unacknowledged.count)", "error": "\(state.lastError ?? "-")"])
                state.flights[shard] = Flight(generation: generation)
                for entry in unacknowledged { produced += produce(entry, shard: shard, generation: generation) }
            }
            // Advance the acknowledged prefix of every shard.
            var progress: [UInt32: (generation: UInt64, through: UInt64)] = [:]
            for (shard, var flight) in state.flights {
                var through: UInt64?
                while flight.head < flight.entries.count, flight.entries[flight.head].remaining == 0 {
                    through = flight.entries[flight.head].entry.logIndex
                    flight.head += 1
                }
                if flight.head > 4_096, flight.head * 2 > flight.entries.count {
                    // Positions in `routes` shift: rebase them.
                    let shift = flight.head
                    flight.entries.removeFirst(shift)
                    flight.head = 0
                    for (id, route) in state.routes where route.shard == shard && route.generation == flight.generation {
                        state.routes[id] = (shard, route.generation, route.position - shift)
                    }
                }
                state.flights[shard] = flight
                if let through { progress[shard] = (flight.generation, through) }
            }
            let routesCount = state.routes.count
            let delivered = state.delivered
            let failures = state.failures
            let lastError = state.lastError
            let entriesDone = UInt64(progress.count)
            shared.withLockedValue { shared in
                for (shard, done) in progress where shared.shards[shard]?.generation == done.generation {
                    shared.shards[shard]!.deliveredThrough = done.through
                }
                shared.statistics.messagesProduced = produced
                shared.statistics.messagesDelivered = delivered
                shared.statistics.deliveryFailures = failures
                shared.statistics.entriesDelivered += entriesDone
                shared.statistics.inFlight = routesCount
                shared.statistics.lastError = lastError
            }
            if routesCount == 0 || state.flights.values.contains(where: \.failed) {
                _ = work.wait(timeout: .now() + .milliseconds(50))
            }
        }
    }

    /// Replaces the producer and marks every shard's flight failed, so that its unacknowledged entries are produced
    /// again (under a new generation: reports of the old producer can no longer be confused with the new one's).
    private func replaceStuckProducer() {
        logger.warning(
            "kafka deliveries stalled; replacing the producer", metadata: ["in_flight": "\(state.routes.count)"])
        let state = self.state
        let stuckProducer = producer
        do {
            producer = try KafkaProducer(configuration: configuration, logger: logger) { report in
                Self.handle(report, state: state)
            }
            // Destroying a stuck producer can block for ever: never on the publisher thread.
            if let stuckProducer { retireKafkaClientInBackground(stuckProducer, logger: logger) }
        } catch {
            state.lastError = "replacing the producer: \(error)"
            return
        }
        state.routes.removeAll()
        state.failures += 1
        for shard in Array(state.flights.keys) {
            state.flights[shard]!.failed = true
            state.flights[shard]!.retryAt = 0
        }
    }

    /// Produces every message of `entry`; returns how many. Retries while librdkafka's queue is full.
    private func produce(_ entry: OutboxEntry, shard: UInt32, generation: UInt64) -> UInt64 {
        guard var flight = state.flights[shard], flight.generation == generation else { return 0 }
        let messages = ShardEventMapping.messages(
            shard: shard, logIndex: entry.logIndex, timestamp: entry.timestamp, events: entry.events)
        let position = flight.entries.count
        flight.entries.append((entry, messages.count))
        state.flights[shard] = flight
        guard let producer else { return 0 }
        var count: UInt64 = 0
        for message in messages {
            let headers = message.headers.sorted { $0.key < $1.key }.map {
                KafkaHeader(name: $0.key, value: Array($0.value.utf8))
            }
            while true {
                do {
                    let id = try producer.send(topic: message.topic, key: message.key, value: message.value, headers: headers)
                    state.routes[id.rawValue] = (shard, generation, position)
                    count += 1
                    break
                } catch where error.name == "_QUEUE_FULL" {
                    // Serve reports to make room, then retry.
                    _ = producer.poll(timeout: .milliseconds(10))
                    if shared.withLockedValue({ $0.stopping }) { return count }
                } catch {
                    // Not produced: the entry stays unacknowledged; the whole shard is produced again later.
                    flight = state.flights[shard] ?? flight
                    flight.failed = true
                    state.flights[shard] = flight
                    state.failures += 1
                    state.lastError = "\(error)"
                    return count
                }
            }
        }
        return count
    }
}

public import Postgres

// The contracts between the parts of the post-trade pipeline (docs/POSTTRADE.md):
// the shard outbox publisher, the event payloads, the workers' database logic and the worker runtime.

/// The topics of the post-trade pipeline (ARCHITECTURE.md §6).
public enum Topic {
    public static let orderSubmitted = "order.submitted"
    public static let orderCancelled = "order.cancelled"
    public static let orderReplaced = "order.replaced"
    public static let orderExpired = "order.expired"
    public static let orderPartiallyFilled = "order.partially_filled"
    public static let orderFilled = "order.filled"
    public static let orderRejected = "order.rejected"
    public static let tradeExecuted = "trade.executed"
    public static let tradeCleared = "trade.cleared"
    public static let tradeSettled = "trade.settled"
    public static let riskRejected = "risk.rejected"
    public static let circuitBreakerTriggered = "circuit.breaker.triggered"
    public static let circuitBreakerLifted = "circuit.breaker.lifted"
    /// Records a worker could not process (malformed, unknown version, impossible values), with the reason
    /// in the `reason` header and the original topic/partition/offset in `source.*` headers.
    public static let deadLetter = "dead.letter"

    /// Every topic, for creating them at start.
    public static let all = [
        orderSubmitted, orderCancelled, orderReplaced, orderExpired, orderPartiallyFilled, orderFilled,
        orderRejected, tradeExecuted, tradeCleared, tradeSettled, riskRejected, circuitBreakerTriggered,
        circuitBreakerLifted, deadLetter,
    ]
}

/// Kafka header names carried by every event the exchange publishes.
public enum EventHeader {
    /// Shard id (decimal text) of the shard whose log produced the event.
    public static let shard = "shard"
    /// Log index (decimal text) of the entry that produced the event.
    public static let logIndex = "log_index"
    /// Position of the event among the published events of its entry (decimal text, from 0).
    public static let eventSequence = "event_seq"
    /// The event id (`EventID`), also in the payload.
    public static let eventID = "event_id"
    /// Dead letters: why the record was refused.
    public static let reason = "reason"
    /// Dead letters: where the refused record came from.
    public static let sourceTopic = "source.topic"
    public static let sourcePartition = "source.partition"
    public static let sourceOffset = "source.offset"
}

/// A record consumed from Kafka, handed to a worker's logic.
public struct InboundRecord: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: [UInt8]?
    public var value: [UInt8]?
    /// Text headers (last value wins for a repeated name).
    public var headers: [String: String]

    public init(
        topic: String, partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8]?, headers: [String: String] = [:]
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
    }
}

/// A message a worker emits. The runtime writes it into the `outbox` table in the same transaction as the
/// worker's effects and consumed offsets; the outbox relay produces it to Kafka afterwards (at least once;
/// consumers are idempotent on the event id).
public struct OutboundMessage: Sendable, Hashable {
    public var topic: String
    public var key: [UInt8]?
    public var value: [UInt8]
    public var headers: [String: String]

    public init(topic: String, key: [UInt8]?, value: [UInt8], headers: [String: String] = [:]) {
        self.topic = topic
        self.key = key
        self.value = value
        self.headers = headers
    }
}

/// What one worker (clearing, settlement, ledger) does with a batch of consumed records.
///
/// The runtime calls ``process(_:connection:)`` inside an open transaction on `connection`; after it
/// returns, the runtime inserts the returned messages into `outbox`, upserts the consumed offsets into
/// `consumer_offsets`, and commits. If anything throws, the whole transaction rolls back and the batch is
/// consumed again: the logic must be idempotent on the event id (a second delivery changes nothing and
/// emits nothing new). A record the logic cannot process (malformed, unknown version) must not throw: it
/// becomes an ``OutboundMessage`` to ``Topic/deadLetter`` with the reason.
public protocol WorkerLogic: AnyObject {
    /// `clearing`, `settlement` or `ledger`; also the consumer group id (`exchange.<name>`).
    var name: String { get }
    var inputTopics: [String] { get }
    func process(_ records: [InboundRecord], connection: PostgresConnection) throws -> [OutboundMessage]
}

// Tables every worker database has (migration 1, `Migrations`):
//
//   consumer_offsets(group_id text, topic text, partition integer, next_offset bigint,
//                    primary key (group_id, topic, partition))
//       The next offset to consume; the truth for the runtime (Kafka's committed offsets are only advisory).
//   outbox(id bigserial primary key, source text not null default '', topic text not null, key bytea,
//          value bytea not null, headers jsonb not null default '{}', created_at timestamptz not null default now())
//       Messages waiting to be produced, `source` = the worker that wrote them; each worker's relay produces its
//       own rows in id order and deletes a row once Kafka acknowledged it.

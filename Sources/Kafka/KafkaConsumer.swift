import CRdKafka
public import Logging

/// One consumed record. Key, value and headers are copied out of librdkafka's buffer.
public struct KafkaMessage: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: [UInt8]?
    public var value: [UInt8]?
    /// Headers decoded as UTF-8 text (invalid bytes become U+FFFD; a null value is ""); for a repeated name the
    /// last value wins.
    public var headers: [String: String]

    public init(
        topic: String, partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8]?,
        headers: [String: String] = [:]
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
    }
}

/// One partition of one topic.
public struct KafkaTopicPartition: Sendable, Hashable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public var description: String { "\(topic)/\(partition)" }
}

/// Special offsets accepted by ``KafkaConsumer/seek(topic:partition:offset:timeout:)`` and returned from an
/// `onAssign` hook.
public enum KafkaOffset {
    /// The oldest retained record (`RD_KAFKA_OFFSET_BEGINNING`).
    public static let beginning: Int64 = -2
    /// The next record to be produced (`RD_KAFKA_OFFSET_END`).
    public static let end: Int64 = -1
}

/// A position to commit: the offset of the next record to read (the last processed offset + 1).
public struct KafkaCommitOffset: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var nextOffset: Int64

    public init(topic: String, partition: Int32, nextOffset: Int64) {
        self.topic = topic
        self.partition = partition
        self.nextOffset = nextOffset
    }

    /// The position just after `message`.
    public init(after message: KafkaMessage) {
        self.init(topic: message.topic, partition: message.partition, nextOffset: message.offset + 1)
    }
}

/// A consumer-group member with manual, synchronous commits (`enable.auto.commit=false`, always).
///
/// Rebalances happen inside ``poll(timeout:)`` (and ``close()``), on the polling thread: assigned partitions are
/// `rd_kafka_assign`ed (incrementally under the cooperative protocol), revoked ones unassigned. The optional
/// `onAssign` hook can choose each new partition's start offset first (for offsets kept outside Kafka), and
/// `onRevoke` runs before partitions are taken away (also when they were lost).
///
/// - Important: every method blocks the calling thread (``poll(timeout:)`` for up to its timeout). Use one
///   consumer from one dedicated thread, never from the Swift cooperative pool or a NIO event loop. Call
///   ``close()`` when done so the group rebalances at once; `deinit` closes too but cannot report errors.
public final class KafkaConsumer {
    /// Called with newly assigned partitions; returns start offsets for some or all of them (an offset, or
    /// ``KafkaOffset/beginning`` / ``KafkaOffset/end``). Partitions left out, or all when it returns `nil`, start
    /// at the group's committed offset or `auto.offset.reset`.
    public typealias AssignHook = ([KafkaTopicPartition]) -> [KafkaTopicPartition: Int64]?
    /// Called with partitions about to be revoked or already lost.
    public typealias RevokeHook = ([KafkaTopicPartition]) -> Void

    private var client: OpaquePointer?
    private let rebalance: RebalanceState
    private let logger: Logger

    /// - Parameters:
    ///   - groupID: librdkafka `group.id`; must not be empty.
    ///   - configuration: `auto.offset.reset` etc. go in its `properties`.
    ///   - onAssign: see ``AssignHook``; runs inside ``poll(timeout:)`` on the polling thread.
    ///   - onRevoke: see ``RevokeHook``; runs inside ``poll(timeout:)`` or ``close()`` on the calling thread.
    public init(
        configuration: KafkaConfiguration, groupID: String,
        logger: Logger = Logger(label: "exchange.kafka.consumer"),
        onAssign: AssignHook? = nil, onRevoke: RevokeHook? = nil
    ) throws(KafkaError) {
        guard !groupID.isEmpty else {
            throw KafkaError(
                RD_KAFKA_RESP_ERR__INVALID_ARG, message: "groupID must not be empty", property: "group.id")
        }
        let native = try configuration.makeNative(enforced: [("group.id", groupID), ("enable.auto.commit", "false")])
        let rebalance = RebalanceState(onAssign: onAssign, onRevoke: onRevoke, logger: logger)
        // The state outlives the client: `deinit` destroys the client before the stored properties are released.
        rd_kafka_conf_set_opaque(native.pointer, Unmanaged.passUnretained(rebalance).toOpaque())
        rd_kafka_conf_set_rebalance_cb(native.pointer, kafkaRebalanceCallback)
        let client = try native.makeClient(type: RD_KAFKA_CONSUMER)
        // Route the main queue (errors, rebalances) to the consumer queue served by rd_kafka_consumer_poll.
        let redirect = rd_kafka_poll_set_consumer(client)
        guard redirect == RD_KAFKA_RESP_ERR_NO_ERROR else {
            rd_kafka_destroy(client)
            NativeHandleLedger.closed()
            throw KafkaError(redirect, message: "rd_kafka_poll_set_consumer")
        }
        self.client = client
        self.rebalance = rebalance
        self.logger = logger
    }

    deinit {
        if let client {
            rd_kafka_consumer_close(client)
            rd_kafka_destroy(client)
            NativeHandleLedger.closed()
        }
    }

    /// Joins the group for `topics`; assignment arrives during later polls.
    public func subscribe(topics: [String]) throws(KafkaError) {
        let client = try openClient()
        let list = rd_kafka_topic_partition_list_new(Int32(topics.count))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for topic in topics {
            rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA)
        }
        let result = rd_kafka_subscribe(client, list)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(result, message: "subscribe") }
    }

    /// The next record, or `nil` if none arrived within `timeout`. Broker and transport errors that librdkafka
    /// reports as consumer errors are thrown; the consumer stays usable after them.
    /// - Important: blocks the calling thread for up to `timeout`.
    public func poll(timeout: Duration) throws(KafkaError) -> KafkaMessage? {
        let client = try openClient()
        guard let message = rd_kafka_consumer_poll(client, timeout.kafkaMilliseconds) else { return nil }
        defer { rd_kafka_message_destroy(message) }
        let record = message.pointee
        if record.err == RD_KAFKA_RESP_ERR__PARTITION_EOF { return nil }
        guard record.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(record.err, message: String(cString: rd_kafka_message_errstr(message)))
        }
        return KafkaMessage(
            topic: record.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? "",
            partition: record.partition,
            offset: record.offset,
            key: record.key.map { Array(UnsafeRawBufferPointer(start: $0, count: record.key_len)) },
            value: record.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: record.len)) },
            headers: Self.textHeaders(of: message)
        )
    }

    private static func textHeaders(of message: UnsafeMutablePointer<rd_kafka_message_t>) -> [String: String] {
        var headers: OpaquePointer?
        guard rd_kafka_message_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR, let headers else {
            return [:]
        }
        // The header list belongs to the message; it is freed with it.
        var result: [String: String] = [:]
        var index = 0
        while true {
            var name: UnsafePointer<CChar>?
            var value: UnsafeRawPointer?
            var size = 0
            guard rd_kafka_header_get_all(headers, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR else {
                break
            }
            if let name {
                let bytes = UnsafeRawBufferPointer(start: value, count: value == nil ? 0 : size)
                result[String(cString: name)] = String(decoding: bytes, as: UTF8.self)
            }
            index += 1
        }
        return result
    }

    /// Moves the fetch position of assigned partitions, for example back to offsets kept in a database after a
    /// failed transaction. Records already fetched for them are discarded. Offsets may be
    /// ``KafkaOffset/beginning`` or ``KafkaOffset/end``.
    /// - Important: blocks the calling thread for up to `timeout`; the partitions must be assigned.
    public func seek(_ positions: [KafkaTopicPartition: Int64], timeout: Duration = .seconds(10)) throws(KafkaError) {
        let client = try openClient()
        guard !positions.isEmpty else { return }
        let list = rd_kafka_topic_partition_list_new(Int32(positions.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for (partition, offset) in positions {
            rd_kafka_topic_partition_list_add(list, partition.topic, partition.partition).pointee.offset = offset
        }
        if let error = rd_kafka_seek_partitions(client, list, timeout.kafkaMilliseconds) {
            throw KafkaError(consuming: error)
        }
        for index in 0..<Int(list.pointee.cnt) {
            let element = list.pointee.elems[index]
            guard element.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError(element.err, message: "seek \(String(cString: element.topic))/\(element.partition)")
            }
        }
    }

    /// Seeks one partition; see ``seek(_:timeout:)``.
    public func seek(topic: String, partition: Int32, offset: Int64, timeout: Duration = .seconds(10))
        throws(KafkaError)
    {
        try seek([KafkaTopicPartition(topic: topic, partition: partition): offset], timeout: timeout)
    }

    /// The partitions currently assigned to this consumer.
    public func assignment() throws(KafkaError) -> [KafkaTopicPartition] {
        let client = try openClient()
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        let result = rd_kafka_assignment(client, &list)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(result, message: "assignment") }
        guard let list else { return [] }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        return topicPartitions(of: list)
    }

    /// Commits `offsets` to the group coordinator and waits for the answer. Throws on the first partition the
    /// coordinator refused.
    /// - Important: blocks the calling thread.
    /// The partition's high watermark (the offset the next produced record gets), asked of its leader.
    /// - Important: blocks up to `timeout`.
    public func highWatermark(topic: String, partition: Int32, timeout: Duration = .seconds(2)) throws(KafkaError)
        -> Int64
    {
        let client = try openClient()
        var low: Int64 = 0
        var high: Int64 = 0
        let result = rd_kafka_query_watermark_offsets(client, topic, partition, &low, &high, timeout.kafkaMilliseconds)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(result, message: "watermarks of \(topic)[\(partition)]")
        }
        return high
    }

    public func commit(_ offsets: [KafkaCommitOffset]) throws(KafkaError) {
        try commit(offsets, asynchronously: false)
    }

    /// Starts committing `offsets` and returns at once; the outcome is not reported (use it for advisory commits
    /// whose truth lives elsewhere). Throws only when the request cannot be queued.
    public func commitAsynchronously(_ offsets: [KafkaCommitOffset]) throws(KafkaError) {
        try commit(offsets, asynchronously: true)
    }

    private func commit(_ offsets: [KafkaCommitOffset], asynchronously: Bool) throws(KafkaError) {
        let client = try openClient()
        guard !offsets.isEmpty else { return }
        let list = rd_kafka_topic_partition_list_new(Int32(offsets.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for offset in offsets {
            rd_kafka_topic_partition_list_add(list, offset.topic, offset.partition).pointee.offset = offset.nextOffset
        }
        let result = rd_kafka_commit(client, list, asynchronously ? 1 : 0)
        guard !asynchronously else {
            guard result == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(result, message: "commit") }
            return
        }
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(result, message: "commit") }
        for index in 0..<Int(list.pointee.cnt) {
            let element = list.pointee.elems[index]
            guard element.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                let topic = String(cString: element.topic)
                throw KafkaError(element.err, message: "commit \(topic)/\(element.partition) refused")
            }
        }
    }

    /// Leaves the group (`rd_kafka_consumer_close`) and frees the client (`rd_kafka_destroy`). Idempotent; later
    /// calls of other methods throw `_DESTROY`.
    /// - Important: blocks the calling thread until the group has been left.
    public func close() throws(KafkaError) {
        guard let client else { return }
        self.client = nil
        let result = rd_kafka_consumer_close(client)
        rd_kafka_destroy(client)
        NativeHandleLedger.closed()
        logger.debug("kafka consumer closed")
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(result, message: "consumer close") }
    }

    private func openClient() throws(KafkaError) -> OpaquePointer {
        guard let client else { throw KafkaError(RD_KAFKA_RESP_ERR__DESTROY, message: "consumer is closed") }
        return client
    }
}

/// The hooks, reached from the C rebalance callback through the client opaque.
final class RebalanceState {
    let onAssign: KafkaConsumer.AssignHook?
    let onRevoke: KafkaConsumer.RevokeHook?
    let logger: Logger

    init(onAssign: KafkaConsumer.AssignHook?, onRevoke: KafkaConsumer.RevokeHook?, logger: Logger) {
        self.onAssign = onAssign
        self.onRevoke = onRevoke
        self.logger = logger
    }
}

private func topicPartitions(of list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> [KafkaTopicPartition] {
    (0..<Int(list.pointee.cnt)).map { index in
        let element = list.pointee.elems[index]
        return KafkaTopicPartition(topic: String(cString: element.topic), partition: element.partition)
    }
}

/// Rebalance handling with the hooks; runs inside `rd_kafka_consumer_poll` / `rd_kafka_consumer_close`.
private func kafkaRebalanceCallback(
    _ client: OpaquePointer?, _ reason: rd_kafka_resp_err_t,
    _ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, _ opaque: UnsafeMutableRawPointer?
) {
    guard let client else { return }
    let state = opaque.map { Unmanaged<RebalanceState>.fromOpaque($0).takeUnretainedValue() }
    let cooperative = rd_kafka_rebalance_protocol(client).map { String(cString: $0) } == "COOPERATIVE"
    switch reason {
    case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
        if let partitions, let onAssign = state?.onAssign, let offsets = onAssign(topicPartitions(of: partitions)) {
            for index in 0..<Int(partitions.pointee.cnt) {
                let element = partitions.pointee.elems[index]
                let key = KafkaTopicPartition(topic: String(cString: element.topic), partition: element.partition)
                if let offset = offsets[key] { partitions.pointee.elems[index].offset = offset }
            }
        }
        if cooperative {
            if let error = rd_kafka_incremental_assign(client, partitions) {
                let failure = KafkaError(consuming: error)
                state?.logger.error("kafka incremental assign failed", metadata: ["kafka.error": "\(failure)"])
            }
        } else {
            let result = rd_kafka_assign(client, partitions)
            if result != RD_KAFKA_RESP_ERR_NO_ERROR {
                state?.logger.error("kafka assign failed", metadata: ["kafka.error": "\(KafkaError(result))"])
            }
        }
    default:
        if let partitions, let onRevoke = state?.onRevoke { onRevoke(topicPartitions(of: partitions)) }
        if cooperative {
            if let error = rd_kafka_incremental_unassign(client, partitions) { rd_kafka_error_destroy(error) }
        } else {
            rd_kafka_assign(client, nil)
        }
    }
}

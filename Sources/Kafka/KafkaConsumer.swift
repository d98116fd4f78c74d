import CRdKafka
public import Logging

/// One consumed record. Key and value are copied out of librdkafka's buffer.
public struct KafkaMessage: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: [UInt8]?
    public var value: [UInt8]?
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
/// Rebalances use the default strategy: assigned partitions are `rd_kafka_assign`ed (incrementally under the
/// cooperative protocol), revoked ones unassigned; they happen inside ``poll(timeout:)``.
///
/// - Important: every method blocks the calling thread (``poll(timeout:)`` for up to its timeout). Use one
///   consumer from one dedicated thread, never from the Swift cooperative pool or a NIO event loop. Call
///   ``close()`` when done so the group rebalances at once; `deinit` closes too but cannot report errors.
public final class KafkaConsumer {
    private var client: OpaquePointer?
    private let logger: Logger

    /// - Parameters:
    ///   - groupID: librdkafka `group.id`; must not be empty.
    ///   - configuration: `auto.offset.reset` etc. go in its `properties`.
    public init(
        configuration: KafkaConfiguration, groupID: String,
        logger: Logger = Logger(label: "exchange.kafka.consumer")
    ) throws(KafkaError) {
        guard !groupID.isEmpty else {
            throw KafkaError(
                RD_KAFKA_RESP_ERR__INVALID_ARG, message: "groupID must not be empty", property: "group.id")
        }
        let native = try configuration.makeNative(enforced: [("group.id", groupID), ("enable.auto.commit", "false")])
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
            value: record.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: record.len)) }
        )
    }

    /// Commits `offsets` to the group coordinator and waits for the answer. Throws on the first partition the
    /// coordinator refused.
    /// - Important: blocks the calling thread.
    public func commit(_ offsets: [KafkaCommitOffset]) throws(KafkaError) {
        let client = try openClient()
        guard !offsets.isEmpty else { return }
        let list = rd_kafka_topic_partition_list_new(Int32(offsets.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for offset in offsets {
            rd_kafka_topic_partition_list_add(list, offset.topic, offset.partition).pointee.offset = offset.nextOffset
        }
        let result = rd_kafka_commit(client, list, 0)
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

/// Default rebalance handling; runs inside `rd_kafka_consumer_poll` / `rd_kafka_consumer_close`.
private func kafkaRebalanceCallback(
    _ client: OpaquePointer?, _ reason: rd_kafka_resp_err_t,
    _ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, _ opaque: UnsafeMutableRawPointer?
) {
    guard let client else { return }
    let cooperative = rd_kafka_rebalance_protocol(client).map { String(cString: $0) } == "COOPERATIVE"
    switch reason {
    case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
        if cooperative {
            if let error = rd_kafka_incremental_assign(client, partitions) { rd_kafka_error_destroy(error) }
        } else {
            rd_kafka_assign(client, partitions)
        }
    default:
        if cooperative {
            if let error = rd_kafka_incremental_unassign(client, partitions) { rd_kafka_error_destroy(error) }
        } else {
            rd_kafka_assign(client, nil)
        }
    }
}

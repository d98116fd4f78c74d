import CRdKafka
import NIOConcurrencyHelpers

/// librdkafka's in-process mock Kafka cluster, for tests: real brokers on loopback ports, driven by a thread of
/// librdkafka's own, that ``KafkaProducer`` and ``KafkaConsumer`` (and other processes) connect to through
/// ``bootstrapServers``. Broker IDs are `1...brokerCount`.
///
/// Owns its own `rd_kafka_t`; ``close()`` (or `deinit`) destroys the cluster and then that handle.
///
/// `@unchecked Sendable`: the mock's control functions post operations to its thread and are thread-safe; the
/// handles themselves are behind a lock.
public final class KafkaMockCluster: @unchecked Sendable {
    private struct Handles {
        var client: OpaquePointer
        var cluster: OpaquePointer
    }
    private let handles: NIOLockedValueBox<Handles?>
    /// Comma-separated `host:port` list of the mock brokers.
    public let bootstrapServers: String
    public let brokerCount: Int

    /// - Parameter brokerCount: `1...16`. Default: 3.
    public init(brokerCount: Int = 3) throws(KafkaError) {
        guard (1...16).contains(brokerCount) else {
            throw KafkaError(RD_KAFKA_RESP_ERR__INVALID_ARG, message: "brokerCount \(brokerCount) not in 1...16")
        }
        let native = NativeConfiguration()
        try native.set("log_level", "3")
        let client = try native.makeClient(type: RD_KAFKA_PRODUCER)
        guard let cluster = rd_kafka_mock_cluster_new(client, Int32(brokerCount)) else {
            rd_kafka_destroy(client)
            NativeHandleLedger.closed()
            throw KafkaError(RD_KAFKA_RESP_ERR__FAIL, message: "rd_kafka_mock_cluster_new failed")
        }
        self.bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
        self.brokerCount = brokerCount
        self.handles = NIOLockedValueBox(Handles(client: client, cluster: cluster))
    }

    deinit { close() }

    /// Disconnects broker `id` and refuses new connections to it until ``setBrokerUp(_:)``.
    public func setBrokerDown(_ id: Int32) throws(KafkaError) {
        try control("broker \(id) down") { rd_kafka_mock_broker_set_down($0, id) }
    }

    /// Lets broker `id` accept connections again.
    public func setBrokerUp(_ id: Int32) throws(KafkaError) {
        try control("broker \(id) up") { rd_kafka_mock_broker_set_up($0, id) }
    }

    /// Delays every response of broker `id` (-1: every broker) by `delay` from now on, rounded down to
    /// milliseconds (`0...Int32.max` ms); `.zero` answers at once again. Responses already delayed keep their
    /// delay. A delay far beyond the clients' request timeouts makes a broker that keeps its connections open
    /// but no longer answers (a network partition, a hung broker).
    public func setBrokerResponseDelay(_ id: Int32, _ delay: Duration) throws(KafkaError) {
        guard delay >= .zero else {
            throw KafkaError(RD_KAFKA_RESP_ERR__INVALID_ARG, message: "response delay \(delay) is negative")
        }
        try control("broker \(id) response delay \(delay)") {
            rd_kafka_mock_broker_set_rtt($0, id, delay.kafkaMilliseconds)
        }
    }

    /// Makes broker `broker` the leader of `topic` [`partition`] (creating the topic if needed).
    public func setPartitionLeader(topic: String, partition: Int32, broker: Int32) throws(KafkaError) {
        try control("leader of \(topic) [\(partition)] = broker \(broker)") {
            rd_kafka_mock_partition_set_leader($0, topic, partition, broker)
        }
    }

    /// Makes broker `broker` the coordinator of consumer group `group`.
    public func setGroupCoordinator(group: String, broker: Int32) throws(KafkaError) {
        try control("coordinator of group \(group) = broker \(broker)") {
            rd_kafka_mock_coordinator_set($0, "group", group, broker)
        }
    }

    /// Creates `name` with partition leaders spread over the brokers.
    /// - Parameter replicationFactor: `1...brokerCount`.
    public func createTopic(name: String, partitions: Int32, replicationFactor: Int32) throws(KafkaError) {
        guard partitions > 0, (1...Int32(brokerCount)).contains(replicationFactor) else {
            throw KafkaError(
                RD_KAFKA_RESP_ERR__INVALID_ARG,
                message: "topic \(name): partitions \(partitions), replication factor \(replicationFactor)")
        }
        try control("create topic \(name)") { rd_kafka_mock_topic_create($0, name, partitions, replicationFactor) }
    }

    /// Destroys the mock cluster and its client. Idempotent.
    public func close() {
        guard let taken = handles.withLockedValue({ current -> Handles? in
            defer { current = nil }
            return current
        }) else { return }
        rd_kafka_mock_cluster_destroy(taken.cluster)
        rd_kafka_destroy(taken.client)
        NativeHandleLedger.closed()
    }

    private func control(
        _ what: String, _ operation: (OpaquePointer) -> rd_kafka_resp_err_t
    ) throws(KafkaError) {
        let result: rd_kafka_resp_err_t = handles.withLockedValue { current in
            guard let current else { return RD_KAFKA_RESP_ERR__DESTROY }
            return operation(current.cluster)
        }
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(result, message: what) }
    }
}

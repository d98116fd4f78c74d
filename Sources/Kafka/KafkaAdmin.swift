import CRdKafka
public import Logging

/// A topic to create with ``KafkaAdmin/createTopics(_:timeout:)``.
public struct KafkaTopicSpecification: Sendable, Hashable {
    public var name: String
    /// Range: `1...100_000`.
    public var partitions: Int32
    /// Range: `1...` the broker count (checked by the broker; the mock checks `1...brokerCount`).
    public var replicationFactor: Int32

    public init(name: String, partitions: Int32, replicationFactor: Int32) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
    }
}

/// What ``KafkaAdmin/createTopics(_:timeout:)`` did with one topic.
public enum KafkaTopicCreation: Sendable, Hashable {
    case created
    /// The topic was there already (its partition count is not compared or changed).
    case alreadyExisted
}

/// Topic administration: creating topics and reading partition counts from metadata.
///
/// Against a real cluster, topics are created with the Admin API (`rd_kafka_CreateTopics` through a private
/// admin queue). librdkafka 2.0.2's mock brokers do not implement CreateTopics, so an admin made with
/// `mockCluster:` creates topics with `rd_kafka_mock_topic_create` instead; metadata goes through the Kafka
/// protocol in both cases.
///
/// `@unchecked Sendable`: librdkafka documents `rd_kafka_t` and the Admin API as thread-safe; every call uses its
/// own queue and options, created and destroyed within the call.
///
/// - Important: every method blocks the calling thread for up to its timeout; call it from a dedicated thread.
public final class KafkaAdmin: @unchecked Sendable {
    private let client: OpaquePointer
    private let mockCluster: KafkaMockCluster?
    private let logger: Logger

    /// - Parameter mockCluster: create topics directly in this mock cluster (tests, `exchanged kafka-mock`).
    public init(
        configuration: KafkaConfiguration, mockCluster: KafkaMockCluster? = nil,
        logger: Logger = Logger(label: "exchange.kafka.admin")
    ) throws(KafkaError) {
        let native = try configuration.makeNative(enforced: [])
        self.client = try native.makeClient(type: RD_KAFKA_PRODUCER)
        self.mockCluster = mockCluster
        self.logger = logger
    }

    deinit {
        rd_kafka_destroy(client)
        NativeHandleLedger.closed()
    }

    /// Creates `topics`; a topic that already exists is not an error.
    /// - Returns: what happened to each topic, by name.
    /// - Throws: the first topic's error other than `TOPIC_ALREADY_EXISTS`, `_TIMED_OUT`, or a request error.
    @discardableResult
    public func createTopics(
        _ topics: [KafkaTopicSpecification], timeout: Duration = .seconds(30)
    ) throws(KafkaError) -> [String: KafkaTopicCreation] {
        for topic in topics {
            guard !topic.name.isEmpty, (1...100_000).contains(topic.partitions), topic.replicationFactor >= 1 else {
                throw KafkaError(
                    RD_KAFKA_RESP_ERR__INVALID_ARG,
                    message: "topic '\(topic.name)': partitions \(topic.partitions), "
                        + "replication factor \(topic.replicationFactor)")
            }
        }
        guard !topics.isEmpty else { return [:] }
        if let mockCluster { return try createInMock(mockCluster, topics, timeout: timeout) }
        return try createWithAdminAPI(topics, timeout: timeout)
    }

    /// Creates one topic; see ``createTopics(_:timeout:)``.
    @discardableResult
    public func createTopic(
        name: String, partitions: Int32, replicationFactor: Int32, timeout: Duration = .seconds(30)
    ) throws(KafkaError) -> KafkaTopicCreation {
        let spec = KafkaTopicSpecification(name: name, partitions: partitions, replicationFactor: replicationFactor)
        return try createTopics([spec], timeout: timeout)[name] ?? .created
    }

    /// The partition count of `topic` from cluster metadata, or `nil` if the cluster does not know the topic.
    ///
    /// Asks for all topics' metadata, so it never triggers broker-side auto-creation.
    public func partitionCount(topic: String, timeout: Duration = .seconds(10)) throws(KafkaError) -> Int? {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let result = rd_kafka_metadata(client, 1, nil, &metadata, timeout.kafkaMilliseconds)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw KafkaError(result, message: "metadata for \(topic)")
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        for index in 0..<Int(metadata.pointee.topic_cnt) {
            let entry = metadata.pointee.topics[index]
            guard String(cString: entry.topic) == topic else { continue }
            if entry.err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART { return nil }
            guard entry.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError(entry.err, message: "metadata for \(topic)")
            }
            return Int(entry.partition_cnt)
        }
        return nil
    }

    private func createInMock(
        _ cluster: KafkaMockCluster, _ topics: [KafkaTopicSpecification], timeout: Duration
    ) throws(KafkaError) -> [String: KafkaTopicCreation] {
        var outcome: [String: KafkaTopicCreation] = [:]
        for topic in topics {
            // rd_kafka_mock_topic_create overwrites nothing but also reports no "exists": ask metadata first.
            if try partitionCount(topic: topic.name, timeout: timeout) != nil {
                outcome[topic.name] = .alreadyExisted
                continue
            }
            try cluster.createTopic(
                name: topic.name, partitions: topic.partitions, replicationFactor: topic.replicationFactor)
            outcome[topic.name] = .created
        }
        return outcome
    }

    private func createWithAdminAPI(
        _ topics: [KafkaTopicSpecification], timeout: Duration
    ) throws(KafkaError) -> [String: KafkaTopicCreation] {
        var newTopics: [OpaquePointer?] = []
        defer { for topic in newTopics { rd_kafka_NewTopic_destroy(topic) } }
        for topic in topics {
            var errorText = [CChar](repeating: 0, count: 512)
            guard
                let newTopic = rd_kafka_NewTopic_new(
                    topic.name, topic.partitions, topic.replicationFactor, &errorText, errorText.count)
            else {
                let text = errorText.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
                throw KafkaError(RD_KAFKA_RESP_ERR__INVALID_ARG, message: "topic \(topic.name): \(text)")
            }
            newTopics.append(newTopic)
        }
        guard let options = rd_kafka_AdminOptions_new(client, RD_KAFKA_ADMIN_OP_CREATETOPICS) else {
            throw KafkaError(RD_KAFKA_RESP_ERR__FAIL, message: "rd_kafka_AdminOptions_new failed")
        }
        defer { rd_kafka_AdminOptions_destroy(options) }
        var errorText = [CChar](repeating: 0, count: 512)
        _ = rd_kafka_AdminOptions_set_operation_timeout(
            options, timeout.kafkaMilliseconds, &errorText, errorText.count)
        _ = rd_kafka_AdminOptions_set_request_timeout(options, timeout.kafkaMilliseconds, &errorText, errorText.count)
        guard let queue = rd_kafka_queue_new(client) else {
            throw KafkaError(RD_KAFKA_RESP_ERR__FAIL, message: "rd_kafka_queue_new failed")
        }
        defer { rd_kafka_queue_destroy(queue) }
        newTopics.withUnsafeMutableBufferPointer { buffer in
            rd_kafka_CreateTopics(client, buffer.baseAddress, buffer.count, options, queue)
        }
        // The result arrives after the operation timeout at the latest; allow a margin for the request itself.
        guard let event = rd_kafka_queue_poll(queue, (timeout + .seconds(5)).kafkaMilliseconds) else {
            throw KafkaError(RD_KAFKA_RESP_ERR__TIMED_OUT, message: "CreateTopics: no result")
        }
        defer { rd_kafka_event_destroy(event) }
        let eventError = rd_kafka_event_error(event)
        guard eventError == RD_KAFKA_RESP_ERR_NO_ERROR else {
            let text = rd_kafka_event_error_string(event).map { String(cString: $0) } ?? "CreateTopics failed"
            throw KafkaError(eventError, message: "CreateTopics: \(text)")
        }
        guard let result = rd_kafka_event_CreateTopics_result(event) else {
            throw KafkaError(RD_KAFKA_RESP_ERR__FAIL, message: "CreateTopics: unexpected event type")
        }
        var count = 0
        guard let results = rd_kafka_CreateTopics_result_topics(result, &count) else { return [:] }
        var outcome: [String: KafkaTopicCreation] = [:]
        for index in 0..<count {
            guard let topicResult = results[index] else { continue }
            let name = String(cString: rd_kafka_topic_result_name(topicResult))
            let error = rd_kafka_topic_result_error(topicResult)
            switch error {
            case RD_KAFKA_RESP_ERR_NO_ERROR:
                outcome[name] = .created
            case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS:
                outcome[name] = .alreadyExisted
            default:
                let text = rd_kafka_topic_result_error_string(topicResult).map { String(cString: $0) } ?? ""
                throw KafkaError(error, message: "create topic \(name): \(text)")
            }
        }
        logger.debug("kafka topics created", metadata: ["kafka.topics": "\(outcome.keys.sorted())"])
        return outcome
    }
}

import Foundation
import Synchronization
import Testing

@testable import Kafka

/// Runs `body` on a new thread so blocking librdkafka calls never occupy the cooperative pool.
private func onDedicatedThread<Result: Sendable>(
    _ body: @escaping @Sendable () throws -> Result
) async throws -> Result {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Swift.Result { try body() }) }
        thread.start()
    }
}

private func configuration(_ cluster: KafkaMockCluster, _ extra: [String: String] = [:]) -> KafkaConfiguration {
    var properties = [
        "fetch.wait.max.ms": "10",
        "auto.offset.reset": "earliest",
        "log_level": "3",
        "session.timeout.ms": "6000",
        "heartbeat.interval.ms": "500",
    ]
    properties.merge(extra) { $1 }
    return KafkaConfiguration(
        bootstrapServers: cluster.bootstrapServers, clientID: "kafka-admin-tests", properties: properties)
}

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

// An extension of the serialized `KafkaTests` suite, so no other Kafka test runs concurrently and
// `NativeHandleLedger` counts stay exact.
extension KafkaTests {
    @Test func createsTopicsWithPartitionsAndToleratesExistingOnes() async throws {
        let (first, second, counts, unknown) = try await onDedicatedThread {
            let cluster = try KafkaMockCluster(brokerCount: 3)
            defer { cluster.close() }
            let admin = try KafkaAdmin(configuration: configuration(cluster), mockCluster: cluster)
            let first = try admin.createTopics([
                KafkaTopicSpecification(name: "admin.a", partitions: 6, replicationFactor: 3),
                KafkaTopicSpecification(name: "admin.b", partitions: 1, replicationFactor: 1),
            ])
            let second = try admin.createTopic(name: "admin.a", partitions: 6, replicationFactor: 3)
            let counts = [
                try admin.partitionCount(topic: "admin.a"), try admin.partitionCount(topic: "admin.b"),
            ]
            let unknown = try admin.partitionCount(topic: "admin.none")
            return (first, second, counts, unknown)
        }
        #expect(first == ["admin.a": .created, "admin.b": .created])
        #expect(second == .alreadyExisted)
        #expect(counts == [6, 1])
        #expect(unknown == nil)
    }

    @Test func invalidSpecificationsAndConfigurationsFailWithoutLeaks() async throws {
        let baseline = NativeHandleLedger.liveCount
        let bad = KafkaConfiguration(bootstrapServers: "127.0.0.1:1", properties: ["no.such.property": "1"])
        let constructionError = #expect(throws: KafkaError.self) { _ = try KafkaAdmin(configuration: bad) }
        #expect(constructionError?.property == "no.such.property")
        // Checked right away: the ledger is process-wide, and tests of other targets may hold handles later on.
        #expect(NativeHandleLedger.liveCount == baseline)

        do {
            let admin = try KafkaAdmin(configuration: KafkaConfiguration(bootstrapServers: "127.0.0.1:1"))
            let specError = #expect(throws: KafkaError.self) {
                try admin.createTopic(name: "x", partitions: 0, replicationFactor: 1)
            }
            #expect(specError?.name == "_INVALID_ARG")
            // No broker behind 127.0.0.1:1: the Admin API path must time out cleanly, freeing its queue and options.
            let timeoutError = #expect(throws: KafkaError.self) {
                try admin.createTopic(name: "x", partitions: 1, replicationFactor: 1, timeout: .milliseconds(300))
            }
            #expect(timeoutError != nil)
            let metadataError = #expect(throws: KafkaError.self) {
                _ = try admin.partitionCount(topic: "x", timeout: .milliseconds(300))
            }
            #expect(metadataError != nil)
        }
    }

    @Test func headersRoundTrip() async throws {
        let messages = try await onDedicatedThread {
            let cluster = try KafkaMockCluster(brokerCount: 1)
            defer { cluster.close() }
            try cluster.createTopic(name: "headers", partitions: 1, replicationFactor: 1)
            let producer = try KafkaProducer(configuration: configuration(cluster))
            try producer.send(
                topic: "headers", key: bytes("k"), value: bytes("v1"),
                headers: [
                    KafkaHeader(name: "event_id", value: bytes("e-1")), KafkaHeader(name: "empty", value: []),
                    KafkaHeader(name: "unicode", value: bytes("päivä")),
                ])
            try producer.send(topic: "headers", key: nil, value: bytes("v2"))
            try producer.flush(timeout: .seconds(10))
            let consumer = try KafkaConsumer(configuration: configuration(cluster), groupID: "headers")
            defer { try? consumer.close() }
            try consumer.subscribe(topics: ["headers"])
            var messages: [KafkaMessage] = []
            let end = ContinuousClock.now + .seconds(15)
            while messages.count < 2, ContinuousClock.now < end {
                if let message = try consumer.poll(timeout: .milliseconds(100)) { messages.append(message) }
            }
            return messages
        }
        try #require(messages.count == 2)
        #expect(messages[0].headers == ["event_id": "e-1", "empty": "", "unicode": "päivä"])
        #expect(messages[1].headers == [:])
        #expect(
            messages[0]
                == KafkaMessage(
                    topic: "headers", partition: 0, offset: 0, key: bytes("k"), value: bytes("v1"),
                    headers: ["event_id": "e-1", "empty": "", "unicode": "päivä"]))
    }
}

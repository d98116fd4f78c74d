import Foundation
import Synchronization
import Testing

@testable import Kafka

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
        bootstrapServers: cluster.bootstrapServers, clientID: "kafka-rebalance-tests", properties: properties)
}

/// Produces `count` values `"<i>"` to explicit partitions by key choice is not possible with the default
/// partitioner, so the test reads the partition and offset of each message from its delivery report.
private func produce(_ cluster: KafkaMockCluster, topic: String, count: Int) throws -> [KafkaDeliveryReport] {
    let reports = Mutex<[KafkaDeliveryReport]>([])
    let producer = try KafkaProducer(configuration: configuration(cluster)) { report in
        reports.withLock { $0.append(report) }
    }
    for index in 0..<count {
        try producer.send(topic: topic, key: Array("k\(index % 16)".utf8), value: Array("\(index)".utf8))
    }
    try producer.flush(timeout: .seconds(10))
    return reports.withLock { $0 }
}

// An extension of the serialized `KafkaTests` suite, so no other Kafka test runs concurrently and
// `NativeHandleLedger` counts stay exact.
extension KafkaTests {
    @Test(arguments: ["range", "cooperative-sticky"])
    func onAssignStartsAtStoredOffsetsAndSeekRewinds(strategy: String) async throws {
        let outcome = try await onDedicatedThread {
            let cluster = try KafkaMockCluster(brokerCount: 3)
            defer { cluster.close() }
            try cluster.createTopic(name: "stored", partitions: 3, replicationFactor: 3)
            let reports = try produce(cluster, topic: "stored", count: 300)
            var highWater: [Int32: Int64] = [:]
            for report in reports {
                highWater[report.partition] = max(highWater[report.partition] ?? 0, report.offset + 1)
            }
            // Stored offsets: partition 0 from 7, partition 1 from its end minus 3, partition 2 not stored.
            let stored: [KafkaTopicPartition: Int64] = [
                KafkaTopicPartition(topic: "stored", partition: 0): 7,
                KafkaTopicPartition(topic: "stored", partition: 1): highWater[1]! - 3,
            ]
            let assigned = Mutex<[KafkaTopicPartition]>([])
            let revoked = Mutex<[KafkaTopicPartition]>([])
            let consumer = try KafkaConsumer(
                configuration: configuration(cluster, ["partition.assignment.strategy": strategy]),
                groupID: "stored-\(strategy)",
                onAssign: { partitions in
                    assigned.withLock { $0 += partitions }
                    return stored
                },
                onRevoke: { partitions in revoked.withLock { $0 += partitions } })
            try consumer.subscribe(topics: ["stored"])
            let expectedCount = Int(highWater[0]! - 7) + 3 + Int(highWater[2]!)
            var messages: [KafkaMessage] = []
            let end = ContinuousClock.now + .seconds(20)
            while messages.count < expectedCount, ContinuousClock.now < end {
                if let message = try consumer.poll(timeout: .milliseconds(100)) { messages.append(message) }
            }
            let assignment = try consumer.assignment()
            // Rewind partition 0 to offset 2 and read until it comes back.
            try consumer.seek(topic: "stored", partition: 0, offset: 2)
            var afterSeek: KafkaMessage?
            let seekEnd = ContinuousClock.now + .seconds(10)
            while afterSeek == nil, ContinuousClock.now < seekEnd {
                if let message = try consumer.poll(timeout: .milliseconds(100)), message.partition == 0 {
                    afterSeek = message
                }
            }
            try consumer.close()
            return (
                highWater, messages, assignment, afterSeek, assigned.withLock { $0 }, revoked.withLock { $0 }
            )
        }
        let (highWater, messages, assignment, afterSeek, assigned, revoked) = outcome
        let firstOffset = Dictionary(grouping: messages, by: \.partition).mapValues { $0.map(\.offset).min()! }
        #expect(firstOffset[0] == 7)
        #expect(firstOffset[1] == highWater[1]! - 3)
        #expect(firstOffset[2] == 0)
        #expect(messages.count == Int(highWater[0]! - 7) + 3 + Int(highWater[2]!))
        #expect(Set(assignment) == Set((0..<3).map { KafkaTopicPartition(topic: "stored", partition: $0) }))
        #expect(afterSeek?.offset == 2)
        #expect(Set(assigned) == Set(assignment))
        #expect(Set(revoked) == Set(assignment), "close revokes the assignment through onRevoke")
    }
}

import Foundation
import Kafka
import Postgres

/// State of the consume thread, shared with the consumer's rebalance hooks (which run inside `poll` and
/// `close` on that same thread). Never leaves the consume thread.
final class ConsumeSession {
    var connection: PostgresConnection?
    /// Records polled for the batch being collected.
    var batch: [KafkaMessage] = []
    /// Set when fetch positions may not match `consumer_offsets` any more (a failed transaction, or offsets that
    /// could not be read at assignment): every assigned partition is sought back before the next poll.
    var needsRewind = false
}

extension WorkerRunner {
    func makeConsumer(session: ConsumeSession) throws(KafkaError) -> KafkaConsumer {
        let configuration = options.kafka.settingDefaults(WorkerRunnerOptions.consumerDefaults)
        return try KafkaConsumer(
            configuration: configuration, groupID: groupID, logger: logger,
            onAssign: { [self] partitions in startOffsets(for: partitions, session: session) },
            onRevoke: { partitions in
                // Records of partitions we no longer own must not be applied by us.
                let revoked = Set(partitions)
                session.batch.removeAll {
                    revoked.contains(KafkaTopicPartition(topic: $0.topic, partition: $0.partition))
                }
            })
    }

    /// Start offsets from `consumer_offsets`; partitions without a row start at the beginning. On a database
    /// failure the default (Kafka-committed, never ahead of the database) positions are used and a rewind is
    /// scheduled; the in-transaction offset check keeps that exactly-once either way.
    private func startOffsets(
        for partitions: [KafkaTopicPartition], session: ConsumeSession
    ) -> [KafkaTopicPartition: Int64]? {
        guard let connection = session.connection else {
            session.needsRewind = true
            return nil
        }
        do {
            return try storedOffsets(for: partitions, connection: connection)
        } catch {
            recordFailure("read offsets at assignment", error)
            session.needsRewind = true
            return nil
        }
    }

    /// `consumer_offsets` for `partitions`, ``KafkaOffset/beginning`` where no row exists.
    func storedOffsets(
        for partitions: [KafkaTopicPartition], connection: PostgresConnection
    ) throws(PostgresError) -> [KafkaTopicPartition: Int64] {
        var offsets: [KafkaTopicPartition: Int64] = [:]
        for topic in Set(partitions.map(\.topic)).sorted() {
            let rows = try connection.execute(
                "SELECT partition, next_offset FROM consumer_offsets WHERE group_id = $1 AND topic = $2",
                [PostgresValue(groupID), PostgresValue(topic)])
            for row in 0..<rows.rowCount {
                guard let partition = try rows.int64(row, 0), let next = try rows.int64(row, 1) else { continue }
                offsets[KafkaTopicPartition(topic: topic, partition: Int32(partition))] = next
            }
        }
        var result: [KafkaTopicPartition: Int64] = [:]
        for partition in partitions { result[partition] = offsets[partition] ?? KafkaOffset.beginning }
        return result
    }

    func runConsumeLoop(_ handOff: (KafkaConsumer, ConsumeSession)) {
        var (consumer, session) = handOff
        defer {
            do { try consumer.close() } catch { recordFailure("close consumer", error) }
            session.connection?.close()
            session.connection = nil
        }
        do {
            try consumer.subscribe(topics: logic.inputTopics)
        } catch {
            recordFailure("subscribe", error)
            return
        }
        var backoff = options.reconnectBackoffInitial
        func failed(_ what: String, _ error: any Error) {
            recordFailure(what, error)
            session.connection?.close()
            session.connection = nil
            session.needsRewind = true
            control.backoff(backoff, until: RunnerControl.consumeStop)
            backoff = backoff.doubled(max: options.reconnectBackoffMax)
        }
        while !control.isConsumeStopRequested {
            if session.connection == nil {
                do {
                    session.connection = try PostgresConnection(
                        connectionString: options.postgresConnectionString, logger: logger)
                } catch {
                    failed("connect to postgres", error)
                    continue
                }
            }
            if session.needsRewind {
                do {
                    try rewind(consumer, connection: session.connection!)
                    session.needsRewind = false
                } catch {
                    failed("rewind to stored offsets", error)
                    continue
                }
            }
            let pollStarted = ContinuousClock.now
            pollBatch(consumer, session: session)
            let polled = ContinuousClock.now - pollStarted
            update { $0.pollSeconds += polled.seconds }
            if session.batch.isEmpty {
                if watchdog.idle(consumer: consumer, session: session, runner: self) {
                    // Assigned partitions have records past the stored positions, yet nothing arrives: the
                    // consumer is stuck (a last resort behind the request timeouts; first seen when connections
                    // stayed open without answers, see docs/POSTTRADE.md). Replace it; the new member starts from
                    // the stored offsets.
                    do {
                        let fresh = try makeConsumer(session: session)
                        try fresh.subscribe(topics: logic.inputTopics)
                        retireKafkaClientInBackground(consumer, logger: logger)
                        consumer = fresh
                        session.batch = []
                    } catch {
                        recordFailure("replace a stuck consumer", error)
                    }
                }
            } else {
                watchdog.progressed()
            }
            // A rebalance inside the polls may have found the database unusable: rewind before applying.
            if session.needsRewind || session.batch.isEmpty { continue }
            let batch = session.batch
            session.batch = []
            do {
                let applyStarted = ContinuousClock.now
                let outcome = try apply(batch, connection: session.connection!)
                let applied = ContinuousClock.now - applyStarted
                crash.reached(.afterDatabaseCommit)
                backoff = options.reconnectBackoffInitial
                update {
                    $0.applySeconds += applied.seconds
                    $0.batches += 1
                    $0.records += outcome.applied
                    $0.duplicatesSkipped += batch.count - outcome.applied
                    $0.deadLetters += outcome.deadLetters
                    $0.outboxWritten += outcome.outboxWritten
                }
                if outcome.outboxWritten > 0 { control.outboxChanged() }
                do {
                    // Asynchronous: a slow or unreachable group coordinator must not stall the batches.
                    try consumer.commitAsynchronously(outcome.nextOffsets)
                } catch {
                    // Advisory only: the database holds the truth.
                    logger.debug("kafka offset commit failed", metadata: ["kafka.error": "\(error)"])
                }
            } catch {
                failed("apply batch", error)
            }
        }
    }

    /// Polls until the batch is full, a poll times out with records in hand, or a stop is requested.
    private func pollBatch(_ consumer: KafkaConsumer, session: ConsumeSession) {
        session.batch = []
        while session.batch.count < options.batchSizeMax, !session.needsRewind {
            let message: KafkaMessage?
            do {
                message = try consumer.poll(timeout: options.pollTimeout)
            } catch {
                // Consumer errors (broker down, transport) are reported and retried by librdkafka itself.
                logger.debug("kafka consumer error", metadata: ["kafka.error": "\(error)"])
                update { $0.lastError = "kafka consumer: \(error)" }
                return
            }
            guard let message else { return }
            session.batch.append(message)
            if control.isConsumeStopRequested { return }
        }
    }

    /// Seeks every assigned partition to its `consumer_offsets` position.
    private func rewind(_ consumer: KafkaConsumer, connection: PostgresConnection) throws {
        let assignment = try consumer.assignment()
        guard !assignment.isEmpty else { return }
        let offsets = try storedOffsets(for: assignment, connection: connection)
        try consumer.seek(offsets)
        logger.info("rewound to stored offsets", metadata: ["kafka.partitions": "\(assignment.count)"])
    }

    struct BatchOutcome {
        var applied: Int
        var outboxWritten: Int
        var deadLetters: Int
        var nextOffsets: [KafkaCommitOffset]
    }

    /// One transaction: lock the partitions' offset rows, drop records already applied, process, write the
    /// outbox, advance the offsets, commit.
    private func apply(_ batch: [KafkaMessage], connection: PostgresConnection) throws -> BatchOutcome {
        var nextOffsets: [KafkaTopicPartition: Int64] = [:]
        for message in batch {
            let key = KafkaTopicPartition(topic: message.topic, partition: message.partition)
            nextOffsets[key] = max(nextOffsets[key] ?? Int64.min, message.offset + 1)
        }
        let partitions = nextOffsets.keys.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
        return try connection.transaction { connection in
            var stored: [KafkaTopicPartition: Int64] = [:]
            for topic in Set(partitions.map(\.topic)).sorted() {
                let numbers = partitions.filter { $0.topic == topic }.map { String($0.partition) }
                let rows = try connection.execute(
                    """
                    SELECT partition, next_offset FROM consumer_offsets
                    WHERE group_id = $1 AND topic = $2 AND partition = ANY($3::integer[])
                    ORDER BY partition FOR UPDATE
                    """,
                    [
                        PostgresValue(groupID), PostgresValue(topic),
                        PostgresValue("{\(numbers.joined(separator: ","))}"),
                    ])
                for row in 0..<rows.rowCount {
                    guard let partition = try rows.int64(row, 0), let next = try rows.int64(row, 1) else { continue }
                    stored[KafkaTopicPartition(topic: topic, partition: Int32(partition))] = next
                }
            }
            // Offsets of a partition are contiguous (idempotent producers, no transactions): a batch starting
            // after the stored position means records were deleted before this worker read them (retention
            // shorter than its lag). Never skip them silently: refuse, loudly, until an operator intervenes.
            var firstOffsets: [KafkaTopicPartition: Int64] = [:]
            for message in batch {
                let key = KafkaTopicPartition(topic: message.topic, partition: message.partition)
                firstOffsets[key] = min(firstOffsets[key] ?? Int64.max, message.offset)
            }
            for (partition, first) in firstOffsets.sorted(by: { ($0.key.topic, $0.key.partition) < ($1.key.topic, $1.key.partition) }) {
                if let position = stored[partition], first > position {
                    throw OffsetGap(partition: partition, expected: position, found: first)
                }
            }
            let fresh = batch.filter { message in
                message.offset >= stored[KafkaTopicPartition(topic: message.topic, partition: message.partition)]
                    ?? Int64.min
            }
            let records = fresh.map { message in
                InboundRecord(
                    topic: message.topic, partition: message.partition, offset: message.offset, key: message.key,
                    value: message.value, headers: message.headers)
            }
            let messages = records.isEmpty ? [] : try logic.process(records, connection: connection)
            crash.reached(.afterConsume)
            try insertOutbox(messages, connection: connection)
            try upsertOffsets(nextOffsets, connection: connection)
            return BatchOutcome(
                applied: fresh.count, outboxWritten: messages.count,
                deadLetters: messages.count { $0.topic == Topic.deadLetter },
                nextOffsets: nextOffsets.map {
                    KafkaCommitOffset(topic: $0.topic, partition: $0.partition, nextOffset: $1)
                })
        }
    }

    private static let outboxRowsPerStatement = 1_000

    private func insertOutbox(_ messages: [OutboundMessage], connection: PostgresConnection) throws(PostgresError) {
        var start = 0
        while start < messages.count {
            let chunk = messages[start..<min(start + Self.outboxRowsPerStatement, messages.count)]
            var values: [String] = []
            var parameters: [PostgresValue?] = [PostgresValue(logic.name)]
            for message in chunk {
                let base = parameters.count
                values.append("($1, $\(base + 1), $\(base + 2)::bytea, $\(base + 3)::bytea, $\(base + 4)::jsonb)")
                parameters.append(PostgresValue(message.topic))
                parameters.append(message.key.map { PostgresValue(bytes: $0) })
                parameters.append(PostgresValue(bytes: message.value))
                parameters.append(PostgresValue(OutboxCoding.headersJSON(message.headers)))
            }
            try connection.execute(
                "INSERT INTO outbox (source, topic, key, value, headers) VALUES \(values.joined(separator: ", "))",
                parameters)
            start += chunk.count
        }
    }

    private func upsertOffsets(
        _ offsets: [KafkaTopicPartition: Int64], connection: PostgresConnection
    ) throws(PostgresError) {
        guard !offsets.isEmpty else { return }
        var values: [String] = []
        var parameters: [PostgresValue?] = [PostgresValue(groupID)]
        for (partition, next) in offsets {
            let base = parameters.count
            values.append("($1, $\(base + 1), $\(base + 2)::integer, $\(base + 3)::bigint)")
            parameters.append(PostgresValue(partition.topic))
            parameters.append(PostgresValue(partition.partition))
            parameters.append(PostgresValue(next))
        }
        try connection.execute(
            """
            INSERT INTO consumer_offsets (group_id, topic, partition, next_offset)
            VALUES \(values.joined(separator: ", "))
            ON CONFLICT (group_id, topic, partition)
            DO UPDATE SET next_offset = GREATEST(consumer_offsets.next_offset, EXCLUDED.next_offset)
            """, parameters)
    }
}

/// Records between the stored position and the first record Kafka delivered are gone (deleted by retention
/// before this worker consumed them). The batch is refused; the worker retries (and logs) until an operator
/// resolves it: skipping would silently lose trades.
struct OffsetGap: Error, CustomStringConvertible {
    var partition: KafkaTopicPartition
    var expected: Int64
    var found: Int64

    var description: String {
        "\(partition.topic)[\(partition.partition)]: offsets \(expected)..<\(found) are gone from Kafka "
            + "(deleted by retention before they were consumed); refusing to skip them"
    }
}

/// Notices a consumer that stopped delivering: after ``idleLimit`` without a record, it asks the leaders of the
/// assigned partitions for their high watermarks and compares them with the stored positions; records waiting
/// there for ``stallLimit`` mean the consumer is stuck.
final class ConsumeWatchdog {
    static let idleLimit: Duration = .seconds(10)
    static let stallLimit: Duration = .seconds(20)
    private var lastRecord = ContinuousClock.now
    private var lastCheck = ContinuousClock.now
    private var waitingSince: ContinuousClock.Instant?

    func progressed() {
        lastRecord = ContinuousClock.now
        waitingSince = nil
    }

    /// True when the consumer should be replaced.
    func idle(consumer: KafkaConsumer, session: ConsumeSession, runner: WorkerRunner) -> Bool {
        let now = ContinuousClock.now
        guard now - lastRecord > Self.idleLimit, now - lastCheck > .seconds(5), let connection = session.connection
        else { return false }
        lastCheck = now
        do {
            let assignment = try consumer.assignment()
            guard !assignment.isEmpty else { return false }
            let stored = try runner.storedOffsets(for: assignment, connection: connection)
            var behind: [String] = []
            for partition in assignment {
                let high = try consumer.highWatermark(topic: partition.topic, partition: partition.partition)
                let position = stored[partition] ?? KafkaOffset.beginning
                if position >= 0, high > position { behind.append("\(partition.topic)[\(partition.partition)] \(position)<\(high)") }
            }
            guard !behind.isEmpty else {
                waitingSince = nil
                return false
            }
            if waitingSince == nil { waitingSince = now }
            guard now - waitingSince! > Self.stallLimit else { return false }
            runner.recordFailure(
                "consumer stalled", ConsumerStalled(description: "records wait but none arrive: \(behind.joined(separator: ", "))"))
            waitingSince = nil
            lastRecord = now
            return true
        } catch {
            return false
        }
    }
}

struct ConsumerStalled: Error, CustomStringConvertible {
    var description: String
}

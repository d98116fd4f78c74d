import Foundation
import Kafka
import NIOConcurrencyHelpers
import Postgres

/// Delivery outcomes by message id, filled by the producer's report handler (inside `flush`/`poll`).
final class DeliveryLedger: Sendable {
    private let outcomes = NIOLockedValueBox<[KafkaMessageID: KafkaError?]>([:])

    func record(_ report: KafkaDeliveryReport) {
        outcomes.withLockedValue { $0[report.messageID] = .some(report.error) }
    }

    /// Removes and returns the outcome of `id`; `nil` when no report arrived yet.
    func take(_ id: KafkaMessageID) -> KafkaError?? {
        outcomes.withLockedValue { $0.removeValue(forKey: id) }
    }

    func removeAll() { outcomes.withLockedValue { $0.removeAll() } }
}

extension WorkerRunner {
    private struct OutboxRow {
        var id: Int64
        var topic: String
        var key: [UInt8]?
        var value: [UInt8]
        var headers: [String: String]
    }

    func runRelayLoop(producer initialProducer: KafkaProducer, makeProducer: () throws(KafkaError) -> KafkaProducer) {
        var producer = initialProducer
        var connection: PostgresConnection?
        var holdsLock = false
        defer { connection?.close() }
        var backoff = options.reconnectBackoffInitial
        while true {
            let stopping = control.isRelayStopRequested
            let generation = control.currentOutboxGeneration
            do {
                if connection == nil {
                    connection = try PostgresConnection(
                        connectionString: options.postgresConnectionString, logger: logger)
                    holdsLock = false
                }
                if !holdsLock { holdsLock = try takeRelayLock(connection!) }
                guard holdsLock else {
                    // Another runner on this database relays; check again later (its stop releases the lock).
                    if stopping { return }
                    control.backoff(options.relayIdleWait, until: RunnerControl.relayStop)
                    continue
                }
                let relayed = try relayRound(producer: producer, connection: connection!, stopping: stopping)
                backoff = options.reconnectBackoffInitial
                if relayed == options.relayBatchSizeMax { continue }
                if stopping { return }
                // Bounded idle wait; the consume thread's commit or stop() ends it early.
                control.waitForOutbox(after: generation, timeout: options.relayIdleWait)
            } catch let stuck as RelayStuck {
                // The producer stopped delivering (a last resort behind the request timeouts; first seen when
                // connections stayed open without answers, see docs/POSTTRADE.md): replace it; the rows are still
                // in the outbox and are produced again by the new producer (duplicates are dropped downstream by
                // event id).
                recordFailure("relay outbox", stuck)
                if stopping { return }
                do {
                    let stuckProducer = producer
                    producer = try makeProducer()
                    deliveries.removeAll()
                    // Destroying a stuck producer can block for ever: never on the relay thread.
                    retireKafkaClientInBackground(stuckProducer, logger: logger)
                } catch {
                    recordFailure("replace the relay's producer", error)
                    control.backoff(backoff, until: RunnerControl.relayStop)
                    backoff = backoff.doubled(max: options.reconnectBackoffMax)
                }
            } catch {
                recordFailure("relay outbox", error)
                if stopping { return }
                connection?.close()
                connection = nil
                control.backoff(backoff, until: RunnerControl.relayStop)
                backoff = backoff.doubled(max: options.reconnectBackoffMax)
            }
        }
    }

    /// Session advisory lock per outbox source (worker name): one relay per worker kind at a time keeps that
    /// worker's rows in order and avoids producing them twice; the kinds relay in parallel. Held until the relay's
    /// connection closes.
    private func takeRelayLock(_ connection: PostgresConnection) throws -> Bool {
        let result = try connection.execute(
            "SELECT pg_try_advisory_lock(hashtext('exchange.outbox.relay.' || $1)::bigint)",
            [PostgresValue(logic.name)])
        return try result.bool(0, 0) == true
    }

    struct RelayError: Error, CustomStringConvertible {
        var description: String
    }

    /// Delivery reports stopped coming for longer than ``deliveryStallLimit``.
    struct RelayStuck: Error, CustomStringConvertible {
        var pending: Int
        var description: String { "\(pending) messages without a delivery report for 30 s: replacing the producer" }
    }

    /// How long the relay waits for the delivery reports of one round before it gives up on the producer.
    static let deliveryStallLimit: Duration = .seconds(30)

    /// Produces the oldest outbox rows, waits for their delivery reports, and deletes the rows acknowledged
    /// before the first failed one (so a retry keeps their order). Returns how many rows were read.
    private func relayRound(producer: KafkaProducer, connection: PostgresConnection, stopping: Bool) throws -> Int {
        let roundStarted = ContinuousClock.now
        var deliveryStarted: ContinuousClock.Instant?
        var deliveryEnded: ContinuousClock.Instant?
        defer {
            let total = ContinuousClock.now - roundStarted
            let delivery = deliveryStarted.map { (deliveryEnded ?? ContinuousClock.now) - $0 } ?? .zero
            update {
                $0.relayDeliverySeconds += delivery.seconds
                $0.relayDatabaseSeconds += (total - delivery).seconds
            }
        }
        let result = try connection.execute(
            """
            SELECT id, topic, encode(key, 'hex'), encode(value, 'hex'), headers::text
            FROM outbox WHERE source = $2 ORDER BY id LIMIT $1
            """, [PostgresValue(options.relayBatchSizeMax), PostgresValue(logic.name)])
        guard result.rowCount > 0 else { return 0 }
        var rows: [OutboxRow] = []
        rows.reserveCapacity(result.rowCount)
        for index in 0..<result.rowCount {
            guard let id = try result.int64(index, 0), let topic = result.string(index, 1),
                let value = OutboxCoding.bytes(fromHex: result.string(index, 3))
            else { throw RelayError(description: "outbox row \(index) has no id, topic or value") }
            rows.append(
                OutboxRow(
                    id: id, topic: topic, key: OutboxCoding.bytes(fromHex: result.string(index, 2)), value: value,
                    headers: OutboxCoding.headers(fromJSON: result.string(index, 4) ?? "{}")))
        }

        deliveries.removeAll()
        deliveryStarted = ContinuousClock.now
        var sent: [(row: Int64, message: KafkaMessageID)] = []
        for row in rows {
            let headers = row.headers.sorted { $0.key < $1.key }.map {
                KafkaHeader(name: $0.key, value: Array($0.value.utf8))
            }
            sent.append((row.id, try send(row, headers: headers, producer: producer)))
        }
        try waitForDeliveries(producer, stopping: stopping)
        deliveryEnded = ContinuousClock.now
        crash.reached(.afterProduce)

        var acknowledged: [Int64] = []
        var firstFailure: KafkaError?
        for (row, message) in sent {
            let outcome = deliveries.take(message)
            guard firstFailure == nil else { continue }
            if let outcome {
                if let error = outcome { firstFailure = error } else { acknowledged.append(row) }
            } else {
                firstFailure = KafkaError(rawCode: -185, message: "no delivery report")  // _TIMED_OUT
            }
        }
        if !acknowledged.isEmpty {
            let list = "{" + acknowledged.map(String.init).joined(separator: ",") + "}"
            try connection.execute("DELETE FROM outbox WHERE id = ANY($1::bigint[])", [PostgresValue(list)])
            update { $0.relayed += acknowledged.count }
        }
        if let firstFailure {
            throw RelayError(
                description: "delivery failed, \(rows.count - acknowledged.count) rows kept: \(firstFailure)")
        }
        return rows.count
    }

    /// Sends one row, serving delivery reports while the local queue is full.
    private func send(_ row: OutboxRow, headers: [KafkaHeader], producer: KafkaProducer) throws(KafkaError)
        -> KafkaMessageID
    {
        while true {
            do {
                return try producer.send(topic: row.topic, key: row.key, value: row.value, headers: headers)
            } catch {
                guard error.name == "_QUEUE_FULL" else { throw error }
                producer.poll(timeout: .milliseconds(50))
            }
        }
    }

    /// Waits for every delivery report. While running, waits as long as it takes (librdkafka reports every
    /// message within `message.timeout.ms`, failed or not): sending again meanwhile would only duplicate. While
    /// stopping, gives up after ``WorkerRunnerOptions/stopFlushTimeout``.
    private func waitForDeliveries(_ producer: KafkaProducer, stopping: Bool) throws {
        let deadline = ContinuousClock.now + options.stopFlushTimeout
        var lastProgress = ContinuousClock.now
        var pending = producer.pendingDeliveryCount
        while true {
            do {
                try producer.flush(timeout: .seconds(1))
                return
            } catch {
                let giveUp = (stopping || control.isRelayStopRequested) && ContinuousClock.now >= deadline
                if giveUp { throw error }
                let now = producer.pendingDeliveryCount
                if now < pending {
                    pending = now
                    lastProgress = ContinuousClock.now
                } else if ContinuousClock.now - lastProgress > Self.deliveryStallLimit {
                    throw RelayStuck(pending: now)
                }
            }
        }
    }
}

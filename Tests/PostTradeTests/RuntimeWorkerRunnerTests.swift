import Foundation
import Kafka
import PostTrade
import Postgres
import Synchronization
import Testing

/// Runs `body` on a new thread so blocking librdkafka and libpq calls never occupy the cooperative pool.
private func onDedicatedThread<Result: Sendable>(
    _ body: @escaping @Sendable () throws -> Result
) async throws -> Result {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Swift.Result { try body() }) }
        thread.start()
    }
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes; returns whether it held.
@discardableResult
private func waitUntil(_ timeout: Duration, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: 0.02)
    }
    return try condition()
}

private let inputTopic = "toy.input"
private let outputTopic = "toy.output"

/// The worker under test: records every application in `toy_applications` (no key, so a batch applied twice
/// shows), keeps event ids in `toy_events` idempotently, emits one output message per new id and a dead letter
/// for the value "bad".
private final class ToyLogic: WorkerLogic {
    let name = "toy"
    let inputTopics = [inputTopic]

    func process(_ records: [InboundRecord], connection: PostgresConnection) throws -> [OutboundMessage] {
        var messages: [OutboundMessage] = []
        for record in records {
            let value = String(decoding: record.value ?? [], as: UTF8.self)
            if value == "bad" {
                messages.append(
                    OutboundMessage(
                        topic: Topic.deadLetter, key: record.key, value: record.value ?? [],
                        headers: [
                            EventHeader.reason: "value is bad", EventHeader.sourceTopic: record.topic,
                            EventHeader.sourcePartition: "\(record.partition)",
                            EventHeader.sourceOffset: "\(record.offset)",
                        ]))
                continue
            }
            try connection.execute("INSERT INTO toy_applications (event_id) VALUES ($1)", [PostgresValue(value)])
            let inserted = try connection.execute(
                "INSERT INTO toy_events (event_id) VALUES ($1) ON CONFLICT DO NOTHING", [PostgresValue(value)])
            if inserted.rowsAffected == 1 {
                messages.append(
                    OutboundMessage(
                        topic: outputTopic, key: record.key, value: Array("out-\(value)".utf8),
                        headers: [EventHeader.eventID: value]))
            }
        }
        return messages
    }
}

/// A private PostgreSQL server with the runtime tables (DDL from Contracts.swift) and the toy tables, and a
/// three-broker mock Kafka cluster with the topics. Stopped on every path.
private final class RuntimeFixture: @unchecked Sendable {
    let postgres = LocalPostgresServer()
    let cluster: KafkaMockCluster
    let database: PostgresConnection

    init() throws {
        try postgres.start()
        do {
            database = try PostgresConnection(connectionString: postgres.connectionString)
            try database.execute(
                """
                CREATE TABLE consumer_offsets (group_id text, topic text, partition integer, next_offset bigint,
                                               PRIMARY KEY (group_id, topic, partition))
                """)
            try database.execute(
                """
                CREATE TABLE outbox (id bigserial PRIMARY KEY, source text NOT NULL DEFAULT '', topic text NOT NULL,
                                     key bytea, value bytea NOT NULL, headers jsonb NOT NULL DEFAULT '{}',
                                     created_at timestamptz NOT NULL DEFAULT now())
                """)
            try database.execute("CREATE TABLE toy_applications (event_id text NOT NULL)")
            try database.execute("CREATE TABLE toy_events (event_id text PRIMARY KEY)")
            cluster = try KafkaMockCluster(brokerCount: 3)
            let admin = try KafkaAdmin(
                configuration: kafkaConfiguration(cluster.bootstrapServers), mockCluster: cluster)
            try admin.createTopics([
                KafkaTopicSpecification(name: inputTopic, partitions: 4, replicationFactor: 3),
                KafkaTopicSpecification(name: outputTopic, partitions: 4, replicationFactor: 3),
                KafkaTopicSpecification(name: Topic.deadLetter, partitions: 1, replicationFactor: 3),
            ])
        } catch {
            postgres.stop()
            throw error
        }
    }

    func close() {
        database.close()
        cluster.close()
        postgres.stop()
    }

    func options() -> WorkerRunnerOptions {
        var options = WorkerRunnerOptions(
            kafka: kafkaConfiguration(cluster.bootstrapServers), postgresConnectionString: postgres.connectionString)
        options.batchSizeMax = 150
        options.pollTimeout = .milliseconds(50)
        options.relayBatchSizeMax = 300
        options.reconnectBackoffMax = .milliseconds(500)
        options.crashPlan = nil
        return options
    }

    func count(_ sql: String) throws -> Int64 { try database.execute(sql).int64(0, 0) ?? 0 }

    var applications: Int64 { (try? count("SELECT count(*) FROM toy_applications")) ?? -1 }

    /// Every input record consumed (offsets in the database cover all of them) and the outbox empty.
    func isDone(inputRecords: Int64) throws -> Bool {
        try count("SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets") == inputRecords
            && count("SELECT count(*) FROM outbox") == 0
    }

    func produce(_ values: [String]) throws {
        let failures = Mutex(0)
        let producer = try KafkaProducer(configuration: kafkaConfiguration(cluster.bootstrapServers)) { report in
            if report.error != nil { failures.withLock { $0 += 1 } }
        }
        for (index, value) in values.enumerated() {
            try producer.send(topic: inputTopic, key: Array("k\(index % 50)".utf8), value: Array(value.utf8))
        }
        try producer.flush(timeout: .seconds(30))
        precondition(failures.withLock { $0 } == 0, "test input not delivered")
    }

    /// Reads `toy.output` and `dead.letter` from the beginning with a fresh group until `expectedOutputs` distinct
    /// output values and one dead letter arrived (or 30 s passed).
    func readOutputs(expectedOutputs: Int) throws -> (outputs: [String], deadLetters: [KafkaMessage]) {
        let consumer = try KafkaConsumer(
            configuration: kafkaConfiguration(cluster.bootstrapServers), groupID: "verify-\(UUID().uuidString)")
        defer { try? consumer.close() }
        try consumer.subscribe(topics: [outputTopic, Topic.deadLetter])
        var outputs: [String] = []
        var deadLetters: [KafkaMessage] = []
        waitUntil(.seconds(30)) {
            while let message = try? consumer.poll(timeout: .milliseconds(20)) {
                if message.topic == outputTopic {
                    outputs.append(String(decoding: message.value ?? [], as: UTF8.self))
                } else {
                    deadLetters.append(message)
                }
            }
            return Set(outputs).count >= expectedOutputs && !deadLetters.isEmpty
        }
        return (outputs, deadLetters)
    }
}

private func kafkaConfiguration(_ bootstrap: String) -> KafkaConfiguration {
    KafkaConfiguration(
        bootstrapServers: bootstrap, clientID: "runtime-tests",
        properties: [
            "fetch.wait.max.ms": "10",
            "auto.offset.reset": "earliest",
            "log_level": "2",
            "session.timeout.ms": "6000",
            "heartbeat.interval.ms": "500",
            "reconnect.backoff.ms": "20",
            "reconnect.backoff.max.ms": "200",
        ])
}

private struct RunSummary: Sendable {
    var applications: Int64
    var distinctEvents: Int64
    var storedOffsetSum: Int64
    var outboxLeft: Int64
    var done: Bool
    var outputs: [String]
    var deadLetters: [KafkaMessage]
    var counters: [WorkerRunnerCounters]
}

private func summarize(
    _ fixture: RuntimeFixture, done: Bool, counters: [WorkerRunnerCounters], expectedOutputs: Int
) throws -> RunSummary {
    let (outputs, deadLetters) = try fixture.readOutputs(expectedOutputs: expectedOutputs)
    return RunSummary(
        applications: try fixture.count("SELECT count(*) FROM toy_applications"),
        distinctEvents: try fixture.count("SELECT count(DISTINCT event_id) FROM toy_events"),
        storedOffsetSum: try fixture.count("SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets"),
        outboxLeft: try fixture.count("SELECT count(*) FROM outbox"),
        done: done, outputs: outputs, deadLetters: deadLetters, counters: counters)
}

private func checkExactlyOnce(_ summary: RunSummary, events: Int) {
    #expect(summary.done, "the runners did not finish in time")
    #expect(summary.applications == Int64(events), "a record was applied twice or not at all")
    #expect(summary.distinctEvents == Int64(events))
    #expect(summary.storedOffsetSum == Int64(events + 1))
    #expect(summary.outboxLeft == 0)
    let missing = Set((0..<events).map { "out-e\($0)" }).subtracting(summary.outputs)
    #expect(missing.isEmpty, "\(missing.count) output messages missing, for example \(missing.sorted().prefix(5))")
    #expect(Set(summary.outputs).count == events, "unexpected output values")
    let deadLetter = summary.deadLetters.first
    #expect(deadLetter?.value == Array("bad".utf8))
    #expect(deadLetter?.headers[EventHeader.reason] == "value is bad")
    #expect(deadLetter?.headers[EventHeader.sourceTopic] == inputTopic)
    let total = summary.counters.reduce(into: WorkerRunnerCounters()) { sum, counters in
        sum.records += counters.records
        sum.deadLetters += counters.deadLetters
        sum.outboxWritten += counters.outboxWritten
        sum.relayed += counters.relayed
    }
    #expect(total.deadLetters == 1)
    #expect(total.records == events + 1)
    #expect(total.relayed == total.outboxWritten && total.outboxWritten == events + 1)
}

@Suite(.serialized)
struct RuntimeWorkerRunnerTests {
    @Test func processesEveryRecordExactlyOnceAcrossARestartMidStream() async throws {
        let events = 2_000
        let summary = try await onDedicatedThread { () throws -> RunSummary in
            let fixture = try RuntimeFixture()
            defer { fixture.close() }
            let values = (0..<events).map { "e\($0)" }
            try fixture.produce(Array(values[..<1_000]) + ["bad"])

            let first = WorkerRunner(logic: ToyLogic(), options: fixture.options())
            try first.start()
            waitUntil(.seconds(30)) { fixture.applications >= 300 }
            try fixture.produce(Array(values[1_000...]))
            waitUntil(.seconds(30)) { fixture.applications >= 1_200 }
            first.stop()

            let second = WorkerRunner(logic: ToyLogic(), options: fixture.options())
            try second.start()
            let done = try waitUntil(.seconds(60)) { try fixture.isDone(inputRecords: Int64(events + 1)) }
            second.stop()
            return try summarize(
                fixture, done: done, counters: [first.counters, second.counters], expectedOutputs: events)
        }
        checkExactlyOnce(summary, events: events)
        #expect(summary.counters[0].records > 0 && summary.counters[1].records > 0, "both runners did work")
    }

    @Test func brokerDownAndDatabaseConnectionLossKeepExactlyOnce() async throws {
        let events = 2_000
        let (summary, failures) = try await onDedicatedThread { () throws -> (RunSummary, Int) in
            let fixture = try RuntimeFixture()
            defer { fixture.close() }
            try fixture.produce((0..<events).map { "e\($0)" } + ["bad"])

            let runner = WorkerRunner(logic: ToyLogic(), options: fixture.options())
            try runner.start()
            waitUntil(.seconds(30)) { fixture.applications >= 300 }
            try fixture.cluster.setBrokerDown(1)
            // Let the runner work (or stall) against the broken cluster for a while.
            let before = fixture.applications
            waitUntil(.seconds(3)) { fixture.applications >= before + 300 }
            // Kill the runner's database sessions: the batch in flight fails, the runner reconnects and rewinds.
            try fixture.database.execute(
                """
                SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'
                """)
            try fixture.cluster.setBrokerUp(1)
            let done = try waitUntil(.seconds(90)) { try fixture.isDone(inputRecords: Int64(events + 1)) }
            runner.stop()
            return (
                try summarize(fixture, done: done, counters: [runner.counters], expectedOutputs: events),
                runner.counters.failures
            )
        }
        checkExactlyOnce(summary, events: events)
        #expect(failures >= 1, "terminating the sessions must have failed a database step")
    }

    /// The relay's last resort: a producer whose broker keeps the connection open but stops answering gets no
    /// delivery report; with request timeouts far away (5 min here) only the 30 s stall replacement gets the rows
    /// out, through a new producer, once, with nothing lost or applied twice.
    @Test func relayReplacesAProducerStuckOnASilentBroker() async throws {
        let events = 3_000
        let (summary, counters, relayedBeforeSilence, replaced) = try await onDedicatedThread {
            () throws -> (RunSummary, WorkerRunnerCounters, Bool, Bool) in
            let fixture = try RuntimeFixture()
            defer { fixture.close() }
            // What the consumer needs is on broker 1; the relay's output topic only on broker 2.
            for partition: Int32 in 0..<4 {
                try fixture.cluster.setPartitionLeader(topic: inputTopic, partition: partition, broker: 1)
                try fixture.cluster.setPartitionLeader(topic: outputTopic, partition: partition, broker: 2)
            }
            try fixture.cluster.setPartitionLeader(topic: Topic.deadLetter, partition: 0, broker: 1)
            try fixture.produce((0..<events).map { "e\($0)" } + ["bad"])

            var options = fixture.options()
            options.kafka.properties["socket.timeout.ms"] = "300000"
            options.kafka.properties["request.timeout.ms"] = "300000"
            options.relayBatchSizeMax = 50
            let runner = WorkerRunner(logic: ToyLogic(), options: options)
            try fixture.cluster.setGroupCoordinator(group: runner.groupID, broker: 1)
            try runner.start()
            defer { runner.stop() }
            let relayedBeforeSilence = waitUntil(.seconds(30)) { runner.counters.relayed > 0 }
            try fixture.cluster.setBrokerResponseDelay(2, .seconds(1_000))
            // The relay's requests in flight now wait behind responses due in 1,000 s; it must notice (30 s
            // without a report) and replace its producer. Broker 2 answers new connections again from then on.
            var replaced = false
            let replaceDeadline = ContinuousClock.now + .seconds(60)
            while !replaced, ContinuousClock.now < replaceDeadline {
                replaced = (runner.counters.lastError ?? "").contains("replacing the producer")
                if !replaced { Thread.sleep(forTimeInterval: 0.02) }
            }
            try fixture.cluster.setBrokerResponseDelay(2, .zero)
            let done = try waitUntil(.seconds(90)) { try fixture.isDone(inputRecords: Int64(events + 1)) }
            return (
                try summarize(fixture, done: done, counters: [runner.counters], expectedOutputs: events),
                runner.counters, relayedBeforeSilence, replaced
            )
        }
        #expect(relayedBeforeSilence)
        #expect(replaced, "no stall noticed: \(counters)")
        checkExactlyOnce(summary, events: events)
        #expect(counters.failures >= 1)
    }

    @Test func twoRunnersShareTheGroupAndOneLeavesMidStream() async throws {
        let events = 2_000
        let (summary, relayers) = try await onDedicatedThread { () throws -> (RunSummary, Int) in
            let fixture = try RuntimeFixture()
            defer { fixture.close() }
            let values = (0..<events).map { "e\($0)" }
            try fixture.produce(Array(values[..<100]) + ["bad"])
            let first = WorkerRunner(logic: ToyLogic(), options: fixture.options())
            let second = WorkerRunner(logic: ToyLogic(), options: fixture.options())
            try first.start()
            try second.start()
            // A steady stream until both runners have applied records (the second join rebalances the group).
            var next = 100
            while next < 1_500, next < 1_000 || first.counters.records == 0 || second.counters.records == 0 {
                try fixture.produce(Array(values[next..<(next + 50)]))
                next += 50
                waitUntil(.seconds(10)) { fixture.applications >= Int64(next) }
            }
            // The group rebalances again: the second runner takes over the first one's partitions mid-stream.
            first.stop()
            try fixture.produce(Array(values[next...]))
            let done = try waitUntil(.seconds(60)) { try fixture.isDone(inputRecords: Int64(events + 1)) }
            second.stop()
            let counters = [first.counters, second.counters]
            return (
                try summarize(fixture, done: done, counters: counters, expectedOutputs: events),
                counters.count { $0.relayed > 0 }
            )
        }
        checkExactlyOnce(summary, events: events)
        #expect(summary.counters.allSatisfy { $0.records > 0 }, "both runners consumed")
        #expect(relayers >= 1)
    }

    @Test func crashPlanParsesAndRejectsBadValues() throws {
        #expect(try CrashPlan(parsing: "after-db-commit:3") == CrashPlan(point: .afterDatabaseCommit, hit: 3))
        #expect(try CrashPlan(parsing: "after-consume:1").point == .afterConsume)
        #expect(try CrashPlan(parsing: "after-produce:10").hit == 10)
        #expect(try CrashPlan.fromEnvironment(["EXCHANGE_CRASH_AT": "after-produce:2"])?.point == .afterProduce)
        #expect(try CrashPlan.fromEnvironment([:]) == nil)
        for bad in ["after-commit:1", "after-consume", "after-consume:0", "after-consume:x", ":1", "after-consume:1:2"]
        {
            let error = #expect(throws: WorkerRuntimeError.self, "\(bad)") { try CrashPlan(parsing: bad) }
            #expect(error?.code == .invalidCrashPlan)
            #expect(error?.message.contains("EXCHANGE_CRASH_AT") == true)
        }
        var options = WorkerRunnerOptions(
            kafka: KafkaConfiguration(bootstrapServers: "127.0.0.1:1"), postgresConnectionString: "host=127.0.0.1")
        options.crashPlan = nil
        options.batchSizeMax = 0
        let runner = WorkerRunner(logic: ToyLogic(), options: options)
        let error = #expect(throws: WorkerRuntimeError.self) { try runner.start() }
        #expect(error?.code == .invalidOptions)
        #expect(runner.counters == WorkerRunnerCounters())
    }
}


public import Kafka

/// Settings of one ``WorkerRunner``.
public struct WorkerRunnerOptions: Sendable {
    /// Kafka bootstrap servers and extra librdkafka properties, shared by the consumer and the relay's producer.
    /// The runner sets `group.id` (`exchange.<logic name>`), `enable.auto.commit=false`, `enable.idempotence=true`
    /// and `acks=all` itself; the consumer takes ``consumerDefaults`` and the producer
    /// `KafkaConfiguration.producerTimeouts` where these properties do not say otherwise. Default: none, required.
    public var kafka: KafkaConfiguration

    /// The worker consumer's librdkafka settings unless ``kafka`` sets them:
    /// - `auto.offset.reset=earliest`: a partition without a stored offset is read from its start.
    /// - `session.timeout.ms=6000`, `heartbeat.interval.ms=1000`: a worker killed with SIGKILL holds its
    ///   partitions until the coordinator's session timeout (librdkafka's default is 45 s).
    /// - `max.poll.interval.ms=30000`: also bounds a JoinGroup request (this + 3 s), which otherwise waits
    ///   300 s on a coordinator that stopped answering; the consume loop polls at least every few seconds
    ///   unless PostgreSQL is down, and then leaving the group and joining again is harmless.
    /// - `socket.timeout.ms=10000` (`KafkaConfiguration.unresponsiveBrokerTimeouts`).
    /// - `fetch.wait.max.ms=10`: records reach the worker without waiting for a fuller fetch.
    public static let consumerDefaults: [String: String] = KafkaConfiguration.unresponsiveBrokerTimeouts.merging([
        "auto.offset.reset": "earliest", "session.timeout.ms": "6000", "heartbeat.interval.ms": "1000",
        "max.poll.interval.ms": "30000", "fetch.wait.max.ms": "10",
    ]) { first, _ in first }
    /// libpq connection string of the worker's database (holding `consumer_offsets` and `outbox`).
    /// Default: none, required.
    public var postgresConnectionString: String
    /// Records handed to one ``WorkerLogic/process(_:connection:)`` call and one transaction, at most.
    /// Default: 1,000; range 1...100,000.
    public var batchSizeMax: Int = 1_000
    /// How long one Kafka poll waits. A batch ends early when a poll times out with records in hand; stop
    /// requests are noticed within about this time. Default: 100 ms; range 1 ms...10 s.
    public var pollTimeout: Duration = .milliseconds(100)
    /// Outbox rows read and produced per relay round. Default: 1,000; range 1...10,000.
    public var relayBatchSizeMax: Int = 1_000
    /// The longest the relay sleeps when the outbox is empty and nobody signals new rows (a safety net: the
    /// consume thread wakes it after every commit that wrote outbox rows). Default: 1 s; range 1 ms...60 s.
    public var relayIdleWait: Duration = .seconds(1)
    /// First wait after a PostgreSQL or relay failure; doubled per consecutive failure up to
    /// ``reconnectBackoffMax``. Default: 50 ms; range 1 ms...60 s.
    public var reconnectBackoffInitial: Duration = .milliseconds(50)
    /// Default: 5 s; range ``reconnectBackoffInitial``...300 s.
    public var reconnectBackoffMax: Duration = .seconds(5)
    /// During ``WorkerRunner/stop()``, how long the relay waits for delivery reports of its last round before it
    /// gives up (the rows stay in the outbox for the next start). Default: 10 s; range 1 ms...600 s.
    public var stopFlushTimeout: Duration = .seconds(10)
    /// A crash point for fault tests. `nil`: read ``CrashPlan/environmentVariable`` at ``WorkerRunner/start()``.
    /// Default: `nil`.
    public var crashPlan: CrashPlan? = nil

    public init(kafka: KafkaConfiguration, postgresConnectionString: String) {
        self.kafka = kafka
        self.postgresConnectionString = postgresConnectionString
    }

    func validate() throws(WorkerRuntimeError) {
        func check(_ condition: Bool, _ message: String) throws(WorkerRuntimeError) {
            if !condition { throw WorkerRuntimeError(code: .invalidOptions, message: message) }
        }
        try check(!postgresConnectionString.isEmpty, "postgresConnectionString must not be empty")
        try check(!kafka.bootstrapServers.isEmpty, "kafka.bootstrapServers must not be empty")
        try check((1...100_000).contains(batchSizeMax), "batchSizeMax \(batchSizeMax) not in 1...100000")
        try check(
            pollTimeout >= .milliseconds(1) && pollTimeout <= .seconds(10),
            "pollTimeout \(pollTimeout) not in 1 ms...10 s")
        try check(
            (1...10_000).contains(relayBatchSizeMax), "relayBatchSizeMax \(relayBatchSizeMax) not in 1...10000")
        try check(
            relayIdleWait >= .milliseconds(1) && relayIdleWait <= .seconds(60),
            "relayIdleWait \(relayIdleWait) not in 1 ms...60 s")
        try check(
            reconnectBackoffInitial >= .milliseconds(1) && reconnectBackoffInitial <= .seconds(60),
            "reconnectBackoffInitial \(reconnectBackoffInitial) not in 1 ms...60 s")
        try check(
            reconnectBackoffMax >= reconnectBackoffInitial && reconnectBackoffMax <= .seconds(300),
            "reconnectBackoffMax \(reconnectBackoffMax) not in reconnectBackoffInitial...300 s")
        try check(
            stopFlushTimeout >= .milliseconds(1) && stopFlushTimeout <= .seconds(600),
            "stopFlushTimeout \(stopFlushTimeout) not in 1 ms...600 s")
    }
}

/// An operating error of the worker runtime: bad options, a bad crash plan, or a client that could not be made.
public struct WorkerRuntimeError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let name: String
        private init(_ name: String) { self.name = name }
        /// A ``WorkerRunnerOptions`` field is out of range.
        public static let invalidOptions = Code("invalidOptions")
        /// `EXCHANGE_CRASH_AT` (or ``WorkerRunnerOptions/crashPlan``) does not parse.
        public static let invalidCrashPlan = Code("invalidCrashPlan")
        /// The Kafka consumer or producer could not be created (see `underlying`).
        public static let kafkaSetupFailed = Code("kafkaSetupFailed")
        /// ``WorkerRunner/start()`` was called on a runner that was already started.
        public static let alreadyStarted = Code("alreadyStarted")
        public var description: String { name }
    }

    public var code: Code
    public var message: String
    /// The Kafka error behind `kafkaSetupFailed`.
    public var underlying: KafkaError?

    public init(code: Code, message: String, underlying: KafkaError? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String {
        if let underlying { return "WorkerRuntimeError(\(code)): \(message): \(underlying)" }
        return "WorkerRuntimeError(\(code)): \(message)"
    }
}

import Foundation
import Kafka
public import Logging
import NIOConcurrencyHelpers
import Postgres

/// What a ``WorkerRunner`` has done so far.
public struct WorkerRunnerCounters: Sendable, Hashable {
    /// Transactions committed (one per non-empty batch).
    public var batches = 0
    /// Records in committed batches that were handed to the logic.
    public var records = 0
    /// Records dropped because `consumer_offsets` showed them already applied (redelivery after a rewind,
    /// a rebalance, or a Kafka offset commit that was lost).
    public var duplicatesSkipped = 0
    /// Outbox messages to ``Topic/deadLetter`` written in committed batches.
    public var deadLetters = 0
    /// Outbox messages written in committed batches (dead letters included).
    public var outboxWritten = 0
    /// Outbox rows produced, acknowledged and deleted by the relay.
    public var relayed = 0
    /// Failed batch transactions and failed relay rounds (each followed by a backoff and a retry).
    public var failures = 0
    /// The most recent error, as text.
    public var lastError: String?
    /// Where the worker's two threads spend their time (wall clock, summed since start): the consume thread
    /// polling Kafka for a batch, and applying batches (the PostgreSQL transaction with the logic); the relay
    /// reading and deleting outbox rows, and producing them and waiting for their delivery reports.
    public var pollSeconds = 0.0
    public var applySeconds = 0.0
    public var relayDatabaseSeconds = 0.0
    public var relayDeliverySeconds = 0.0

    public init() {}
}

/// Runs one ``WorkerLogic`` on two dedicated threads: a consume thread (Kafka → logic → PostgreSQL, one
/// transaction per batch together with the outbox rows and the consumed offsets) and a relay thread (outbox →
/// Kafka, at least once).
///
/// Exactly-once effects come from PostgreSQL: `consumer_offsets` is the truth for where each partition
/// continues. The consumer starts newly assigned partitions there (through the consumer's `onAssign` hook),
/// rewinds to it after a failed transaction, and inside each transaction locks the partitions' rows and drops
/// records below them, so a batch is never applied twice even after a rebalance. Kafka's committed offsets are
/// only advisory.
///
/// Crash points for fault tests: ``CrashPoint`` (`EXCHANGE_CRASH_AT="<point>:<n>"`).
///
/// `@unchecked Sendable`: `logic` is used only by the consume thread once ``start()`` returns; everything else
/// is immutable or behind locks.
///
/// - Important: ``start()`` and ``stop()`` block briefly (client creation, thread joins); call them from a thread
///   that may block, not from the cooperative pool or a NIO event loop. A runner runs once: start, stop, done.
public final class WorkerRunner: @unchecked Sendable {
    public let options: WorkerRunnerOptions
    /// `exchange.<logic.name>`.
    public let groupID: String
    let logic: any WorkerLogic
    let logger: Logger
    let control = RunnerControl()
    private let state = NIOLockedValueBox(WorkerRunnerCounters())
    private let lifecycle = NIOLockedValueBox(Lifecycle.created)
    let crash = CrashSwitch()
    /// Touched only by the consume thread.
    let watchdog = ConsumeWatchdog()

    private enum Lifecycle { case created, running, stopped }

    static let consumeThreadName = "consume"
    static let relayThreadName = "relay"

    public init(logic: any WorkerLogic, options: WorkerRunnerOptions, logger: Logger? = nil) {
        self.logic = logic
        self.options = options
        self.groupID = "exchange.\(logic.name)"
        var logger = logger ?? Logger(label: "exchange.worker")
        logger[metadataKey: "worker.name"] = "\(logic.name)"
        self.logger = logger
    }

    deinit {
        stop()
    }

    /// A snapshot of the counters; safe from any thread.
    public var counters: WorkerRunnerCounters { state.withLockedValue { $0 } }

    /// Validates the options and the crash plan, creates the Kafka clients and launches the two threads.
    /// - Throws: ``WorkerRuntimeError`` (`invalidOptions`, `invalidCrashPlan`, `kafkaSetupFailed`,
    ///   `alreadyStarted`); nothing is left running when it throws.
    public func start() throws(WorkerRuntimeError) {
        try options.validate()
        var plan = options.crashPlan
        if plan == nil { plan = try CrashPlan.fromEnvironment() }
        let canStart = lifecycle.withLockedValue { stage -> Bool in
            guard stage == .created else { return false }
            stage = .running
            return true
        }
        guard canStart else {
            throw WorkerRuntimeError(code: .alreadyStarted, message: "runner \(groupID) was started before")
        }
        crash.arm(plan)
        if let plan { logger.warning("crash point armed", metadata: ["worker.crash_plan": "\(plan)"]) }

        let session = ConsumeSession()
        let consumer: KafkaConsumer
        let producer: KafkaProducer
        do {
            consumer = try makeConsumer(session: session)
            producer = try makeProducer()
        } catch {
            lifecycle.withLockedValue { $0 = .stopped }
            throw WorkerRuntimeError(
                code: .kafkaSetupFailed, message: "creating Kafka clients: \(error)", underlying: error)
        }
        // The consumer and the session have not been used yet; from here on only the consume thread touches them.
        let handOff = ConsumeHandOff(consumer: consumer, session: session)
        let consumeThread = Thread { [self] in
            runConsumeLoop(handOff.take())
            control.threadFinished(Self.consumeThreadName)
        }
        consumeThread.name = "worker-\(logic.name)-consume"
        let relayThread = Thread { [self] in
            runRelayLoop(producer: producer) { [self] () throws(KafkaError) -> KafkaProducer in try makeProducer() }
            control.threadFinished(Self.relayThreadName)
        }
        relayThread.name = "worker-\(logic.name)-relay"
        consumeThread.start()
        relayThread.start()
        logger.info("worker started", metadata: ["kafka.group": "\(groupID)"])
    }

    /// Stops cleanly: the consume thread finishes its current batch, closes the consumer (so the group
    /// rebalances at once) and its connection; then the relay makes a last round over the outbox and exits.
    /// Returns after both threads have ended. Idempotent; safe before ``start()``.
    public func stop() {
        let wasRunning = lifecycle.withLockedValue { stage -> Bool in
            defer { stage = .stopped }
            return stage == .running
        }
        guard wasRunning else { return }
        control.requestConsumeStop()
        control.join(Self.consumeThreadName)
        control.requestRelayStop()
        control.join(Self.relayThreadName)
        logger.info("worker stopped", metadata: ["kafka.group": "\(groupID)"])
    }

    func update(_ body: (inout WorkerRunnerCounters) -> Void) {
        state.withLockedValue { body(&$0) }
    }

    func recordFailure(_ what: String, _ error: any Error) {
        logger.warning("worker step failed", metadata: ["worker.step": "\(what)", "worker.error": "\(error)"])
        update {
            $0.failures += 1
            $0.lastError = "\(what): \(error)"
        }
    }

    private func makeProducer() throws(KafkaError) -> KafkaProducer {
        let configuration = options.kafka.settingDefaults(KafkaConfiguration.producerTimeouts)
        return try KafkaProducer(configuration: configuration, logger: logger) { [deliveries] report in
            deliveries.record(report)
        }
    }

    let deliveries = DeliveryLedger()
}

/// Moves the not-yet-used consumer and its session to the consume thread.
///
/// `@unchecked Sendable`: taken exactly once, by the consume thread; `start()` never touches them afterwards.
private final class ConsumeHandOff: @unchecked Sendable {
    private var contents: (KafkaConsumer, ConsumeSession)?
    init(consumer: KafkaConsumer, session: ConsumeSession) { contents = (consumer, session) }
    func take() -> (KafkaConsumer, ConsumeSession) {
        guard let contents else { preconditionFailure("consume hand-off taken twice") }
        self.contents = nil
        return contents
    }
}


import ArgumentParser
import Dispatch
import Foundation
import Kafka
import Logging
import NIOConcurrencyHelpers
import PostTrade
import Postgres

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// `exchanged worker clearing|settlement|ledger --kafka B --postgres C`: one post-trade worker, a member of the
/// consumer group `exchange.<name>`, until SIGTERM or SIGINT.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run one post-trade worker: clearing, settlement or ledger.",
        discussion: """
            Applies the database migrations (refusing a database newer than this build), then consumes its input \
            topic in batches: each batch's effects, the messages it emits (outbox table) and the consumed offsets \
            commit in one PostgreSQL transaction; a relay thread produces the outbox to Kafka. Records it cannot \
            process go to dead.letter with the reason. Crash points for fault tests: --crash-at or \
            EXCHANGE_CRASH_AT=<after-consume|after-db-commit|after-produce>:<n>. docs/POSTTRADE.md.
            """)

    enum Name: String, ExpressibleByArgument, CaseIterable {
        case clearing, settlement, ledger
    }

    @Argument(help: "clearing, settlement or ledger.")
    var name: Name

    @Option(name: .long, help: "Kafka bootstrap servers (host:port,...).")
    var kafka: String

    @Option(name: .long, help: "libpq connection string of the post-trade database.")
    var postgres: String

    @Option(name: .long, help: "Most records per batch (one transaction). Range: 1...100000.")
    var batch: Int = 1_000

    @Option(name: .long, help: "Settlement: cash (minor units) an account opens with when first seen. Range: 0...10^17.")
    var openingCash: Int64 = 1_000_000_000_000_000

    @Option(name: .long, help: "Settlement: shares of each symbol an account opens with when first seen. Range: 0...10^15.")
    var openingShares: Int64 = 1_000_000_000_000

    @Option(name: .long, help: "Kill this process with SIGKILL at <point>:<n> (fault tests).")
    var crashAt: String?

    @Option(name: .long, help: "Print the counters every this many seconds (0: never). Range: 0...3600.")
    var statsEverySeconds: Int = 10

    func validate() throws {
        guard (1...100_000).contains(batch) else { throw ValidationError("--batch must be 1...100000") }
        guard (0...100_000_000_000_000_000).contains(openingCash) else {
            throw ValidationError("--opening-cash must be 0...10^17")
        }
        guard (0...1_000_000_000_000_000).contains(openingShares) else {
            throw ValidationError("--opening-shares must be 0...10^15")
        }
        guard (0...3_600).contains(statsEverySeconds) else { throw ValidationError("--stats-every-seconds must be 0...3600") }
        if let crashAt { _ = try Self.crashPlan(crashAt) }
        guard !kafka.isEmpty else { throw ValidationError("--kafka must not be empty") }
    }

    static func crashPlan(_ text: String) throws -> CrashPlan {
        do { return try CrashPlan(parsing: text) } catch { throw ValidationError(error.message) }
    }

    func run() async throws {
        let signals = NodeStopSignals()
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: "exchange.worker")
        logger[metadataKey: "worker"] = "\(name.rawValue)"

        // Migrations first: a database newer than this build is refused before anything is consumed.
        try Self.migrate(postgres, logger: logger)

        let logic: any WorkerLogic =
            switch name {
            case .clearing: ClearingLogic()
            case .settlement:
                SettlementLogic(options: SettlementOptions(openingCash: openingCash, openingShares: openingShares))
            case .ledger: LedgerLogic()
            }
        var options = WorkerRunnerOptions(
            // Consumer and producer settings: WorkerRunnerOptions.consumerDefaults, KafkaConfiguration.producerTimeouts.
            kafka: KafkaConfiguration(bootstrapServers: kafka, clientID: "exchange-\(name.rawValue)"),
            postgresConnectionString: postgres)
        options.batchSizeMax = batch
        do {
            options.crashPlan = try crashAt.map(Self.crashPlan) ?? CrashPlan.fromEnvironment()
        } catch {
            throw ValidationError("\(error)")
        }
        let runner = WorkerRunner(logic: logic, options: options, logger: logger)
        do { try runner.start() } catch {
            logger.critical("worker failed to start", metadata: ["error": "\(error)"])
            throw ExitCode(70)
        }
        logger.info("worker running", metadata: ["group": "\(runner.groupID)", "kafka": "\(kafka)"])
        let statsLogger = logger
        let statsEverySeconds = statsEverySeconds
        let reason = await signals.wait(every: .seconds(max(statsEverySeconds, 1))) {
            if statsEverySeconds > 0 {
                let counters = runner.counters
                statsLogger.info(
                    "worker counters",
                    metadata: [
                        "batches": "\(counters.batches)", "records": "\(counters.records)",
                        "dead_letters": "\(counters.deadLetters)", "relayed": "\(counters.relayed)",
                        "failures": "\(counters.failures)", "last_error": "\(counters.lastError ?? "-")",
                        "poll_s": "\(String(format: "%.1f", counters.pollSeconds))",
                        "apply_s": "\(String(format: "%.1f", counters.applySeconds))",
                        "relay_db_s": "\(String(format: "%.1f", counters.relayDatabaseSeconds))",
                        "relay_delivery_s": "\(String(format: "%.1f", counters.relayDeliverySeconds))",
                    ])
            }
        }
        logger.notice("stopping", metadata: ["reason": "\(reason)"])
        runner.stop()
    }

    /// Applies the migrations, retrying while PostgreSQL is not reachable yet (up to 60 s).
    static func migrate(_ connectionString: String, logger: Logger) throws {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(60))
        while true {
            do {
                let connection = try PostgresConnection(connectionString: connectionString)
                _ = try Migrations.apply(connection: connection)
                return
            } catch let error as MigrationError {
                logger.critical("database refused", metadata: ["error": "\(error)"])
                throw ExitCode(65)
            } catch {
                if clock.now >= deadline {
                    logger.critical("database unreachable", metadata: ["error": "\(error)"])
                    throw ExitCode(69)
                }
                logger.warning("database not reachable yet; retrying", metadata: ["error": "\(error)"])
                Thread.sleep(forTimeInterval: 0.5)
            }
        }
    }
}

extension NodeStopSignals {
    /// Waits for SIGTERM or SIGINT, calling `tick` every `interval` meanwhile.
    func wait(every interval: Duration, tick: @escaping @Sendable () -> Void) async -> String {
        await withTaskGroup(of: String?.self) { group in
            group.addTask { await self.waitForSignal() }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    if !Task.isCancelled { tick() }
                }
                return nil
            }
            var reason = "stopped"
            for await result in group {
                if let result {
                    reason = result
                    break
                }
            }
            group.cancelAll()
            return reason
        }
    }
}

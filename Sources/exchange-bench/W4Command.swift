import ArgumentParser
import Dispatch
import ExchangeCore
import Foundation
import Kafka
import Logging
import PostTrade
import Postgres

/// `exchange-bench w4`: workload W4, the post-trade pipeline. A generator produces executed trades at a fixed rate
/// into `trade.executed` (librdkafka's mock cluster, 3 brokers); clearing, settlement and ledger run as
/// `WorkerRunner`s on a private PostgreSQL (fsync on). Reports the trades per second settled and journaled, the
/// end-to-end lag (trade time to ledger commit), the reconciliation, and `pgbench` on the same server first.
struct W4Command: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "w4",
        abstract: "W4: post-trade pipeline throughput and lag (mock Kafka, PostgreSQL with fsync).")

    @Flag(help: "Print one JSON object on the last line.")
    var json = false

    @Option(help: "Offered trades per second. Range: 1...1000000.")
    var rate = 50_000

    @Option(help: "Seconds of offered load. Range: 1...3600.")
    var seconds = 10

    @Option(help: "Records per worker transaction. Range: 1...100000.")
    var batch = 1_000

    @Option(help: "Partitions per topic (the mock keeps 5 MiB per partition: enough for the backlog). Range: 1...64.")
    var partitions = 32

    @Option(help: "Accounts trading. Range: 2...1000000.")
    var accounts = 1_000

    @Option(
        help: """
            Transactions per client of pgbench (TPC-B-like, 4 clients) before the pipeline; 0 skips it. \
            Range: 0...1000000. (A count, not -T: the spawned pgbench inherits a blocked SIGALRM.)
            """)
    var pgbenchTransactions = 2_000

    func validate() throws {
        guard (1...1_000_000).contains(rate) else { throw ValidationError("--rate must be 1...1000000") }
        guard (1...3_600).contains(seconds) else { throw ValidationError("--seconds must be 1...3600") }
        guard (1...100_000).contains(batch) else { throw ValidationError("--batch must be 1...100000") }
        guard (1...64).contains(partitions) else { throw ValidationError("--partitions must be 1...64") }
        guard (2...1_000_000).contains(accounts) else { throw ValidationError("--accounts must be 2...1000000") }
        guard (0...1_000_000).contains(pgbenchTransactions) else {
            throw ValidationError("--pgbench-transactions must be 0...1000000")
        }
    }

    func run() throws {
        var logger = Logger(label: "exchange.bench.w4")
        logger.logLevel = .warning
        let server = LocalPostgresServer(logger: logger)
        do { try server.start() } catch {
            log("error: PostgreSQL did not start: \(error)")
            throw ExitCode.failure
        }
        defer { server.stop() }
        log("postgres on port \(server.port), fsync on")

        let pgbenchTPS: Double? =
            pgbenchTransactions > 0 ? try Self.pgbench(server, transactionsPerClient: pgbenchTransactions) : nil
        if let pgbenchTPS { log(String(format: "pgbench: %.0f tps", pgbenchTPS)) }

        let cluster = try KafkaMockCluster(brokerCount: 3)
        defer { cluster.close() }
        for topic in Topic.all { try cluster.createTopic(name: topic, partitions: Int32(partitions), replicationFactor: 3) }
        let setup = try PostgresConnection(connectionString: server.connectionString)
        _ = try Migrations.apply(connection: setup)

        let kafka = KafkaConfiguration(
            bootstrapServers: cluster.bootstrapServers, clientID: "w4",
            properties: ["auto.offset.reset": "earliest", "fetch.wait.max.ms": "5", "log_level": "2"])
        var runners: [WorkerRunner] = []
        let logics: [any WorkerLogic] = [
            ClearingLogic(),
            SettlementLogic(options: SettlementOptions(openingCash: 1_000_000_000_000_000, openingShares: 1_000_000_000_000)),
            LedgerLogic(),
        ]
        for logic in logics {
            var options = WorkerRunnerOptions(kafka: kafka, postgresConnectionString: server.connectionString)
            options.batchSizeMax = batch
            let runner = WorkerRunner(logic: logic, options: options, logger: logger)
            try runner.start()
            runners.append(runner)
        }
        defer { for runner in runners { runner.stop() } }

        // The generator: `rate` trades per second, paced per millisecond, timestamped when produced.
        let producer = try KafkaProducer(
            configuration: KafkaConfiguration(
                bootstrapServers: cluster.bootstrapServers, clientID: "w4-trades",
                properties: ["linger.ms": "2", "queue.buffering.max.messages": "2000000", "log_level": "2"]))
        let symbols = ["AAPL", "MSFT", "GOOG", "AMZN", "TSLA", "NVDA", "META", "JPM", "V"]
        var random = SystemRandomNumberGenerator()
        let total = rate * seconds
        let start = DispatchTime.now().uptimeNanoseconds
        log("producing \(total) trades at \(rate)/s for \(seconds) s")
        // Paced in slices: every wake-up produces what is due by now, then sleeps a millisecond (a spin loop
        // would take a core from the pipeline it measures).
        var index = 0
        while index < total {
            let elapsed = DispatchTime.now().uptimeNanoseconds - start
            let due = min(total, Int(elapsed * UInt64(rate) / 1_000_000_000) + 1)
            while index < due {
                let buyer = UInt64.random(in: 1...UInt64(accounts), using: &random)
                var seller = UInt64.random(in: 1...UInt64(accounts - 1), using: &random)
                if seller >= buyer { seller += 1 }
                let symbol = symbols[index % symbols.count]
                let sequence = UInt64(index + 1) << 16
                let trade = TradeExecuted(
                    eventID: "1-\(index + 1)-0", timestampNs: Self.wallClockNanoseconds(), shard: 1,
                    logIndex: UInt64(index + 1), eventSeq: 0, tradeID: "1-\(sequence)-0", symbol: symbol,
                    price: Int64.random(in: 100...200, using: &random) * 100,
                    quantity: Int64.random(in: 1...100, using: &random), aggressor: "buy", buyOrderID: sequence,
                    sellOrderID: sequence - 1, buyAccount: buyer, sellAccount: seller,
                    buyParticipant: UInt32(buyer % 100 + 1), sellParticipant: UInt32(seller % 100 + 1))
                while true {
                    do {
                        try producer.send(topic: Topic.tradeExecuted, key: Array(symbol.utf8), value: trade.jsonBytes())
                        break
                    } catch {
                        _ = producer.poll(timeout: .milliseconds(1))
                    }
                }
                index += 1
            }
            _ = producer.poll(timeout: .zero)
            if index < total { usleep(1_000) }
        }
        try producer.flush(timeout: .seconds(60))
        let produced = DispatchTime.now().uptimeNanoseconds
        log(String(format: "produced in %.2f s; waiting for the ledger", Double(produced - start) / 1e9))

        // Wait until every trade is journaled (or the pipeline stalls for 60 s).
        var journaled = 0
        var lastProgress = DispatchTime.now().uptimeNanoseconds
        var finished = produced
        while journaled < total {
            let count = try Int(setup.execute("SELECT count(*) FROM ledger_trades").int64(0, 0) ?? 0)
            let now = DispatchTime.now().uptimeNanoseconds
            if count > journaled { lastProgress = now; finished = now }
            journaled = count
            if now - lastProgress > 60_000_000_000 { break }
            if journaled < total { usleep(50_000) }
        }
        let elapsed = Double(finished - start) / 1e9
        let throughput = Double(journaled) / elapsed
        let lag = try LagStatistics.measure(connection: setup)
        let report = try Reconciliation.run(connection: setup, executedCount: total)
        let reconciled = report.isClean && journaled == total

        var text = "W4 post-trade pipeline (mock Kafka 3 brokers, \(partitions) partitions; PostgreSQL fsync on)\n"
        text += "  offered           \(rate) trades/s for \(seconds) s (\(total) trades)\n"
        text += String(format: "  settled+journaled %.0f trades/s (%d in %.2f s)\n", throughput, journaled, elapsed)
        text += String(format: "  lag               p50 %.1f ms  p99 %.1f ms  max %.1f ms\n", lag.p50Ms, lag.p99Ms, lag.maxMs)
        text += "  reconciled        \(reconciled)" + (report.isClean ? "" : " (\(report.breaks.prefix(3).joined(separator: "; ")))") + "\n"
        if let pgbenchTPS { text += String(format: "  pgbench           %.0f tps (TPC-B-like, 4 clients)\n", pgbenchTPS) }
        for runner in runners {
            let counters = runner.counters
            text += "  \(runner.groupID): batches \(counters.batches), records \(counters.records), "
                + "duplicates skipped \(counters.duplicatesSkipped), relayed \(counters.relayed), failures \(counters.failures)"
                + (counters.lastError.map { ", last error: \($0)" } ?? "") + "\n"
            text += String(
                format: "      seconds: poll %.2f, apply %.2f; relay database %.2f, relay delivery %.2f\n",
                counters.pollSeconds, counters.applySeconds, counters.relayDatabaseSeconds,
                counters.relayDeliverySeconds)
        }
        print(text, terminator: "")
        if json {
            var object = JSONObject()
            object.add("workload", "W4")
            object.add("trades_per_s", throughput, decimals: 0)
            var lagObject = JSONObject()
            lagObject.add("p50", lag.p50Ms, decimals: 1)
            lagObject.add("p99", lag.p99Ms, decimals: 1)
            object.add("lag_ms", lagObject)
            object.add("reconciled", reconciled)
            if let pgbenchTPS { object.add("pgbench_tps", pgbenchTPS, decimals: 0) } else { object.addNull("pgbench_tps") }
            object.add("offered_per_s", rate)
            object.add("trades", total)
            object.add("journaled", journaled)
            object.add("lag_max_ms", lag.maxMs, decimals: 1)
            object.add("batch", batch)
            object.add("partitions", partitions)
            print(object.text)
        }
        if !reconciled { throw ExitCode.failure }
    }

    static func wallClockNanoseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    }

    /// `pgbench -i -s 10` then `pgbench -c 4 -j 2 -t transactionsPerClient`, as the server's user; returns the tps.
    static func pgbench(_ server: LocalPostgresServer, transactionsPerClient: Int) throws -> Double {
        let binary = server.configuration.binDirectory + "/pgbench"
        let common = ["-h", "127.0.0.1", "-p", "\(server.port)", "-U", "postgres"]
        _ = try runCommand([binary, "-i", "-q", "-s", "10"] + common + ["postgres"])
        let output = try runCommand(
            [binary, "-n", "-c", "4", "-j", "2", "-t", "\(transactionsPerClient)"] + common + ["postgres"])
        for line in output.split(separator: "\n") where line.hasPrefix("tps = ") {
            let number = line.dropFirst("tps = ".count).prefix { $0.isNumber || $0 == "." }
            if let tps = Double(number) { return tps }
        }
        throw ValidationError("pgbench printed no tps: \(output.suffix(500))")
    }

    static func runCommand(_ arguments: [String]) throws -> String {
        let process = Process()
        var arguments = arguments
        if getuid() == 0 { arguments = ["/usr/sbin/runuser", "-u", "postgres", "--"] + arguments }
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw ValidationError("\(arguments.joined(separator: " ")) failed: \(text.suffix(500))")
        }
        return text
    }
}

import ClusterConfig
import DevCluster
import ExchangeClient
import ExchangeOps
import Foundation
import Glibc
import Kafka
import LoadGenerator
import PostTrade
import Postgres
import Raft
import Testing

/// Issue 6's proof with real processes: three `exchanged node` processes publishing their shards' outboxes to
/// librdkafka's mock cluster, the three `exchanged worker` processes on a real PostgreSQL, trading bots, faults
/// (workers killed with SIGKILL at each step, brokers down and up, PostgreSQL restarted, a shard leader killed
/// while it publishes), then reconciliation: every executed trade cleared, settled and journaled exactly once,
/// journals net to zero, balances conserved.
final class PostTradeCluster {
    let root: String
    let stack: PostTradeStack
    let cluster: LocalCluster
    var definition: ClusterDefinition { cluster.definition }
    private var ackLogs: [String] = []

    init(name: String) async throws {
        root = try LocalCluster.makeTemporaryDirectory(prefix: "posttrade-\(name)-")
        let path = try LocalCluster.writeTestDefinition(
            root: root, nodes: 3, shards: 2, symbolsPerShard: 2, snapshotEveryEntries: 500, postTradeOutbox: true)
        let binary = try LocalCluster.findBinary(named: "exchanged")
        stack = try await PostTradeStack.start(root: root, brokers: 3, partitions: 4, binary: binary)
        do {
            cluster = try LocalCluster(
                definitionPath: path, root: root, binary: binary, nodeArguments: stack.nodeArguments)
            try await cluster.startAll()
            try await cluster.waitUntilEveryShardHasLeader(timeout: .seconds(60))
        } catch {
            await stack.stop()
            throw error
        }
    }

    static func with(name: String, _ body: (PostTradeCluster) async throws -> Void) async throws {
        let fixture = try await PostTradeCluster(name: name)
        do { try await body(fixture) } catch {
            await fixture.close()
            throw error
        }
        await fixture.close()
    }

    func close() async {
        await stack.stop()
        await cluster.stopAll()
        LocalCluster.removeTree(root)
    }

    /// Bots for `seconds`: an open loop at `rate` commands per second (a pipeline in a debug build keeps up), or a
    /// closed loop with 32 in flight when `rate` is nil.
    func load(seconds: Double, seed: UInt64, rate: Int? = 400) throws -> LoadGenerator {
        let path = root + "/acks-\(ackLogs.count).log"
        ackLogs.append(path)
        return try LoadGenerator(
            cluster: definition,
            options: LoadOptions(
                mode: rate.map { .open(commandsPerSecond: $0) } ?? .closed(outstanding: 32), duration: .milliseconds(Int64(seconds * 1_000)), participants: 4,
                seed: seed, ackLogPath: path,
                client: ExchangeClientConfiguration(requestTimeout: .seconds(2), retryBudget: 200)))
    }

    func verify() async throws -> VerifyReport {
        var acks: [AckRecord] = []
        for path in ackLogs { acks += try AckLog.read(path: path) }
        return await Verifier.fetchAndCheck(definition: definition, acks: acks, timeout: .seconds(60))
    }

    func reconcile() async -> PostTradeCheck {
        await PostTradeCheck.run(definition: definition, postgres: stack.connectionString, wait: .seconds(120))
    }

    func leader(of shard: UInt32) async -> NodeID? {
        for (node, status) in await cluster.fetchStatuses() {
            if let replica = status.shards.first(where: { $0.shardID == shard }), replica.role == .leader { return node }
        }
        return nil
    }

    func eventually(seconds: Double = 60, _ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(Int64(seconds * 1_000)))
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return await condition()
    }

    /// The last counters line and every warning or error of each worker's log, for a failed expectation.
    func workerDiagnostics() -> String {
        var text = ""
        for name in PostTradeStack.workerNames {
            let log = (try? String(contentsOfFile: stack.workers.logPath(for: name), encoding: .utf8)) ?? ""
            let lines = log.split(separator: "\n")
            let interesting = lines.filter {
                ($0.contains("warning") || $0.contains("error") || $0.contains("critical")) && !$0.contains("CONFWARN")
            }
            text += "== \(name)\n" + interesting.suffix(15).joined(separator: "\n") + "\n"
            if let last = lines.last(where: { $0.contains("worker counters") }) { text += String(last) + "\n" }
        }
        if let connection = try? PostgresConnection(connectionString: stack.connectionString),
            let rows = try? connection.execute(
                "SELECT group_id, topic, partition, next_offset FROM consumer_offsets ORDER BY 1, 2, 3")
        {
            for row in 0..<rows.rowCount {
                text += (0..<4).map { rows.string(row, $0) ?? "-" }.joined(separator: " ") + "\n"
            }
            if let outbox = try? connection.execute("SELECT source, count(*) FROM outbox GROUP BY source") {
                for row in 0..<outbox.rowCount { text += "outbox \(outbox.string(row, 0) ?? "-") \(outbox.string(row, 1) ?? "-")\n" }
            }
        }
        return text
    }

    /// For a failed expectation: gdb backtraces of every running worker (when gdb is installed) into
    /// `/tmp/stacks-<worker>-<pid>.txt`, and a copy of every log under `/tmp/logs-<test pid>-<time>`.
    func dumpWorkerStacks() {
        func run(_ executable: String, _ arguments: [String], output: String? = nil) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            if let output {
                _ = FileManager.default.createFile(atPath: output, contents: nil)
                process.standardOutput = FileHandle(forWritingAtPath: output)
            }
            process.standardError = FileHandle.nullDevice
            do {
                try process.run()
                process.waitUntilExit()
            } catch {}
        }
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/gdb") {
            for name in PostTradeStack.workerNames {
                guard let pid = stack.workers.pid(name) else { continue }
                run("/usr/bin/gdb", ["-p", "\(pid)", "-batch", "-ex", "thread apply all bt"],
                    output: "/tmp/stacks-\(name)-\(pid).txt")
            }
        }
        run("/bin/cp", ["-r", root + "/logs", "/tmp/logs-\(getpid())-\(Int(Date().timeIntervalSince1970))"])
    }

    /// Trades journaled so far (the ledger's table).
    func journaled() -> Int {
        guard let connection = try? PostgresConnection(connectionString: stack.connectionString),
            let result = try? connection.execute("SELECT count(*) FROM ledger_trades"),
            let count = try? result.int64(0, 0)
        else { return 0 }
        return Int(count)
    }
}

@Suite(.serialized) struct PostTradeFaultTests {
    /// Each worker is killed twice by its own crash point (SIGKILL: no cleanup), at two different steps, while
    /// the bots trade and all brokers go down and come back; each time it is started again.
    @Test func workersKilledAtEachStepAndBrokersDownThenUpStillReconcile() async throws {
        try await PostTradeCluster.with(name: "crash") { fixture in
            let plans: [String: [String]] = [
                "clearing": ["after-consume:2", "after-produce:2"],
                "settlement": ["after-db-commit:2", "after-produce:3"],
                "ledger": ["after-consume:2", "after-db-commit:3"],
            ]
            try await fixture.stack.startWorkers(crashAt: plans.mapValues { $0[0] })
            // Trading goes on until every crash has happened (the crash points need traffic to reach them).
            let generator = try fixture.load(seconds: 300, seed: 11)
            let running = Task { try await generator.run() }
            #expect(await fixture.eventually { generator.progress.acknowledged > 300 })

            // Each worker's cycle runs on its own (a dead clearing worker starves settlement, so waiting for the
            // workers one after the other could wait for ever): exit by SIGKILL, start with its second crash point,
            // exit again, start clean.
            let workers = fixture.stack.workers
            let failures = await withTaskGroup(of: String?.self) { group in
                for name in PostTradeStack.workerNames {
                    group.addTask {
                        for round in 0..<2 {
                            let status: ProcessExitStatus
                            do {
                                status = try await workers.waitForExit(name, timeout: .seconds(120))
                            } catch {
                                let log = (try? String(contentsOfFile: workers.logPath(for: name), encoding: .utf8)) ?? ""
                                return "\(name) round \(round): \(error)\n\(log.suffix(3_000))"
                            }
                            guard status == .signaled(signal: SIGKILL) else { return "\(name) round \(round): \(status)" }
                            let next = round == 0 ? plans[name]![1] : nil
                            do {
                                try await workers.start(name, extra: next.map { ["--crash-at", $0] } ?? [])
                            } catch {
                                return "\(name): restart failed: \(error)"
                            }
                        }
                        return nil
                    }
                }
                var failures: [String] = []
                for await failure in group { if let failure { failures.append(failure) } }
                return failures
            }
            #expect(failures.isEmpty, "\(failures)")
            // Every broker down for a moment while the publishers and workers run, then back.
            for broker in 1...3 as ClosedRange<Int32> { try fixture.stack.kafka.setBrokerDown(broker) }
            try await Task.sleep(for: .milliseconds(1_500))
            for broker in 1...3 as ClosedRange<Int32> { try fixture.stack.kafka.setBrokerUp(broker) }
            // A little more trading with every worker healthy, then stop the bots.
            let acknowledged = generator.progress.acknowledged
            #expect(await fixture.eventually { generator.progress.acknowledged > acknowledged + 300 })
            generator.stop()
            let summary = try await running.value
            #expect(summary.failed == 0, "\(summary.failedByCode)")
            let check = await fixture.reconcile()
            if !check.passed { fixture.dumpWorkerStacks() }
            #expect(check.passed, "\(check.render())\n\(fixture.workerDiagnostics())")
            let executed = try #require(check.executed.total)
            #expect(executed > 100, "the bots traded")
            #expect(check.report?.journaledCount == Int(executed))
            let report = try await fixture.verify()
            #expect(report.passed, "\(report.render())")
        }
    }

    /// A worker restarted (its consumer joining the group) just as every broker goes down for a moment.
    @Test func workerJoiningWhileAllBrokersDownCatchesUp() async throws {
        try await PostTradeCluster.with(name: "join") { fixture in
            try await fixture.stack.startWorkers()
            let generator = try fixture.load(seconds: 300, seed: 14)
            let running = Task { try await generator.run() }
            #expect(await fixture.eventually { fixture.journaled() > 100 })
            var round = 0
            while round < 4, try await Self.restartJoiningDuringOutage(fixture, round: round) { round += 1 }
            #expect(round == 4)
            generator.stop()
            _ = try await running.value
        }
    }

    /// Every broker stops answering (connections stay open, responses delayed by 1,000 s) for 2 s while the
    /// workers run and one of them joins its group: librdkafka's defaults would wait 60 s for a fetch and 303 s
    /// for the join; the workers' timeouts (10 s, 33 s) let them carry on within a minute.
    @Test func workersRideOutBrokersThatStopAnswering() async throws {
        try await PostTradeCluster.with(name: "silent") { fixture in
            try await fixture.stack.startWorkers()
            let generator = try fixture.load(seconds: 300, seed: 15)
            let running = Task { try await generator.run() }
            #expect(await fixture.eventually { fixture.journaled() > 100 })
            for (round, name) in ["settlement", "clearing"].enumerated() {
                try await fixture.stack.workers.kill(name, signal: SIGKILL)
                try await fixture.stack.workers.start(name)
                try await Task.sleep(for: .milliseconds(300))
                try fixture.stack.kafka.setBrokerResponseDelay(-1, .seconds(1_000))
                try await Task.sleep(for: .seconds(2))
                try fixture.stack.kafka.setBrokerResponseDelay(-1, .zero)
                let journaled = fixture.journaled()
                let caughtUp = await fixture.eventually(seconds: 60) { fixture.journaled() > journaled + 100 }
                if !caughtUp { fixture.dumpWorkerStacks() }
                #expect(caughtUp, "round \(round) (\(name)): \(fixture.workerDiagnostics())")
            }
            generator.stop()
            _ = try await running.value
            let check = await fixture.reconcile()
            #expect(check.passed, "\(check.render())\n\(fixture.workerDiagnostics())")
        }
    }

    /// Restarts one worker, takes every broker down for 1.5 s while its consumer joins, and waits until the
    /// ledger journals 100 more trades; false (with diagnostics recorded) if it does not within 90 s.
    static func restartJoiningDuringOutage(_ fixture: PostTradeCluster, round: Int) async throws -> Bool {
        let name = PostTradeStack.workerNames[round % 3]
        try await fixture.stack.workers.kill(name, signal: SIGKILL)
        try await fixture.stack.workers.start(name)
        try await Task.sleep(for: .milliseconds(200 * round))
        for broker in 1...3 as ClosedRange<Int32> { try fixture.stack.kafka.setBrokerDown(broker) }
        try await Task.sleep(for: .milliseconds(1_500))
        for broker in 1...3 as ClosedRange<Int32> { try fixture.stack.kafka.setBrokerUp(broker) }
        let journaled = fixture.journaled()
        let caughtUp = await fixture.eventually(seconds: 90) { fixture.journaled() > journaled + 100 }
        if !caughtUp {
            fixture.dumpWorkerStacks()
            Issue.record("round \(round) (\(name)) did not catch up: \(fixture.workerDiagnostics())")
        }
        return caughtUp
    }

    /// PostgreSQL restarts mid-stream (every worker session cut) and the leader of shard 1 is killed with
    /// SIGKILL while its publisher runs; the new leader publishes from the last recorded mark.
    @Test func postgresRestartAndShardLeaderKillStillReconcile() async throws {
        try await PostTradeCluster.with(name: "restart") { fixture in
            try await fixture.stack.startWorkers()
            let generator = try fixture.load(seconds: 10, seed: 12)
            let running = Task { try await generator.run() }
            #expect(await fixture.eventually { fixture.journaled() > 50 })
            try await fixture.stack.restartPostgres()
            let victim = try #require(await fixture.leader(of: 1))
            try await fixture.cluster.kill(victim, signal: SIGKILL)
            #expect(await fixture.eventually { generator.progress.acknowledged > 1_200 })
            try await fixture.cluster.start(victim)
            let summary = try await running.value
            #expect(summary.failed == 0, "\(summary.failedByCode)")
            #expect(fixture.stack.exitedWorkers().isEmpty, "the workers rode out the database restart")
            let check = await fixture.reconcile()
            #expect(check.passed, "\(check.render())")
            #expect((check.executed.total ?? 0) > 100, "the bots traded")
            let report = try await fixture.verify()
            #expect(report.passed, "\(report.render())")

            // The outbox is visible to operators: status and metrics.
            let node = try #require(fixture.definition.nodes.first)
            let metrics = try await OpsHTTPClient.request(
                "GET", host: node.metricsAddress.host, port: Int(node.metricsAddress.port), path: "/metrics",
                timeout: .seconds(5)
            ).text
            #expect(metrics.contains("outbox_pending_events"), "\(metrics.prefix(500))")
            let statuses = await fixture.cluster.fetchStatuses()
            #expect(statuses.values.allSatisfy { $0.shards.allSatisfy { $0.outboxPendingEvents == 0 } })

            // The operator's command agrees (exit 0, JSON), and refuses bad arguments with 64.
            let config = fixture.cluster.definitionPath
            let reconciled = try Self.run(
                "exchangectl", ["reconcile", "--config", config, "--postgres", fixture.stack.connectionString, "--json"])
            #expect(reconciled.status == 0, "\(reconciled.output)")
            let json = try JSONSerialization.jsonObject(with: Data(reconciled.output.utf8)) as? [String: Any]
            #expect((json?["report"] as? [String: Any])?["isClean"] as? Bool == true)
            let bad = try Self.run("exchangectl", ["reconcile", "--config", config, "--postgres", "x", "--wait", "-5"])
            #expect(bad.status == 64, "\(bad.output)")
            // A database that does not answer is a failed reconciliation, not a hang.
            let unreachable = try Self.run(
                "exchangectl",
                ["reconcile", "--config", config, "--postgres", "host=127.0.0.1 port=1 connect_timeout=2", "--wait", "0"])
            #expect(unreachable.status == 1, "\(unreachable.output)")
            #expect(unreachable.output.contains("reconcile: FAILED"))
        }
    }

    /// `exchanged kafka-mock`: the bootstrap line first, broker faults on stdin, a clean exit; bad arguments 64.
    @Test func kafkaMockCommandPrintsItsBootstrapAndTakesBrokerFaultsOnStdin() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try LocalCluster.findBinary(named: "exchanged"))
        process.arguments = ["kafka-mock", "--brokers", "2", "--partitions", "2"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let reader = output.fileHandleForReading
        func line() -> String {
            var bytes: [UInt8] = []
            while true {
                let chunk = reader.readData(ofLength: 1)
                guard let byte = chunk.first, byte != UInt8(ascii: "\n") else { break }
                bytes.append(byte)
            }
            return String(decoding: bytes, as: UTF8.self)
        }
        let bootstrap = line()
        #expect(bootstrap.hasPrefix("bootstrap=127.0.0.1:"), "\(bootstrap)")
        for command in ["down 1", "up 1", "topic extra.topic 3", "down 9", "frobnicate"] {
            input.fileHandleForWriting.write(Data((command + "\n").utf8))
            let answer = line()
            if command == "down 9" || command == "frobnicate" {
                #expect(answer.hasPrefix("error "), "\(command): \(answer)")
            } else {
                #expect(answer == "ok \(command)", "\(command): \(answer)")
            }
        }
        input.fileHandleForWriting.write(Data("quit\n".utf8))
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let bad = try Self.run("exchanged", ["kafka-mock", "--brokers", "17"])
        #expect(bad.status == 64, "\(bad.output)")
    }

    /// Runs a built executable of the package; returns its exit status and its stdout and stderr.
    static func run(_ name: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try LocalCluster.findBinary(named: name))
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Malformed and unknown-version records on trade.executed go to dead.letter with the reason, and the clearing
    /// worker process goes on with the next valid trade.
    @Test func badRecordsGoToTheDeadLetterTopicAndNeverStopAWorker() async throws {
        let root = try LocalCluster.makeTemporaryDirectory(prefix: "posttrade-dlq-")
        defer { LocalCluster.removeTree(root) }
        let stack = try await PostTradeStack.start(
            root: root, brokers: 1, partitions: 1, binary: try LocalCluster.findBinary(named: "exchanged"))
        do {
            try await stack.workers.start("clearing")
            let producer = try KafkaProducer(
                configuration: KafkaConfiguration(bootstrapServers: stack.bootstrapServers, clientID: "dlq-test"))
            let valid = TradeExecuted(
                eventID: "1-7-0", timestampNs: 1, shard: 1, logIndex: 7, eventSeq: 0, tradeID: "1-458752-0",
                symbol: "AAPL", price: 10_000, quantity: 5, aggressor: "buy", buyOrderID: 458_752, sellOrderID: 3,
                buyAccount: 1, sellAccount: 2, buyParticipant: 1, sellParticipant: 2)
            var future = valid
            future.version = 99
            future.eventID = "1-8-0"
            try producer.send(topic: Topic.tradeExecuted, key: Array("AAPL".utf8), value: Array("{not json".utf8))
            try producer.send(topic: Topic.tradeExecuted, key: Array("AAPL".utf8), value: try JSONEncoder().encode(future).map { $0 })
            try producer.send(topic: Topic.tradeExecuted, key: Array("AAPL".utf8), value: valid.jsonBytes())
            try producer.flush(timeout: .seconds(30))

            let consumer = try KafkaConsumer(
                configuration: KafkaConfiguration(
                    bootstrapServers: stack.bootstrapServers, clientID: "dlq-reader",
                    properties: ["auto.offset.reset": "earliest", "fetch.wait.max.ms": "10"]),
                groupID: "dlq-reader")
            try consumer.subscribe(topics: [Topic.deadLetter, Topic.tradeCleared])
            var letters: [KafkaMessage] = []
            var cleared: [KafkaMessage] = []
            let deadline = ContinuousClock.now.advanced(by: .seconds(60))
            while (letters.count < 2 || cleared.isEmpty), ContinuousClock.now < deadline {
                guard let message = try consumer.poll(timeout: .milliseconds(100)) else { continue }
                if message.topic == Topic.deadLetter { letters.append(message) } else { cleared.append(message) }
            }
            try consumer.close()
            #expect(letters.count == 2)
            #expect(cleared.count == 1, "the valid trade after the bad ones was cleared")
            for letter in letters {
                #expect(letter.headers[EventHeader.sourceTopic] == Topic.tradeExecuted)
                #expect(!(letter.headers[EventHeader.reason] ?? "").isEmpty, "\(letter.headers)")
            }
            #expect(letters.contains { ($0.headers[EventHeader.reason] ?? "").contains("version") })
            #expect(stack.workers.isRunning("clearing"))
            let connection = try PostgresConnection(connectionString: stack.connectionString)
            let report = try Reconciliation.run(connection: connection, executedCount: 1)
            #expect(report.clearedCount == 1 && report.deadLetterCount == 2)
            #expect(!report.isClean, "dead letters are breaks until an operator resolves them")
        } catch {
            await stack.stop()
            throw error
        }
        await stack.stop()
    }
}

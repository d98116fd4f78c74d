import ArgumentParser
import ClusterConfig
import DevCluster
import Dispatch
import ExchangeClient
import ExchangeOps
@preconcurrency import Glibc
import LoadGenerator
import Logging
import PostTrade
import Raft

/// `exchanged dev`: the whole cluster of a definition as local processes, with trading bots and a verification
/// of what they were told, then kept running until Ctrl-C.
struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "Run every node of a cluster definition locally, drive it with trading bots and verify the result.",
        discussion: """
            Starts each node as `exchanged node` (data under <root>/data/node-<id>, logs under <root>/logs), waits \
            until every shard has a leader, runs the bots for --load-seconds (ack log <root>/acks.log), prints the \
            summary and the verifier's verdict, then keeps the cluster running until SIGINT or SIGTERM (or stops \
            with --exit-after-load: exit 0 if the verification passed, 1 otherwise). If a node dies on its own, \
            the others are stopped and the exit status is 1. With postTrade.outbox in the definition it also starts \
            a private PostgreSQL, a mock Kafka (3 brokers) and the clearing, settlement and ledger workers \
            (logs <root>/logs/worker-<name>.log), and reconciles the pipeline after the bots stop; such a run \
            always starts fresh (the mock Kafka keeps nothing). docs/POSTTRADE.md.
            """)

    @Option(name: .long, help: "The cluster definition (YAML).")
    var config: String = "cluster-config/local.yaml"

    @Option(name: .long, help: "Directory for data, logs, pids and the ack log.")
    var root: String = "data/dev"

    @Flag(name: .long, help: "Delete <root> before starting.")
    var fresh = false

    @Option(
        name: .long, help: "How long the bots trade, in seconds (0: no load and no verification). Range: 0...86400.")
    var loadSeconds: Int = 20

    @Option(name: .long, help: "Closed loop with this many commands in flight (default 64). Range: 1...65536.")
    var closed: Int?

    @Option(name: .long, help: "Open loop at this many commands per second instead. Range: 1...10000000.")
    var rate: Int?

    @Option(name: .long, help: "Trading bots (participants). Range: 1...10000.")
    var participants: Int = 8

    @Option(name: .long, help: "Seed of the bots' order flow.")
    var seed: UInt64 = 1

    @Option(name: .long, help: "Seconds to wait for every shard to have a leader. Range: 1...600.")
    var leaderTimeoutSeconds: Int = 30

    @Flag(name: .long, help: "Stop the cluster after the summary instead of running until Ctrl-C.")
    var exitAfterLoad = false

    func validate() throws {
        if closed != nil && rate != nil { throw ValidationError("--closed and --rate exclude each other") }
        if let closed, !(1...65_536).contains(closed) { throw ValidationError("--closed must be 1...65536") }
        if let rate, !(1...10_000_000).contains(rate) { throw ValidationError("--rate must be 1...10000000") }
        if !(0...86_400).contains(loadSeconds) { throw ValidationError("--load-seconds must be 0...86400") }
        if !(1...10_000).contains(participants) { throw ValidationError("--participants must be 1...10000") }
        if !(1...600).contains(leaderTimeoutSeconds) {
            throw ValidationError("--leader-timeout-seconds must be 1...600")
        }
    }

    /// `--fresh` deletes `path` only if it is not `/`, the working directory, the home directory or one of their
    /// ancestors.
    static func isSafeToDelete(_ path: String) -> Bool {
        var protected = ["/"]
        if let home = getenv("HOME") { protected.append(String(cString: home)) }
        var buffer = [CChar](repeating: 0, count: 4096)
        if getcwd(&buffer, buffer.count) != nil {
            protected.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        let trimmed = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
        return !protected.contains { $0 == trimmed || $0.hasPrefix(trimmed == "/" ? "/" : trimmed + "/") }
    }

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        let logger = Logger(label: "exchange.dev")
        let signals = StopSignals()
        if fresh && !Self.isSafeToDelete(LocalCluster.absolute(root)) {
            throw ValidationError("--fresh refuses to delete \(LocalCluster.absolute(root))")
        }
        var cluster: LocalCluster
        do {
            cluster = try LocalCluster(definitionPath: config, root: root, logger: logger)
        } catch {
            throw ValidationError("\(error)")
        }
        // Nodes of an earlier run on this root that outlived it go first, also before --fresh deletes their files.
        let leftovers = await cluster.killLeftovers()
        if !leftovers.isEmpty { Console.say("killed \(leftovers.count) node processes left by an earlier run") }
        // The mock Kafka keeps nothing between runs, so a cluster with the post-trade outbox always starts fresh
        // (its shards would otherwise remember events as published that no Kafka holds).
        let postTrade = cluster.definition.postTrade.outbox
        if postTrade && !fresh {
            Console.say("postTrade.outbox is on: starting fresh (the mock Kafka and PostgreSQL are new every run)")
        }
        if fresh || postTrade { LocalCluster.removeTree(cluster.root) }
        var stack: PostTradeStack?
        if postTrade {
            Console.say("==> starting PostgreSQL and a mock Kafka (3 brokers) for the post-trade pipeline")
            do {
                let started = try await PostTradeStack.start(
                    root: cluster.root, brokers: 3, partitions: cluster.definition.postTrade.topicPartitions,
                    logger: logger)
                stack = started
                cluster = try LocalCluster(
                    definitionPath: config, root: root, nodeArguments: started.nodeArguments, logger: logger)
            } catch {
                Console.say("error: the post-trade pipeline did not start: \(error)")
                await stack?.stop()
                throw ExitCode(1)
            }
        }
        let session = DevSession(command: self, cluster: cluster, postTrade: stack, signals: signals, logger: logger)
        let code = await session.run()
        if let stack {
            await stack.stop()
            Console.say("post-trade pipeline stopped")
        }
        let stopped = await cluster.stopAll(timeout: .seconds(10))
        let unclean = stopped.filter { !$0.value.isSuccess }
        for (node, status) in unclean.sorted(by: { $0.key < $1.key }) {
            Console.say("node \(node) \(status) while stopping; see \(cluster.logPath(for: node))")
        }
        Console.say("cluster stopped")
        if code != 0 { throw ExitCode(code) }
    }
}

/// One run of `exchanged dev`, phase by phase; every phase ends early on a stop signal or a node that died.
struct DevSession: Sendable {
    let options: DevOptions
    let cluster: LocalCluster
    let postTrade: PostTradeStack?
    let signals: StopSignals
    let logger: Logger

    init(command: DevCommand, cluster: LocalCluster, postTrade: PostTradeStack?, signals: StopSignals, logger: Logger) {
        self.postTrade = postTrade
        options = DevOptions(
            loadSeconds: command.loadSeconds,
            mode: command.rate.map { .open(commandsPerSecond: $0) } ?? .closed(outstanding: command.closed ?? 64),
            participants: command.participants, seed: command.seed,
            leaderTimeout: .seconds(command.leaderTimeoutSeconds), exitAfterLoad: command.exitAfterLoad)
        self.cluster = cluster
        self.signals = signals
        self.logger = logger
    }

    /// Returns the process exit status.
    func run() async -> Int32 {
        let definition = cluster.definition
        Console.say(
            "==> starting \(definition.nodes.count) nodes of cluster \(definition.cluster) (\(cluster.definitionPath))")
        let started = await supervised { () async throws(LocalClusterError) in
            try await cluster.startAll()
            return try await cluster.waitUntilEveryShardHasLeader(timeout: options.leaderTimeout)
        }
        guard case .finished(let leaders) = started else { return report(started) }
        Console.say("every shard has a leader:\n" + ShardLeaders.table(definition: definition, leaders: leaders))
        if let postTrade {
            Console.say("==> starting the workers: \(PostTradeStack.workerNames.joined(separator: ", "))")
            let workersStarted = await supervised { () async throws(LocalClusterError) in try await postTrade.startWorkers() }
            guard case .finished = workersStarted else { return report(workersStarted) }
        }

        var verified = true
        if options.loadSeconds > 0 {
            let ackLogPath = cluster.root + "/acks.log"
            Console.say(
                "\n==> trading for \(options.loadSeconds) s (\(options.modeDescription), \(options.participants) bots)")
            let loaded = await supervised { () async throws(LoadGeneratorError) in try await runLoad(ackLogPath) }
            guard case .finished(let summary) = loaded else { return report(loaded) }
            Console.say(Self.render(summary))

            Console.say("\n==> verifying \(ackLogPath) against every replica")
            let checked = await supervised { () async throws(AckLogError) in
                let acks = try AckLog.read(path: ackLogPath)
                return await Verifier.fetchAndCheck(definition: definition, acks: acks, timeout: .seconds(30))
            }
            guard case .finished(let verdict) = checked else { return report(checked) }
            var verdictText = verdict.render()
            while verdictText.hasSuffix("\n") { verdictText.removeLast() }
            Console.say(verdictText)
            verified = verdict.passed
            if let postTrade {
                Console.say("\n==> reconciling the post-trade pipeline (executed = cleared = settled = journaled)")
                let reconciled = await supervised { () async throws(Never) in
                    await PostTradeCheck.run(
                        definition: definition, postgres: postTrade.connectionString, wait: .seconds(60))
                }
                guard case .finished(let check) = reconciled else { return report(reconciled) }
                Console.say(check.render())
                verified = verified && check.passed
            }
        }

        Console.say("\n==> the cluster")
        Console.say("data:  \(cluster.dataDirectory)/node-<id>")
        Console.say("logs:  \(cluster.root)/logs/node-<id>.log")
        for node in definition.nodes.sorted(by: { $0.id < $1.id }) {
            let host = node.metricsAddress.isUnspecified ? "127.0.0.1" : node.metricsAddress.host
            let base = "http://\(NetworkAddress(host: host, port: node.metricsAddress.port))"
            Console.say(
                "node \(node.id): pid \(cluster.pid(node.id).map(String.init) ?? "-"), client \(node.clientAddress), "
                    + "\(base)/status  \(base)/metrics")
        }
        if let postTrade {
            Console.say("kafka: \(postTrade.bootstrapServers) (mock, 3 brokers)")
            Console.say("postgres: '\(postTrade.connectionString)'")
            Console.say("workers: \(postTrade.workers.root)/logs/worker-<name>.log")
            Console.say(
                "reconcile: exchangectl reconcile --config \(cluster.definitionPath) --postgres '\(postTrade.connectionString)'")
        }
        if options.exitAfterLoad { return verified ? 0 : 1 }

        Console.say("\nrunning; Ctrl-C stops every node")
        let waited = await supervised { () async throws(Never) -> Bool in
            while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
            return true
        }
        if case .interrupted(.signal) = waited {
            _ = report(waited)
            return 0
        }
        return report(waited)
    }

    private func runLoad(_ ackLogPath: String) async throws(LoadGeneratorError) -> LoadSummary {
        var loadLogger = logger
        loadLogger[metadataKey: "component"] = "load"
        let generator = try LoadGenerator(
            cluster: cluster.definition,
            options: LoadOptions(
                mode: options.mode, duration: .seconds(options.loadSeconds), participants: options.participants,
                seed: options.seed, ackLogPath: ackLogPath),
            logger: loadLogger)
        let printer = Task {
            var previous = LoadProgress()
            var second = 0
            while !Task.isCancelled {
                do { try await Task.sleep(for: .seconds(1)) } catch { break }
                second += 1
                let now = generator.progress
                Console.say(
                    "t=\(second)s sent \(now.sent) acked \(now.acknowledged) failed \(now.failed) "
                        + "(\(now.acknowledged - previous.acknowledged)/s)")
                previous = now
            }
        }
        defer { printer.cancel() }
        let result: Result<LoadSummary, LoadGeneratorError> = await withTaskCancellationHandler {
            do throws(LoadGeneratorError) { return .success(try await generator.run()) } catch {
                return .failure(error)
            }
        } onCancel: {
            generator.stop()
        }
        return try result.get()
    }

    // MARK: Supervision

    enum Interruption: Sendable {
        case signal(String)
        case nodeExited(NodeID, ProcessExitStatus)
        case workerExited(String, ProcessExitStatus)
    }

    enum Outcome<Value: Sendable>: Sendable {
        case finished(Value)
        case failed(String)
        case interrupted(Interruption)
    }

    /// Runs `body` until it returns, or until a stop signal arrives or a node exits on its own (then `body` is
    /// cancelled and awaited).
    private func supervised<Value: Sendable, Failure: Error>(
        _ body: @escaping @Sendable () async throws(Failure) -> Value
    ) async -> Outcome<Value> {
        await withTaskGroup(of: Outcome<Value>?.self) { group in
            group.addTask {
                do throws(Failure) {
                    return .finished(try await body())
                } catch {
                    return .failed("\(error)")
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    if let signal = signals.received { return .interrupted(.signal(signal)) }
                    if let (node, status) = cluster.unexpectedExits().min(by: { $0.key < $1.key }) {
                        return .interrupted(.nodeExited(node, status))
                    }
                    if let (worker, status) = postTrade?.exitedWorkers().min(by: { $0.key < $1.key }) {
                        return .interrupted(.workerExited(worker, status))
                    }
                    try? await Task.sleep(for: .milliseconds(100))
                }
                return nil
            }
            var first: Outcome<Value>?
            while let next = await group.next() {
                if first == nil, let next {
                    first = next
                    group.cancelAll()
                }
            }
            return first ?? .failed("cancelled")
        }
    }

    /// Prints why a phase ended early and returns the exit status for it.
    private func report<Value>(_ outcome: Outcome<Value>) -> Int32 {
        switch outcome {
        case .finished:
            return 0
        case .failed(let message):
            Console.say("error: \(message)")
            return 1
        case .interrupted(.signal(let name)):
            Console.say("\n\(name): stopping every node")
            return 0
        case .interrupted(.nodeExited(let node, let status)):
            Console.say(
                "error: node \(node) \(status) unexpectedly; stopping the others. The end of "
                    + "\(cluster.logPath(for: node)):\n\(cluster.logTail(node, lines: 30))")
            return 1
        case .interrupted(.workerExited(let worker, let status)):
            Console.say(
                "error: worker \(worker) \(status) unexpectedly; stopping everything. See "
                    + (postTrade?.workers.logPath(for: worker) ?? "its log"))
            return 1
        }
    }

    static func render(_ summary: LoadSummary) -> String {
        func milliseconds(_ nanoseconds: UInt64) -> String {
            let tenths = (nanoseconds + 5_000) / 10_000
            return "\(tenths / 100).\(tenths % 100 < 10 ? "0" : "")\(tenths % 100) ms"
        }
        let latency = summary.latencyNanoseconds
        var lines = [
            "summary:",
            "  commands   sent \(summary.sent), acknowledged \(summary.acknowledged) (accepted \(summary.accepted), "
                + "rejected \(summary.rejected), duplicates \(summary.duplicates)), failed \(summary.failed), "
                + "fills \(summary.fills)",
            "  throughput \(Int(summary.throughputPerSecond.rounded())) acks/s over "
                + "\(Int((summary.elapsedSeconds * 10).rounded()) / 10).\(Int((summary.elapsedSeconds * 10).rounded()) % 10) s",
            "  latency    p50 \(milliseconds(latency.p50)), p99 \(milliseconds(latency.p99)), "
                + "p999 \(milliseconds(latency.p999)), max \(milliseconds(latency.max))",
        ]
        if !summary.rejectedByReason.isEmpty {
            lines.append(
                "  rejected   "
                    + summary.rejectedByReason.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
                    .joined(separator: ", "))
        }
        if !summary.failedByCode.isEmpty {
            lines.append(
                "  failed     "
                    + summary.failedByCode.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
                    .joined(separator: ", "))
        }
        return lines.joined(separator: "\n")
    }
}

/// The options of a dev session, resolved.
struct DevOptions: Sendable {
    var loadSeconds: Int
    var mode: LoadMode
    var participants: Int
    var seed: UInt64
    var leaderTimeout: Duration
    var exitAfterLoad: Bool

    var modeDescription: String {
        switch mode {
        case .closed(let outstanding): "closed loop, \(outstanding) in flight"
        case .open(let rate): "open loop, \(rate) commands/s"
        }
    }
}

/// SIGINT and SIGTERM, turned from process-killing signals into a flag the session polls.
final class StopSignals: Sendable {
    private let state = StopSignalState()

    init() {
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let queue = DispatchQueue(label: "exchange.dev.signals")
        var sources: [any DispatchSourceSignal] = []
        for (number, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            let state = self.state
            source.setEventHandler { state.record(name) }
            source.resume()
            sources.append(source)
        }
        state.keep(sources)
    }

    /// The first signal received, if any.
    var received: String? { state.received }
}

final class StopSignalState: @unchecked Sendable {
    // @unchecked Sendable: every field is guarded by `lock`.
    private let lock = PThreadMutex()
    private var first: String?
    private var sources: [any DispatchSourceSignal] = []

    func record(_ name: String) { lock.locked { if first == nil { first = name } } }
    func keep(_ sources: [any DispatchSourceSignal]) { lock.locked { self.sources = sources } }
    var received: String? { lock.locked { first } }
}

/// A pthread mutex for the few fields above.
final class PThreadMutex: @unchecked Sendable {
    // @unchecked Sendable: a pthread mutex is made to be shared between threads.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    init() {
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }
    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }
    func locked<Result>(_ body: () -> Result) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }
}

/// Lines to stdout, flushed at once (stdout is a pipe under tests and scripts).
enum Console {
    static func say(_ line: String) {
        print(line)
        fflush(stdout)
    }
}

/// `exchanged dev-child --parent-pid P -- node ...`: what `LocalCluster` spawns so that a node dies with its
/// supervisor (see `ParentDeathWrapper`). Not for people.
struct DevChildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-child", abstract: "Internal: run a node that dies with its supervisor.", shouldDisplay: false)

    @Option(name: .long, help: "The supervisor's pid; the node is not started if it is gone.")
    var parentPid: Int32

    @Argument(parsing: .postTerminator, help: "The exchanged command line to become, e.g. node --config ...")
    var command: [String] = []

    func run() throws {
        guard !command.isEmpty else { throw ValidationError("no command after --") }
        let failure = ParentDeathWrapper.execWithParentDeathSignal(parentPID: parentPid, command: command)
        fputs("exchanged dev-child: \(failure)\n", stderr)
        throw ExitCode(71)
    }
}

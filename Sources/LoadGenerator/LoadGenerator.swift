public import ClusterConfig
import ExchangeClient
import ExchangeCore
public import Logging
import Matching
import NIOConcurrencyHelpers
import Wire
import Workloads

/// Trading bots that drive a cluster over the client protocol and record every acknowledgement
/// (ARCHITECTURE §2, `exchange-load`; WORKLOADS W2 and W3).
///
/// Bot `i` (1...participants) is participant `i` with its own `ExchangeClient` and its own `OrderFlow` (W1a's
/// mix; cancels and replaces name only orders its own acknowledgements reported resting). Client order ids start
/// at the wall clock in microseconds and increase by one per command, so a later run is never stale.
///
/// - Important: several commands of one bot may be in flight at once (closed loop with more outstanding than
///   bots, or open loop) and the client does not promise to write them in the order they were issued. Each bot's
///   tasks run on its own serial `BotExecutor`, which keeps almost all of them in order (measured on one node:
///   about 0.3% of commands still arrive out of order, against 3-5% on the global pool), so the exchange may refuse
///   a few as `staleClientOrderID`, as it may after a failover retry. They are counted in
///   `LoadSummary.rejectedByReason`, not treated as errors.
public final class LoadGenerator: Sendable {
    /// One trading bot.
    final class Bot: Sendable {
        let participant: ParticipantID
        let client: ExchangeClient
        let flow: NIOLockedValueBox<OrderFlow>
        /// Runs the bot's tasks in order (see `BotExecutor`).
        let executor: BotExecutor

        init(participant: ParticipantID, client: ExchangeClient, flow: OrderFlow) {
            self.participant = participant
            self.client = client
            self.flow = NIOLockedValueBox(flow)
            executor = BotExecutor(label: "exchange.load.bot-\(participant.rawValue)")
        }
    }

    public let cluster: ClusterDefinition
    public let options: LoadOptions
    /// The symbols traded and their shards.
    public let shardOfSymbol: [String: UInt32]
    private let shards: [Symbol: UInt32]
    private let bots: [Bot]
    private let recorder: LoadRecorder
    private let logger: Logger
    private let sendingEnded: AsyncStream<Void>
    private let endSending: AsyncStream<Void>.Continuation

    /// Validates the options against `cluster`, makes the bots' clients (no connection is opened yet) and creates
    /// the ack log.
    /// - Throws: `invalidOptions`, `unknownSymbol` (not traded by the cluster or without instrument rules),
    ///   `client`, `ackLog`.
    public init(
        cluster: ClusterDefinition, options: LoadOptions, logger: Logger = Logger(label: "exchange.load")
    ) throws(LoadGeneratorError) {
        try options.validate()
        self.cluster = cluster
        self.options = options
        self.logger = logger

        let names = options.symbols ?? cluster.shards.flatMap { $0.symbols.map(\.description) }
        guard !names.isEmpty else { throw LoadGeneratorError(.unknownSymbol, "the cluster definition has no symbol") }
        var instruments: [FlowInstrument] = []
        var shards: [Symbol: UInt32] = [:]
        var shardOfSymbol: [String: UInt32] = [:]
        for name in names {
            let symbol: Symbol
            do { symbol = try Symbol(validating: name) } catch {
                throw LoadGeneratorError(.unknownSymbol, "symbol '\(name)' is not a valid ticker: \(error)")
            }
            guard let shard = cluster.shard(for: symbol) else {
                throw LoadGeneratorError(.unknownSymbol, "symbol \(name) is traded by no shard of \(cluster.cluster)")
            }
            guard let rules = cluster.instrumentRules(for: symbol) else {
                throw LoadGeneratorError(.unknownSymbol, "symbol \(name) has no instrument rules in \(cluster.cluster)")
            }
            guard let instrument = FlowInstrument(rules: rules) else {
                throw LoadGeneratorError(
                    .invalidOptions,
                    "symbol \(name): reference price \(rules.referencePrice.rawValue) leaves no room for passive "
                        + "prices of tick \(rules.tickSize)")
            }
            instruments.append(instrument)
            shards[symbol] = shard.id
            shardOfSymbol[name] = shard.id
        }
        self.shards = shards
        self.shardOfSymbol = shardOfSymbol

        let firstClientOrderID = max(1, wallClockMicroseconds())
        var bots: [Bot] = []
        for index in 1...options.participants {
            let participant = ParticipantID(UInt32(index))
            var configuration = options.client
            configuration.participant = participant
            var botLogger = logger
            botLogger[metadataKey: "load.participant"] = "\(index)"
            let client: ExchangeClient
            do {
                client = try ExchangeClient(cluster: cluster, configuration: configuration, logger: botLogger)
            } catch {
                for bot in bots { bot.client.shutdown() }
                throw LoadGeneratorError(.client, error.description)
            }
            var mixer = SplitMix64(seed: options.seed &+ UInt64(index) &* 0xD1B5_4A32_D192_ED03)
            let flow = OrderFlow(
                participant: participant, instruments: instruments, seed: mixer.next(),
                restingTarget: options.effectiveRestingOrdersPerBot, firstClientOrderID: firstClientOrderID)
            bots.append(Bot(participant: participant, client: client, flow: flow))
        }
        self.bots = bots

        var sink: AckLogSink?
        if let path = options.ackLogPath {
            do {
                sink = try AckLogSink(path: path)
            } catch {
                for bot in bots { bot.client.shutdown() }
                throw error
            }
        }
        recorder = LoadRecorder(sink: sink, maxCommands: options.maxCommands)
        (sendingEnded, endSending) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Counts so far; thread-safe.
    public var progress: LoadProgress { recorder.progress }

    /// Asks the run to stop starting commands; `run()` returns once the commands in flight are answered (or
    /// `drainTimeout` passed) with the summary so far. Safe from any thread, also before `run()`, and repeatedly.
    public func stop() {
        recorder.stop()
        endSending.yield()
    }

    /// Runs the bots until `duration` passed, `maxCommands` were started or `stop()` was called, waits for the
    /// answers in flight (at most `drainTimeout`), shuts the clients down and flushes the ack log.
    /// - Throws: `alreadyRunning` on a second call.
    public func run() async throws(LoadGeneratorError) -> LoadSummary {
        guard recorder.beginRun() else {
            throw LoadGeneratorError(.alreadyRunning, "a LoadGenerator runs once; make a new one")
        }
        let started = monotonicNanoseconds()
        let endNanoseconds = started &+ UInt64(clamping: options.duration.nanosecondsClamped)
        logger.info(
            "load starting",
            metadata: [
                "load.mode": "\(options.mode)", "load.participants": "\(options.participants)",
                "load.symbols": "\(shardOfSymbol.count)", "load.seed": "\(options.seed)",
            ])

        enum Finished { case sending, watchdog }
        await withTaskGroup(of: Finished.self) { group in
            group.addTask {
                switch self.options.mode {
                case .closed(let outstanding):
                    await self.runClosedLoop(outstanding: outstanding, endNanoseconds: endNanoseconds)
                case .open(let rate):
                    await self.runOpenLoop(rate: rate, startNanoseconds: started, endNanoseconds: endNanoseconds)
                }
                return .sending
            }
            group.addTask {
                await self.drainWatchdog(endNanoseconds: endNanoseconds)
                return .watchdog
            }
            while let finished = await group.next() {
                if finished == .sending { break }
            }
            group.cancelAll()
        }
        let elapsed = monotonicNanoseconds() - started
        for bot in bots { bot.client.shutdown() }
        recorder.stop()
        endSending.finish()
        await recorder.flush()
        let summary = recorder.summary(elapsedNanoseconds: elapsed)
        let counters = bots.map(\.client.counters)
        logger.info(
            "load finished",
            metadata: [
                "client.retries": "\(counters.reduce(0) { $0 + $1.retries })",
                "client.redirects": "\(counters.reduce(0) { $0 + $1.redirects })",
                "load.sent": "\(summary.sent)", "load.acknowledged": "\(summary.acknowledged)",
                "load.failed": "\(summary.failed)", "load.elapsed_seconds": "\(summary.elapsedSeconds)",
            ])
        return summary
    }

    // MARK: Loops

    /// `outstanding` lanes, spread evenly over the bots; each lane sends its next command when the last is answered.
    private func runClosedLoop(outstanding: Int, endNanoseconds: UInt64) async {
        let botCount = bots.count
        await withDiscardingTaskGroup { group in
            for (index, bot) in bots.enumerated() {
                let lanes = outstanding / botCount + (index < outstanding % botCount ? 1 : 0)
                for _ in 0..<lanes {
                    group.addTask(executorPreference: bot.executor) {
                        while monotonicNanoseconds() < endNanoseconds {
                            guard self.recorder.reserveStart() == .go else { break }
                            await self.execute(bot, startNanoseconds: monotonicNanoseconds())
                        }
                        self.endSending.yield()
                    }
                }
            }
        }
    }

    /// Starts command `n` at `start + n / rate` (absolute times, so a late wake-up starts every command due at once
    /// and charges it the delay), round-robin over the bots.
    private func runOpenLoop(rate: Int, startNanoseconds: UInt64, endNanoseconds: UInt64) async {
        let botCount = UInt64(bots.count)
        let inFlightMax = options.openLoopInFlightMax
        await withDiscardingTaskGroup { group in
            var index: UInt64 = 0
            scheduling: while true {
                let now = monotonicNanoseconds()
                var due = startNanoseconds &+ index &* 1_000_000_000 / UInt64(rate)
                while due <= now {
                    guard due < endNanoseconds else { break scheduling }
                    let bot = bots[Int(index % botCount)]
                    index += 1
                    switch recorder.reserveStart(inFlightMax: inFlightMax) {
                    case .go:
                        let intended = due
                        group.addTask(executorPreference: bot.executor) {
                            await self.execute(bot, startNanoseconds: intended)
                        }
                    case .refused:
                        break
                    case .end:
                        break scheduling
                    }
                    due = startNanoseconds &+ index &* 1_000_000_000 / UInt64(rate)
                }
                guard due < endNanoseconds, !recorder.isStopped else { break }
                do {
                    try await Task.sleep(for: .nanoseconds(Int64(due - now)))
                } catch {
                    break
                }
            }
            endSending.yield()
        }
    }

    /// Once sending ends (deadline, `maxCommands` or `stop()`), gives the commands in flight `drainTimeout`, then
    /// shuts the clients down so that whatever still waits fails at once. Cancelled when the loops finish first.
    private func drainWatchdog(endNanoseconds: UInt64) async {
        let sendingEnded = self.sendingEnded
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                let now = monotonicNanoseconds()
                if endNanoseconds > now { try? await Task.sleep(for: .nanoseconds(Int64(endNanoseconds - now))) }
            }
            group.addTask {
                for await _ in sendingEnded { break }
            }
            await group.next()
            group.cancelAll()
        }
        guard !Task.isCancelled else { return }
        do {
            try await Task.sleep(for: options.drainTimeout)
        } catch {
            return
        }
        logger.warning(
            "commands still in flight after the drain timeout; shutting the clients down",
            metadata: ["load.drain_timeout": "\(options.drainTimeout)"])
        for bot in bots { bot.client.shutdown() }
    }

    /// Draws `bot`'s next command, sends it and records the answer or the failure.
    /// - Parameter startNanoseconds: where latency is measured from (the intended start in an open loop).
    private func execute(_ bot: Bot, startNanoseconds: UInt64) async {
        let command = bot.flow.withLockedValue { $0.next() }
        let result: CommandResult
        do {
            switch command {
            case .newOrder(let order): result = try await bot.client.submit(order)
            case .cancel(let cancel): result = try await bot.client.cancel(cancel)
            case .replace(let replace): result = try await bot.client.replace(replace)
            }
        } catch {
            bot.flow.withLockedValue { $0.forget(command) }
            recorder.failed(error.code)
            logger.debug(
                "command failed",
                metadata: [
                    "load.participant": "\(bot.participant.rawValue)", "order.client_id": "\(command.clientOrderID)",
                    "error.code": "\(failureName(error.code))",
                ])
            return
        }
        let answered = monotonicNanoseconds()
        let latency = answered > startNanoseconds ? answered - startNanoseconds : 0
        bot.flow.withLockedValue { $0.learn(command, result: result) }
        let record = AckRecord(shard: shards[command.symbol] ?? 0, kind: command.kind, result: result)
        recorder.acknowledged(record, result: result, latencyNanoseconds: latency)
        options.onAck?(record, latency, answered)
    }
}

extension Duration {
    /// Whole nanoseconds, saturating at `Int64.max`.
    var nanosecondsClamped: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return scaled + attoseconds / 1_000_000_000
    }
}

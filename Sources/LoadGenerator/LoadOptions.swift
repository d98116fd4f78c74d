public import ExchangeClient
import ExchangeCore

/// How commands are paced.
public enum LoadMode: Sendable, Hashable {
    /// Exactly `outstanding` commands in flight in total across the bots (spread evenly); each answer starts the
    /// next command. Range: 1...65,536.
    case closed(outstanding: Int)
    /// Commands started at a fixed rate, whatever the answers (open loop). Latency is measured from each command's
    /// intended start time, so a stall is charged to every command it delays (no coordinated omission).
    /// Range: 1...10,000,000 per second.
    case open(commandsPerSecond: Int)
}

/// Options of a `LoadGenerator` run. `validate()` checks every range; `LoadGenerator.init` calls it.
public struct LoadOptions: Sendable {
    public typealias AckHandler = @Sendable (
        _ record: AckRecord, _ latencyNanoseconds: UInt64, _ monotonicNanoseconds: UInt64
    ) -> Void

    /// Closed or open loop. Default: closed loop, 16 outstanding.
    public var mode: LoadMode
    /// Stop starting commands after this long. Default: 10 s. Range: 1 ms...7 days.
    public var duration: Duration
    /// Or after this many commands were started. Default: nil (no limit). Range: nil or 1...Int.max.
    public var maxCommands: Int?
    /// Trading bots; bot `i` sends as participant `i` (1...participants) through its own `ExchangeClient`.
    /// Default: 8. Range: 1...10,000.
    public var participants: Int
    /// Seeds every bot's order flow (bot `i` uses a seed derived from `seed` and `i`). Default: 1.
    public var seed: UInt64
    /// Symbols traded, each in the cluster definition. Default: nil (every symbol of the definition).
    public var symbols: [String]?
    /// Every acknowledgement is written to this file (`AckLogWriter` format). Default: nil (no ack log).
    public var ackLogPath: String?
    /// The configuration of every bot's client; `participant` is overwritten per bot.
    /// Default: `ExchangeClientConfiguration()`.
    public var client: ExchangeClientConfiguration
    /// Called for every acknowledgement (also duplicates and rejections) with its latency and the monotonic clock
    /// (`CLOCK_MONOTONIC`, ns) at the ack. Runs on the bot's task: keep it short and non-blocking. Default: nil.
    public var onAck: AckHandler?
    /// After sending stopped (duration, `maxCommands` or `stop()`), commands still in flight get this long to be
    /// answered; then the clients are shut down and the rest count as failed (`connectionLost` or `shutdown`).
    /// Default: 10 s. Range: 0...10 min.
    public var drainTimeout: Duration = .seconds(10)
    /// Open loop only: most commands in flight; a command due while this many are in flight is not started and
    /// counts as failed with code `overloaded` (load shedding at the source). Default: 2,048, a few times what the
    /// bots' connections carry at once (64 requests each). Range: 1...1,048,576.
    ///
    /// Why not more: commands beyond what the connections carry queue inside the client library, and a queue
    /// deeper than the request timeout turns into timeouts and retries that crowd out the useful work: with
    /// 65,536 the generator collapsed to almost no acknowledgements at 50-75 % of the closed-loop maximum while
    /// the exchange sat idle (docs/PERFORMANCE.md, W2).
    public var openLoopInFlightMax: Int = 2_048
    /// Resting orders each bot aims to keep (cancels become new limits below it; marketable orders are sized to
    /// hold it). Default: nil = max(8, 1,000 / participants), W1a's 1,000 resting orders spread over the bots.
    /// Range: nil or 1...1,000,000.
    public var restingOrdersPerBot: Int?

    public init(
        mode: LoadMode = .closed(outstanding: 16), duration: Duration = .seconds(10), maxCommands: Int? = nil,
        participants: Int = 8, seed: UInt64 = 1, symbols: [String]? = nil, ackLogPath: String? = nil,
        client: ExchangeClientConfiguration = ExchangeClientConfiguration(), onAck: AckHandler? = nil
    ) {
        self.mode = mode
        self.duration = duration
        self.maxCommands = maxCommands
        self.participants = participants
        self.seed = seed
        self.symbols = symbols
        self.ackLogPath = ackLogPath
        self.client = client
        self.onAck = onAck
    }

    /// The resting-order target of one bot.
    var effectiveRestingOrdersPerBot: Int { restingOrdersPerBot ?? max(8, 1_000 / max(1, participants)) }

    /// - Throws: `invalidOptions` naming the first field out of range; `unknownSymbol` for a symbol that is not a
    ///   valid ticker (whether the cluster trades it is checked by `LoadGenerator.init`).
    public func validate() throws(LoadGeneratorError) {
        func check(_ ok: Bool, _ message: @autoclosure () -> String) throws(LoadGeneratorError) {
            if !ok { throw LoadGeneratorError(.invalidOptions, message()) }
        }
        switch mode {
        case .closed(let outstanding):
            try check((1...65_536).contains(outstanding), "closed-loop outstanding \(outstanding) is outside 1...65536")
        case .open(let rate):
            try check(
                (1...10_000_000).contains(rate), "open-loop rate \(rate) commands/s is outside 1...10000000")
        }
        try check(
            (Duration.milliseconds(1)...Duration.seconds(7 * 86_400)).contains(duration),
            "duration \(duration) is outside 1 ms...7 days")
        if let maxCommands { try check(maxCommands >= 1, "maxCommands \(maxCommands) must be at least 1") }
        try check((1...10_000).contains(participants), "participants \(participants) is outside 1...10000")
        if let symbols {
            try check(!symbols.isEmpty, "symbols must not be empty (nil means every symbol)")
            var seen: Set<String> = []
            for symbol in symbols {
                do {
                    _ = try Symbol(validating: symbol)
                } catch {
                    throw LoadGeneratorError(.unknownSymbol, "symbol '\(symbol)' is not a valid ticker: \(error)")
                }
                try check(seen.insert(symbol).inserted, "symbol \(symbol) is listed twice")
            }
        }
        if let ackLogPath { try check(!ackLogPath.isEmpty && !ackLogPath.utf8.contains(0), "ackLogPath is empty") }
        try check(
            (Duration.zero...Duration.seconds(600)).contains(drainTimeout),
            "drainTimeout \(drainTimeout) is outside 0...10 min")
        try check(
            (1...1_048_576).contains(openLoopInFlightMax),
            "openLoopInFlightMax \(openLoopInFlightMax) is outside 1...1048576")
        if let restingOrdersPerBot {
            try check(
                (1...1_000_000).contains(restingOrdersPerBot),
                "restingOrdersPerBot \(restingOrdersPerBot) is outside 1...1000000")
        }
        do {
            var perBot = client
            perBot.participant = nil
            try perBot.validate()
        } catch {
            throw LoadGeneratorError(.invalidOptions, "client: \(error.message)")
        }
    }
}

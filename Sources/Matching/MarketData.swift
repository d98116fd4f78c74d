public import ExchangeCore

/// Market-data views built from the engine's events: per symbol, a tape of the latest trades
/// and OHLCV candles for 1 minute, 5 minutes, 1 hour and 1 day.
///
/// A pure value like the engine: it reads no clock. Candles are bucketed by the trades' log
/// timestamps (`Event.Trade.timestamp`), so every replica that records the same events holds
/// the same views. Events other than `.trade` are ignored.
///
/// - Important: feed the events of a symbol in the order the engine emitted them. Log time never
///   goes backwards in the engine; a trade stamped earlier than the symbol's previous trade is
///   bucketed at the previous trade's time (the rule of docs/MATCHING.md §1), never reordered.
public struct MarketDataRecorder: Sendable {
    /// Bounds of what the recorder keeps.
    public struct Configuration: Sendable, Hashable {
        /// Trades kept per symbol on the tape; older ones are dropped. Default: 100. Range: 1...1,000,000.
        public var tapeLength: Int
        /// Candles kept per symbol and interval; older ones are dropped. Default: 500. Range: 1...1,000,000.
        public var candlesPerInterval: Int

        public init(tapeLength: Int = 100, candlesPerInterval: Int = 500) {
            self.tapeLength = tapeLength
            self.candlesPerInterval = candlesPerInterval
        }

        /// Checks every range above; returns the first violated field.
        public func validate() throws(MarketDataConfigurationError) {
            guard (1...1_000_000).contains(tapeLength) else {
                throw MarketDataConfigurationError(field: "tapeLength", reason: "must be in 1...1000000")
            }
            guard (1...1_000_000).contains(candlesPerInterval) else {
                throw MarketDataConfigurationError(field: "candlesPerInterval", reason: "must be in 1...1000000")
            }
        }
    }

    public let configuration: Configuration
    private var symbols: [Symbol: SymbolMarketData] = [:]

    /// A recorder with the default bounds.
    public init() {
        self.configuration = Configuration()
    }

    public init(configuration: Configuration) throws(MarketDataConfigurationError) {
        try configuration.validate()
        self.configuration = configuration
    }

    /// Adds a trade to its symbol's tape and candles; ignores every other event.
    public mutating func record(_ event: Event) {
        guard case .trade(let trade) = event else { return }
        record(trade)
    }

    /// Records each event in order.
    public mutating func record(contentsOf events: some Sequence<Event>) {
        for event in events { record(event) }
    }

    /// Adds one trade to its symbol's tape and candles.
    public mutating func record(_ trade: Event.Trade) {
        let configuration = self.configuration
        symbols[trade.symbol, default: SymbolMarketData(configuration: configuration)].record(trade)
    }

    /// The symbol's latest trades, oldest first and newest last; empty for a symbol that never traded.
    public func tape(_ symbol: Symbol) -> [Event.Trade] {
        symbols[symbol]?.tape.elements ?? []
    }

    /// The symbol's candles of one interval, oldest first. Only intervals with at least one trade
    /// have a candle; empty for a symbol that never traded.
    public func candles(_ symbol: Symbol, _ interval: CandleInterval) -> [Candle] {
        symbols[symbol]?.candles[interval.index].elements ?? []
    }

    /// The symbols that traded at least once, in ascending order.
    public var tradedSymbols: [Symbol] { symbols.keys.sorted() }
}

/// A `MarketDataRecorder.Configuration` field outside its range.
public struct MarketDataConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
    public var field: String
    public var reason: String
    public var description: String { "market data configuration: \(field) \(reason)" }
}

/// The length of a candle. Raw values are the length in seconds.
public enum CandleInterval: Int64, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case oneMinute = 60
    case fiveMinutes = 300
    case oneHour = 3_600
    case oneDay = 86_400

    public var nanoseconds: Int64 { rawValue * Timestamp.nanosecondsPerSecond }

    /// The start of the interval that contains `timestamp`: the timestamp floored to a multiple of
    /// the interval (counted from the Unix epoch, so days start at 00:00 UTC).
    public func bucketStart(_ timestamp: Timestamp) -> Timestamp {
        let length = nanoseconds
        let start = timestamp.rawValue - timestamp.rawValue % length
        guard start > timestamp.rawValue else { return Timestamp(nanoseconds: start) }
        // Before the epoch `%` truncates towards zero: step back one interval to floor.
        let (floored, overflow) = start.subtractingReportingOverflow(length)
        return Timestamp(nanoseconds: overflow ? Int64.min : floored)
    }

    public var description: String {
        switch self {
        case .oneMinute: "1m"
        case .fiveMinutes: "5m"
        case .oneHour: "1h"
        case .oneDay: "1d"
        }
    }

    /// Position in `allCases`, used to index per-interval storage.
    var index: Int {
        switch self {
        case .oneMinute: 0
        case .fiveMinutes: 1
        case .oneHour: 2
        case .oneDay: 3
        }
    }
}

/// Open, high, low, close and volume of one symbol's trades within one interval.
public struct Candle: Sendable, Hashable {
    public var symbol: Symbol
    public var interval: CandleInterval
    /// Start of the interval (inclusive); it ends before `start + interval`.
    public var start: Timestamp
    /// Price of the first trade in the interval.
    public var open: Price
    public var high: Price
    public var low: Price
    /// Price of the last trade in the interval.
    public var close: Price
    /// Sum of the traded quantities. Saturates at `Int64.max` instead of overflowing.
    public var volume: Quantity
    public var tradeCount: Int

    public init(
        symbol: Symbol, interval: CandleInterval, start: Timestamp, open: Price, high: Price, low: Price,
        close: Price, volume: Quantity, tradeCount: Int
    ) {
        self.symbol = symbol
        self.interval = interval
        self.start = start
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume
        self.tradeCount = tradeCount
    }

    /// The candle that opens with `trade`.
    init(interval: CandleInterval, start: Timestamp, first trade: Event.Trade) {
        self.init(
            symbol: trade.symbol, interval: interval, start: start, open: trade.price, high: trade.price,
            low: trade.price, close: trade.price, volume: trade.quantity, tradeCount: 1)
    }

    mutating func add(_ trade: Event.Trade) {
        high = max(high, trade.price)
        low = min(low, trade.price)
        close = trade.price
        let (sum, overflow) = volume.rawValue.addingReportingOverflow(trade.quantity.rawValue)
        volume = Quantity(overflow ? Int64.max : sum)
        tradeCount += 1
    }
}

/// One symbol's tape and candles.
private struct SymbolMarketData: Sendable {
    var tape: RingBuffer<Event.Trade>
    /// Indexed by `CandleInterval.index`.
    var candles: [RingBuffer<Candle>]
    /// Log time of the latest trade recorded; later trades are bucketed no earlier than this.
    var latestTimestamp: Timestamp?

    init(configuration: MarketDataRecorder.Configuration) {
        tape = RingBuffer(capacity: configuration.tapeLength)
        candles = CandleInterval.allCases.map { _ in RingBuffer(capacity: configuration.candlesPerInterval) }
    }

    mutating func record(_ trade: Event.Trade) {
        tape.append(trade)
        let time = max(trade.timestamp, latestTimestamp ?? trade.timestamp)
        latestTimestamp = time
        for interval in CandleInterval.allCases {
            let start = interval.bucketStart(time)
            if candles[interval.index].last?.start == start {
                candles[interval.index].updateLast { $0.add(trade) }
            } else {
                // Time never goes backwards here, so a new bucket is always the newest.
                candles[interval.index].append(Candle(interval: interval, start: start, first: trade))
            }
        }
    }
}

/// A fixed-capacity FIFO that overwrites its oldest element when full.
struct RingBuffer<Element> {
    private var storage: [Element] = []
    /// Index of the oldest element once `storage` is full.
    private var head = 0
    let capacity: Int

    init(capacity: Int) {
        precondition(capacity > 0, "ring buffer capacity must be positive")
        self.capacity = capacity
    }

    var count: Int { storage.count }

    mutating func append(_ element: Element) {
        if storage.count < capacity {
            storage.append(element)
        } else {
            storage[head] = element
            head = (head + 1) % capacity
        }
    }

    /// The newest element.
    var last: Element? {
        guard !storage.isEmpty else { return nil }
        return storage[newestIndex]
    }

    mutating func updateLast(_ body: (inout Element) -> Void) {
        precondition(!storage.isEmpty, "updateLast on an empty ring buffer")
        body(&storage[newestIndex])
    }

    /// Oldest first.
    var elements: [Element] {
        Array(storage[head...] + storage[..<head])
    }

    private var newestIndex: Int { (head + storage.count - 1) % storage.count }
}

extension RingBuffer: Sendable where Element: Sendable {}

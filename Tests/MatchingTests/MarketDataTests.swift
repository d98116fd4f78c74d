import ExchangeCore
import Matching
import Testing

/// Builds the trades the engine would emit; only the fields market data reads matter.
private struct TradeFactory {
    var nextSequence: UInt64 = 1

    mutating func trade(
        _ symbol: Symbol = aapl, price: Int64, quantity: Int64, seconds: Int64, nanoseconds: Int64 = 0,
        aggressor: Side? = .buy
    ) -> Event.Trade {
        defer { nextSequence += 1 }
        return Event.Trade(
            id: TradeID(sequence: nextSequence, index: 0), symbol: symbol, price: Price(price),
            quantity: Quantity(quantity), aggressor: aggressor, buyOrderID: OrderID(nextSequence * 2),
            sellOrderID: OrderID(nextSequence * 2 + 1), buyAccount: AccountID(1), sellAccount: AccountID(2),
            buyParticipant: ParticipantID(1), sellParticipant: ParticipantID(2), buyLeaves: .zero,
            sellLeaves: .zero, timestamp: Timestamp(nanoseconds: seconds * 1_000_000_000 + nanoseconds))
    }

    mutating func event(
        _ symbol: Symbol = aapl, price: Int64, quantity: Int64, seconds: Int64, nanoseconds: Int64 = 0
    ) -> Event {
        .trade(trade(symbol, price: price, quantity: quantity, seconds: seconds, nanoseconds: nanoseconds))
    }
}

private let aapl = Symbol("AAPL")
private let msft = Symbol("MSFT")
private let goog = Symbol("GOOG")

/// A fixed day: 2024-01-02 00:00:00 UTC, in seconds since the epoch.
private let day: Int64 = 1_704_153_600

@Suite("Market data: trade tape and OHLCV candles")
struct MarketDataTests {
    @Test("defaults keep 100 trades and 500 candles per interval")
    func defaults() throws {
        let recorder = MarketDataRecorder()
        #expect(recorder.configuration.tapeLength == 100)
        #expect(recorder.configuration.candlesPerInterval == 500)
        #expect(recorder.tape(aapl).isEmpty)
        #expect(recorder.candles(aapl, .oneMinute).isEmpty)
        #expect(recorder.tradedSymbols.isEmpty)
    }

    @Test("configuration ranges are checked")
    func configurationValidation() {
        let tooShort = #expect(throws: MarketDataConfigurationError.self) {
            try MarketDataRecorder(configuration: .init(tapeLength: 0))
        }
        #expect(tooShort?.field == "tapeLength")
        #expect(tooShort?.description == "market data configuration: tapeLength must be in 1...1000000")
        let tooMany = #expect(throws: MarketDataConfigurationError.self) {
            try MarketDataRecorder(configuration: .init(candlesPerInterval: 1_000_001))
        }
        #expect(tooMany?.field == "candlesPerInterval")
        #expect(throws: Never.self) {
            try MarketDataRecorder(configuration: .init(tapeLength: 1, candlesPerInterval: 1_000_000))
        }
    }

    @Test("the tape keeps the last N trades, newest last")
    func tapeRingBuffer() throws {
        var recorder = try MarketDataRecorder(configuration: .init(tapeLength: 3))
        var factory = TradeFactory()
        let trades = (0..<5).map { factory.trade(price: 100 + Int64($0), quantity: 10, seconds: day + Int64($0)) }

        recorder.record(.trade(trades[0]))
        recorder.record(.trade(trades[1]))
        #expect(recorder.tape(aapl) == [trades[0], trades[1]])

        recorder.record(.trade(trades[2]))
        #expect(recorder.tape(aapl) == [trades[0], trades[1], trades[2]])

        recorder.record(.trade(trades[3]))
        recorder.record(.trade(trades[4]))
        #expect(recorder.tape(aapl) == [trades[2], trades[3], trades[4]])
        #expect(recorder.tape(aapl).last?.price == Price(104))
    }

    @Test("the tape wraps many times and stays in order")
    func tapeWrapsRepeatedly() throws {
        var recorder = try MarketDataRecorder(configuration: .init(tapeLength: 7))
        var factory = TradeFactory()
        for i in 0..<100 {
            recorder.record(factory.event(price: Int64(1_000 + i), quantity: 1, seconds: day + Int64(i)))
        }
        #expect(recorder.tape(aapl).map(\.price.rawValue) == Array(1_093...1_099))
    }

    @Test("events other than trades are ignored")
    func nonTradeEventsIgnored() {
        var recorder = MarketDataRecorder()
        recorder.record(.resumed(aapl))
        recorder.record(.bookDelta(Event.BookDelta(symbol: aapl, side: .buy, price: Price(100), quantity: Quantity(5))))
        recorder.record(
            .cancelled(
                Event.Cancelled(
                    orderID: OrderID(1), symbol: aapl, cancelledQuantity: Quantity(5), leavesQuantity: .zero,
                    reason: .requested)))
        recorder.record(
            .auction(Event.AuctionResult(symbol: aapl, price: Price(100), volume: Quantity(50), imbalance: .zero)))
        #expect(recorder.tape(aapl).isEmpty)
        for interval in CandleInterval.allCases {
            #expect(recorder.candles(aapl, interval).isEmpty)
        }
        #expect(recorder.tradedSymbols.isEmpty)
    }

    @Test("one-minute candles: open, high, low, close, volume per bucket")
    func oneMinuteCandles() {
        var recorder = MarketDataRecorder()
        var factory = TradeFactory()
        recorder.record(contentsOf: [
            factory.event(price: 100, quantity: 10, seconds: day + 0),
            factory.event(price: 105, quantity: 20, seconds: day + 10),
            factory.event(price: 95, quantity: 5, seconds: day + 30),
            factory.event(price: 98, quantity: 1, seconds: day + 59, nanoseconds: 999_999_999),
            // 1 minute later, a new bucket
            factory.event(price: 99, quantity: 7, seconds: day + 60),
            // 3 minutes later: no candle for the empty minutes between
            factory.event(price: 101, quantity: 3, seconds: day + 185),
        ])

        let minute = Timestamp(nanoseconds: 60_000_000_000)
        let start = Timestamp(nanoseconds: day * 1_000_000_000)
        #expect(
            recorder.candles(aapl, .oneMinute) == [
                Candle(
                    symbol: aapl, interval: .oneMinute, start: start, open: Price(100), high: Price(105),
                    low: Price(95), close: Price(98), volume: Quantity(36), tradeCount: 4),
                Candle(
                    symbol: aapl, interval: .oneMinute, start: Timestamp(nanoseconds: start.rawValue + minute.rawValue),
                    open: Price(99), high: Price(99), low: Price(99), close: Price(99), volume: Quantity(7),
                    tradeCount: 1),
                Candle(
                    symbol: aapl, interval: .oneMinute,
                    start: Timestamp(nanoseconds: start.rawValue + 3 * minute.rawValue), open: Price(101),
                    high: Price(101), low: Price(101), close: Price(101), volume: Quantity(3), tradeCount: 1),
            ])

        // The same trades fall in one 5-minute, one hour and one day bucket.
        for interval in [CandleInterval.fiveMinutes, .oneHour, .oneDay] {
            #expect(
                recorder.candles(aapl, interval) == [
                    Candle(
                        symbol: aapl, interval: interval, start: start, open: Price(100), high: Price(105),
                        low: Price(95), close: Price(101), volume: Quantity(46), tradeCount: 6)
                ])
        }
    }

    @Test("bucket start is the timestamp floored to the interval", arguments: CandleInterval.allCases)
    func bucketStart(interval: CandleInterval) {
        let length = interval.rawValue * 1_000_000_000
        #expect(interval.nanoseconds == length)
        #expect(interval.bucketStart(Timestamp(nanoseconds: 0)) == Timestamp(nanoseconds: 0))
        #expect(interval.bucketStart(Timestamp(nanoseconds: length - 1)) == Timestamp(nanoseconds: 0))
        #expect(interval.bucketStart(Timestamp(nanoseconds: length)) == Timestamp(nanoseconds: length))
        #expect(interval.bucketStart(Timestamp(nanoseconds: 5 * length + 17)) == Timestamp(nanoseconds: 5 * length))
        // Before the epoch it floors, not truncates.
        #expect(interval.bucketStart(Timestamp(nanoseconds: -1)) == Timestamp(nanoseconds: -length))
        #expect(interval.bucketStart(Timestamp(nanoseconds: -length)) == Timestamp(nanoseconds: -length))
    }

    @Test("interval boundaries: 5 minutes, 1 hour and 1 day")
    func longerIntervals() {
        var recorder = MarketDataRecorder()
        var factory = TradeFactory()
        recorder.record(contentsOf: [
            factory.event(price: 200, quantity: 1, seconds: day + 299),  // 00:04:59
            factory.event(price: 210, quantity: 2, seconds: day + 300),  // 00:05:00
            factory.event(price: 190, quantity: 3, seconds: day + 3_599),  // 00:59:59
            factory.event(price: 220, quantity: 4, seconds: day + 3_600),  // 01:00:00
            factory.event(price: 180, quantity: 5, seconds: day + 86_399),  // 23:59:59
            factory.event(price: 230, quantity: 6, seconds: day + 86_400),  // next day 00:00:00
        ])
        func summary(_ interval: CandleInterval) -> [[Int64]] {
            recorder.candles(aapl, interval).map {
                [
                    $0.start.rawValue / 1_000_000_000 - day, $0.open.rawValue, $0.high.rawValue, $0.low.rawValue,
                    $0.close.rawValue, $0.volume.rawValue, Int64($0.tradeCount),
                ]
            }
        }
        #expect(
            summary(.fiveMinutes) == [
                [0, 200, 200, 200, 200, 1, 1],
                [300, 210, 210, 210, 210, 2, 1],
                [3_300, 190, 190, 190, 190, 3, 1],
                [3_600, 220, 220, 220, 220, 4, 1],
                [86_100, 180, 180, 180, 180, 5, 1],
                [86_400, 230, 230, 230, 230, 6, 1],
            ])
        #expect(
            summary(.oneHour) == [
                [0, 200, 210, 190, 190, 6, 3],
                [3_600, 220, 220, 220, 220, 4, 1],
                [82_800, 180, 180, 180, 180, 5, 1],
                [86_400, 230, 230, 230, 230, 6, 1],
            ])
        #expect(
            summary(.oneDay) == [
                [0, 200, 220, 180, 180, 15, 5],
                [86_400, 230, 230, 230, 230, 6, 1],
            ])
    }

    @Test("only the last M candles per interval are kept, oldest first")
    func candleLimit() throws {
        var recorder = try MarketDataRecorder(configuration: .init(candlesPerInterval: 3))
        var factory = TradeFactory()
        for minute in 0..<10 {
            recorder.record(factory.event(price: Int64(100 + minute), quantity: 1, seconds: day + Int64(minute) * 60))
        }
        let minutes = recorder.candles(aapl, .oneMinute)
        #expect(minutes.map(\.open.rawValue) == [107, 108, 109])
        #expect(minutes.map { ($0.start.rawValue / 1_000_000_000 - day) / 60 } == [7, 8, 9])
        // The same ten trades make two 5-minute candles (minutes 0-4 and 5-9) and one daily candle.
        #expect(recorder.candles(aapl, .fiveMinutes).map(\.volume.rawValue) == [5, 5])
        #expect(recorder.candles(aapl, .oneDay).map(\.tradeCount) == [10])
    }

    @Test("symbols are kept apart")
    func perSymbol() {
        var recorder = MarketDataRecorder()
        var factory = TradeFactory()
        let apple = factory.trade(aapl, price: 100, quantity: 1, seconds: day)
        let microsoft = factory.trade(msft, price: 300, quantity: 2, seconds: day + 1)
        let apple2 = factory.trade(aapl, price: 101, quantity: 3, seconds: day + 2)
        recorder.record(contentsOf: [Event.trade(apple), .trade(microsoft), .trade(apple2)])

        #expect(recorder.tape(aapl) == [apple, apple2])
        #expect(recorder.tape(msft) == [microsoft])
        #expect(recorder.tape(goog).isEmpty)
        #expect(recorder.candles(aapl, .oneMinute).map(\.volume.rawValue) == [4])
        #expect(recorder.candles(msft, .oneMinute).map(\.close.rawValue) == [300])
        #expect(recorder.candles(msft, .oneMinute).first?.symbol == msft)
        #expect(recorder.tradedSymbols == [aapl, msft])
    }

    @Test("a trade stamped before the previous one is bucketed at the previous time")
    func timeNeverGoesBackwards() {
        var recorder = MarketDataRecorder()
        var factory = TradeFactory()
        let late = factory.trade(price: 100, quantity: 1, seconds: day + 61)
        let early = factory.trade(price: 90, quantity: 2, seconds: day + 10)
        recorder.record(contentsOf: [Event.trade(late), .trade(early)])

        // The tape keeps both as they were, in arrival order.
        #expect(recorder.tape(aapl) == [late, early])
        // Both count in the minute of the later trade; no candle appears for the earlier minute.
        let minutes = recorder.candles(aapl, .oneMinute)
        #expect(minutes.count == 1)
        #expect(minutes.first?.start == Timestamp(nanoseconds: (day + 60) * 1_000_000_000))
        #expect(minutes.first?.close == Price(90))
        #expect(minutes.first?.volume == Quantity(3))
    }

    @Test("auction trades (no aggressor) count like any other")
    func auctionTrades() {
        var recorder = MarketDataRecorder()
        var factory = TradeFactory()
        let auction = factory.trade(price: 150, quantity: 40, seconds: day, aggressor: nil)
        recorder.record(.trade(auction))
        #expect(recorder.tape(aapl) == [auction])
        #expect(recorder.candles(aapl, .oneMinute).first?.volume == Quantity(40))
    }

    @Test("volume saturates instead of overflowing")
    func volumeSaturates() {
        var recorder = MarketDataRecorder()
        var factory = TradeFactory()
        recorder.record(factory.event(price: 1, quantity: Int64.max - 5, seconds: day))
        recorder.record(factory.event(price: 1, quantity: 10, seconds: day + 1))
        #expect(recorder.candles(aapl, .oneMinute).first?.volume == Quantity(Int64.max))
        #expect(recorder.candles(aapl, .oneMinute).first?.tradeCount == 2)
    }

    @Test("candle interval lengths and names")
    func intervals() {
        #expect(CandleInterval.allCases.map(\.rawValue) == [60, 300, 3_600, 86_400])
        #expect(CandleInterval.allCases.map(\.description) == ["1m", "5m", "1h", "1d"])
    }
}

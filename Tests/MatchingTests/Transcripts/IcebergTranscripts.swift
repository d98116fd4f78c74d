import ExchangeCore
import Matching
import Testing

/// §4 step 3 and §4.1: iceberg orders show a peak, refill to the back of their level, L2 shows visible only.
@Suite("Iceberg transcripts")
struct IcebergTranscripts {
    @Test func anIcebergRestsShowingOnlyItsPeak() throws {
        var t = try EngineTranscript()
        let s1 = t.limit(1, .sell, 300, at: 101, display: 100)
        #expect(t.send(s1) == [t.accepted(s1), t.delta(.sell, 101, 100)])
        #expect(t.engine.bestAsk(TX.acme) == TX.level(101, 100, orders: 1))
        #expect(
            t.engine.depth(TX.acme, levels: 5)
                == BookDepth(symbol: TX.acme, bids: [], asks: [TX.level(101, 100, orders: 1)]))
        #expect(t.asks() == [t.resting(1, leaves: 300, visible: 100)])
        let status = try #require(t.engine.order(OrderID(1)))
        #expect(status.leavesQuantity == Quantity(300))
        #expect(status.visibleQuantity == Quantity(100))
        #expect(status.displayQuantity == Quantity(100))
    }

    @Test func anExhaustedPeakRefillsAtTheBackOfItsLevel() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .sell, 300, at: 101, display: 100))
        let s2 = t.limit(2, .sell, 100, at: 101)
        #expect(t.send(s2) == [t.accepted(s2), t.delta(.sell, 101, 200)])

        let b3 = t.limit(3, .buy, 100, at: 101)
        #expect(
            t.send(b3) == [
                t.accepted(b3),
                t.trade(0, price: 101, quantity: 100, aggressor: .buy, buy: 3, sell: 1, buyLeaves: 0, sellLeaves: 200),
                t.delta(.sell, 101, 200),
            ])
        #expect(t.asks() == [t.resting(2, leaves: 100), t.resting(1, leaves: 200, visible: 100)])

        let b4 = t.limit(4, .buy, 150, at: 101)
        #expect(
            t.send(b4) == [
                t.accepted(b4),
                t.trade(0, price: 101, quantity: 100, aggressor: .buy, buy: 4, sell: 2, buyLeaves: 50, sellLeaves: 0),
                t.delta(.sell, 101, 100),
                t.trade(1, price: 101, quantity: 50, aggressor: .buy, buy: 4, sell: 1, buyLeaves: 0, sellLeaves: 150),
                t.delta(.sell, 101, 50),
            ])
        #expect(t.asks() == [t.resting(1, leaves: 150, visible: 50)])
        #expect(t.engine.depth(TX.acme, levels: 1)?.asks == [TX.level(101, 50, orders: 1)])
    }

    @Test func anAggressorTradesOnePeakAtATimeAndTheLastRefillIsWhatIsLeft() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .sell, 250, at: 101, display: 100))
        let b2 = t.limit(2, .buy, 220, at: 101)
        #expect(
            t.send(b2) == [
                t.accepted(b2),
                t.trade(
                    0, price: 101, quantity: 100, aggressor: .buy, buy: 2, sell: 1, buyLeaves: 120, sellLeaves: 150),
                t.delta(.sell, 101, 100),
                t.trade(1, price: 101, quantity: 100, aggressor: .buy, buy: 2, sell: 1, buyLeaves: 20, sellLeaves: 50),
                t.delta(.sell, 101, 50),
                t.trade(2, price: 101, quantity: 20, aggressor: .buy, buy: 2, sell: 1, buyLeaves: 0, sellLeaves: 30),
                t.delta(.sell, 101, 30),
            ])
        #expect(t.asks() == [t.resting(1, leaves: 30, visible: 30)])
    }

    @Test func anIcebergAggressorTradesItsFullQuantityThenRestsAPeak() throws {
        var t = try EngineTranscript()
        t.send(t.limit(2, .sell, 100, at: 101))
        let b1 = t.limit(1, .buy, 300, at: 101, display: 50)
        #expect(
            t.send(b1) == [
                t.accepted(b1),
                t.trade(0, price: 101, quantity: 100, aggressor: .buy, buy: 1, sell: 2, buyLeaves: 200, sellLeaves: 0),
                t.delta(.sell, 101, 0),
                t.delta(.buy, 101, 50),
            ])
        #expect(t.bids() == [t.resting(1, leaves: 200, visible: 50)])
    }

    @Test func anIcebergAggressorWhoseRemainderIsBelowItsPeakShowsItAll() throws {
        var t = try EngineTranscript()
        t.send(t.limit(2, .sell, 280, at: 101))
        let b1 = t.limit(1, .buy, 300, at: 101, display: 50)
        #expect(
            t.send(b1) == [
                t.accepted(b1),
                t.trade(0, price: 101, quantity: 280, aggressor: .buy, buy: 1, sell: 2, buyLeaves: 20, sellLeaves: 0),
                t.delta(.sell, 101, 0),
                t.delta(.buy, 101, 20),
            ])
        #expect(t.bids() == [t.resting(1, leaves: 20, visible: 20)])
    }

    @Test func levelsShowTheSumOfVisiblePeaks() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .buy, 500, at: 99, display: 100))
        t.send(t.limit(2, .buy, 70, at: 99))
        let b3 = t.limit(3, .buy, 1_000, at: 99, tif: .day, display: 30)
        #expect(t.send(b3) == [t.accepted(b3), t.delta(.buy, 99, 200)])
        #expect(t.engine.bestBid(TX.acme) == TX.level(99, 200, orders: 3))
        #expect(
            t.bids() == [
                t.resting(1, leaves: 500, visible: 100), t.resting(2, leaves: 70),
                t.resting(3, leaves: 1_000, visible: 30),
            ])
        #expect(t.send(.endOfSession) == [t.expired(3, leaves: 1_000), t.delta(.buy, 99, 170)])
    }

    @Test func cancellingAnIcebergRemovesHiddenQuantityToo() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .sell, 300, at: 101, display: 100))
        t.send(t.limit(2, .sell, 40, at: 101))
        #expect(t.send(t.cancel(1)) == [t.cancelled(1, 300, leaves: 0, .requested), t.delta(.sell, 101, 40)])
    }

    @Test func cancelOldestCancelsAnIcebergsHiddenQuantityToo() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .sell, 100, at: 101, display: 20, account: 11))
        t.send(t.limit(2, .sell, 10, at: 101))
        let b3 = t.limit(3, .buy, 10, at: 101, stp: .cancelOldest)
        #expect(
            t.send(b3) == [
                t.accepted(b3),
                t.cancelled(1, 100, leaves: 0, .selfTradePrevention),
                t.delta(.sell, 101, 10),
                t.trade(0, price: 101, quantity: 10, aggressor: .buy, buy: 3, sell: 2, buyLeaves: 0, sellLeaves: 0),
                t.delta(.sell, 101, 0),
            ])
    }

    @Test func aTriggeredIcebergStopLimitRestsShowingItsPeak() throws {
        var t = try EngineTranscript()
        t.tradeOnce(at: 100)
        let st1 = t.stopLimit(1, .buy, 90, at: 101, stop: 101, display: 30)
        #expect(t.send(st1) == [t.accepted(st1)])
        t.send(t.limit(2, .sell, 5, at: 101))
        let b3 = t.limit(3, .buy, 5, at: 101)
        #expect(
            t.send(b3) == [
                t.accepted(b3),
                t.trade(0, price: 101, quantity: 5, aggressor: .buy, buy: 3, sell: 2, buyLeaves: 0, sellLeaves: 0),
                t.delta(.sell, 101, 0),
                t.triggered(1, stop: 101, last: 101),
                t.delta(.buy, 101, 30),
            ])
        #expect(t.bids() == [t.resting(1, leaves: 90, visible: 30)])
    }
}
